#include "lottery_helpers.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace minga::testing {

void gen_data(const std::filesystem::path& dir, int agencies, int bets, int seed) {
  const RunResult r = run_minga({"lottery", "gen-data", "--agencies", std::to_string(agencies), "--bets",
                                 std::to_string(bets), "--seed", std::to_string(seed), "--out", dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

std::map<int, AgencyData> read_generated(const std::filesystem::path& dir, int agencies, int winning_number) {
  std::map<int, AgencyData> out;
  for (int i = 1; i <= agencies; ++i) {
    std::ifstream in(dir / ("agency-" + std::to_string(i) + ".csv"));
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ++out[i].bets;
      const auto last = line.rfind(',');
      if (std::stoi(line.substr(last + 1)) == winning_number) {
        std::vector<std::string> f;
        std::stringstream ss(line);
        std::string cell;
        while (std::getline(ss, cell, ',')) f.push_back(cell);
        out[i].winners.push_back(f.at(2));
      }
    }
  }
  return out;
}

std::string winners_text(const AgencyData& data) {
  std::string docs;
  for (const auto& d : data.winners) docs += d + "\n";
  return docs;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::uint64_t sum_of(const std::string& log, const std::regex& re) {
  std::uint64_t total = 0;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it) {
    total += std::stoull((*it)[1]);
  }
  return total;
}

void expect_no_fail_lines(const std::string& who, const std::string& log) {
  const auto at = log.find("| result: fail");
  if (at == std::string::npos) return;
  const auto line_start = log.rfind('\n', at);
  const auto begin = line_start == std::string::npos ? 0 : line_start + 1;
  ADD_FAILURE() << who << " logged a failure: " << log.substr(begin, log.find('\n', at) - begin)
                << "\nthe log around it:\n"
                << log.substr(begin < 3000 ? 0 : begin - 3000, 6000);
}

Process spawn_agency(const std::string& server, int id, const std::filesystem::path& data,
                     const std::vector<std::string>& extra, const Env& env) {
  std::vector<std::string> argv{minga_binary(), "--server",         server,       "lottery",    "agency",
                                "--agency",     std::to_string(id), "--data-dir", data.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return Process::spawn(argv, env);
}

std::string status_json(const std::string& server) {
  const RunResult r = run_minga({"--server", server, "lottery", "status", "--output", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

}  // namespace minga::testing
