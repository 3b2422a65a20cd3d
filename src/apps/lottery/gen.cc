#include "apps/lottery/gen.h"

#include <cstdio>
#include <string>

#include "base/random.h"

namespace minga::lottery {
namespace {

constexpr const char* kFirst[] = {"María", "José",    "Lucía",  "Martín",  "Sofía", "Tomás", "Inés",   "Joaquín",
                                  "Ana",   "Agustín", "Camila", "Nicolás", "Zoë",   "Ángel", "Begoña", "Iñaki"};
constexpr const char* kLast[] = {"González", "Rodríguez", "Pérez", "Fernández", "López",  "Martínez",
                                 "Gómez",    "Díaz",      "Núñez", "Peña",      "Ibáñez", "Muñoz",
                                 "Sosa",     "Acuña",     "Ruiz",  "Gutiérrez"};

}  // namespace

std::vector<std::vector<pb::Bet>> generate_bets(const GenOptions& o) {
  Random rng(o.seed);
  std::vector<std::vector<pb::Bet>> out(o.agencies);
  // A few documents shared by every agency, so winners repeat across them.
  std::vector<std::string> shared;
  for (int i = 0; i < 50; ++i) shared.push_back(std::to_string(rng.uniform(10000000, 45000000)));
  for (std::uint32_t a = 0; a < o.agencies; ++a) {
    const std::uint64_t count = o.total_bets / o.agencies + (a < o.total_bets % o.agencies ? 1 : 0);
    out[a].reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) {
      pb::Bet bet;
      bet.set_first_name(kFirst[rng.uniform(0, std::size(kFirst) - 1)]);
      bet.set_last_name(kLast[rng.uniform(0, std::size(kLast) - 1)]);
      bet.set_document(rng.chance(1, 20) ? shared[rng.uniform(0, shared.size() - 1)]
                                         : std::to_string(rng.uniform(1000000, 99999999)));
      char date[16];
      std::snprintf(date, sizeof date, "%04d-%02d-%02d", static_cast<int>(rng.uniform(1940, 2006)),
                    static_cast<int>(rng.uniform(1, 12)), static_cast<int>(rng.uniform(1, 28)));
      bet.set_birth_date(date);
      std::uint32_t number = static_cast<std::uint32_t>(rng.uniform(0, 9999));
      if (o.winner_every > 0 && rng.chance(1, o.winner_every)) number = o.winning_number;
      bet.set_number(number);
      out[a].push_back(std::move(bet));
    }
  }
  return out;
}

std::vector<std::string> winners_of(const std::vector<pb::Bet>& bets, std::uint32_t winning_number) {
  std::vector<std::string> docs;
  for (const auto& b : bets) {
    if (b.number() == winning_number) docs.push_back(b.document());
  }
  return docs;
}

}  // namespace minga::lottery
