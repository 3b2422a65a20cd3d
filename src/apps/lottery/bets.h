// Bets: validation and the agency's CSV file. Pure: no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "proto/lottery.pb.h"

namespace minga::lottery {

constexpr std::uint32_t kMaxNumber = 9999;
constexpr std::size_t kMaxDocumentDigits = 10;
constexpr std::size_t kMaxNameBytes = 200;

// The reason a bet is invalid ("document must be 1-10 digits, got '12a'"),
// or ok.
Status validate_bet(const pb::Bet& bet);

// True for a real calendar date written YYYY-MM-DD (years 1000-9999).
bool valid_date(std::string_view text);

struct CsvError {
  std::size_t line = 0;  // 1-based
  std::string reason;
};

struct CsvBets {
  std::vector<pb::Bet> bets;
  std::vector<std::size_t> lines;  // the line number of each bet
  std::vector<CsvError> errors;
};

// Rows `first,last,document,birthdate,number`, no header, UTF-8, LF or CRLF
// endings; blank lines are skipped. Every row is validated; bad rows are
// listed with their line numbers and left out of `bets`.
CsvBets parse_bets_csv(std::string_view text);

// One bet as a CSV row (without line ending).
std::string to_csv_row(const pb::Bet& bet);

}  // namespace minga::lottery
