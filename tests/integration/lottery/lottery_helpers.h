// What the lottery's integration tests share: generated data read back,
// agency processes, and counting in logs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "harness.h"

namespace minga::testing {

constexpr int kWinningNumber = 7574;

struct AgencyData {
  std::size_t bets = 0;
  std::vector<std::string> winners;  // documents, in file order
};

// `minga lottery gen-data` into `dir`; fails the test on a non-zero exit.
void gen_data(const std::filesystem::path& dir, int agencies, int bets, int seed);

// Reads agency-{i}.csv back: the test's own account of what was generated,
// with the winners of `winning_number`.
std::map<int, AgencyData> read_generated(const std::filesystem::path& dir, int agencies,
                                         int winning_number = kWinningNumber);

// The winners' documents one per line, as `minga lottery winners` prints them.
std::string winners_text(const AgencyData& data);

std::size_t count(const std::string& text, const std::string& needle);

// Sum of the first capture group of `re` over `log`.
std::uint64_t sum_of(const std::string& log, const std::regex& re);

void expect_no_fail_lines(const std::string& who, const std::string& log);

// `minga --server SERVER lottery agency --agency ID --data-dir DATA EXTRA...`.
Process spawn_agency(const std::string& server, int id, const std::filesystem::path& data,
                     const std::vector<std::string>& extra = {}, const Env& env = {});

// `minga lottery status --output json` against `server`.
std::string status_json(const std::string& server);

}  // namespace minga::testing
