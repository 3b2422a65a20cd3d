// The lottery's state: bets per agency, which agencies finished, the draw.
//
// Pure and deterministic: it changes only by apply(command), in log order, so
// replaying the command log (or, in a cluster, the replicated log) on any
// node gives the same state and the same draw.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/result.h"
#include "proto/lottery.pb.h"

namespace minga::lottery {

struct Applied {
  enum class Kind {
    stored,      // the bets are stored
    duplicate,   // this (agency, sequence) had been stored before: nothing changed
    refused,     // not stored: see reason
    finished,    // the agency is marked finished (or already was)
  };
  Kind kind = Kind::refused;
  std::string reason;
  std::uint32_t stored = 0;
  bool drew = false;  // this command completed the draw
};

class LotteryState {
 public:
  // A quick check before logging a command: refuses what apply() would
  // refuse given the state now, and spots batches stored already.
  Applied precheck(const pb::LotteryCommand& command) const;
  Applied apply(const pb::LotteryCommand& command);

  bool draw_done() const { return draw_done_; }
  std::uint32_t winning_number() const { return winning_number_; }
  // Documents of the agency's winning bets, in the order they were stored;
  // Errc::not_yet before the draw.
  Result<std::vector<std::string>> winners(std::uint32_t agency) const;
  std::uint64_t total_bets() const { return total_bets_; }
  std::size_t finished_agencies() const;
  // expected/winning number to report while the draw is pending.
  pb::LotteryStatusResponse status(std::uint32_t expected_agencies, std::uint32_t configured_number) const;

 private:
  struct StoredBet {
    std::uint16_t number;
    std::string document;
  };
  struct Agency {
    std::uint64_t bets = 0;
    std::unordered_set<std::uint64_t> sequences;
    bool finished = false;
    std::vector<StoredBet> stored;      // until the draw
    std::vector<std::string> winners;   // after the draw
  };
  void draw(std::uint32_t winning_number);

  std::map<std::uint32_t, Agency> agencies_;
  std::uint64_t total_bets_ = 0;
  bool draw_done_ = false;
  std::uint32_t winning_number_ = 0;
  std::uint32_t draw_expected_ = 0;
};

}  // namespace minga::lottery
