// Test and benchmark data: agencies' bets from a seed, reproducibly.
#pragma once

#include <cstdint>
#include <vector>

#include "proto/lottery.pb.h"

namespace minga::lottery {

struct GenOptions {
  std::uint32_t agencies = 5;
  std::uint64_t total_bets = 78697;
  std::uint64_t seed = 1;
  std::uint32_t winning_number = 7574;
  // About one bet in `winner_every` gets the winning number.
  std::uint32_t winner_every = 500;
};

// One vector of valid bets per agency (index 0 is agency 1); the total is
// split as evenly as possible. Names carry accents; some documents appear in
// several agencies.
std::vector<std::vector<pb::Bet>> generate_bets(const GenOptions& options);

// Documents of `bets` whose number is `winning_number`, in order.
std::vector<std::string> winners_of(const std::vector<pb::Bet>& bets, std::uint32_t winning_number);

}  // namespace minga::lottery
