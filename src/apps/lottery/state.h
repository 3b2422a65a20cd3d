// The lottery's state: bets per agency, which agencies finished, the draw.
//
// Pure and deterministic: it changes only by apply(command), in log order, so
// replaying the command log (or, in a cluster, the replicated log) on any
// node gives the same state and the same draw.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
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
    configured,  // a Setup: the lottery's parameters are fixed (or already were)
    new_round,   // a NewRound: the previous round is set aside
    migrated,    // a Migrate part: its commands are applied
  };
  Kind kind = Kind::refused;
  std::string reason;
  std::uint32_t stored = 0;
  bool drew = false;  // this command completed the draw
  // new_round: what the round set aside had.
  std::uint64_t previous_bets = 0;
  bool previous_drawn = false;
};

// What the draw depends on: how many agencies must finish, and the number
// that wins.
struct LotteryParams {
  std::uint32_t expected_agencies = 0;
  std::uint32_t winning_number = 0;
};

class LotteryState {
 public:
  // A quick check before logging a command: refuses what apply() would
  // refuse given the state now, and spots batches stored already.
  Applied precheck(const pb::LotteryCommand& command) const;
  Applied apply(const pb::LotteryCommand& command);

  // The whole state, and back: restore(snapshot()) gives an equal state.
  pb::LotterySnapshot snapshot() const;
  Status restore(const pb::LotterySnapshot& snapshot);

  // How many parts of an old command log were migrated (LotteryCommand.Migrate).
  std::uint32_t migrated_parts() const { return migrated_parts_; }
  // Whether any command other than a Migrate was applied: part 0 of a
  // migration applies only before.
  bool migration_closed() const { return migration_closed_; }

  // Fixed by the log's first Setup command; nullopt until one is applied.
  const std::optional<LotteryParams>& params() const { return params_; }
  bool draw_done() const { return draw_done_; }
  // The number the draw used; 0 before the draw.
  std::uint32_t winning_number() const { return drawn_.winning_number; }
  // Documents of the agency's winning bets, in the agency's order (by batch
  // sequence, then position in the batch), whatever order the batches came in;
  // Errc::not_yet before the draw; Errc::not_found after it for an agency
  // that neither sent bets nor finished in this round.
  Result<std::vector<std::string>> winners(std::uint32_t agency) const;
  // The round, from 1: each applied NewRound starts the next.
  std::uint32_t round() const { return round_; }
  // Agencies with bets that have not said they finished, before the draw.
  std::vector<std::uint32_t> agencies_sending() const;
  std::uint64_t total_bets() const { return total_bets_; }
  std::size_t finished_agencies() const;
  // The draw's parameters once done, else the Setup's, else `configured`.
  LotteryParams effective_params(const LotteryParams& configured) const;
  pb::LotteryStatusResponse status(const LotteryParams& configured) const;

 private:
  struct StoredBet {
    std::uint16_t number;
    std::string document;
    std::uint64_t sequence;  // of its batch
    std::uint32_t position;  // in its batch
  };
  struct Agency {
    std::uint64_t bets = 0;
    // Digest of each stored batch's bets, by sequence: a batch sent again
    // is a duplicate only if its bets are the same.
    std::unordered_map<std::uint64_t, std::uint32_t> digests;
    bool finished = false;
    std::vector<StoredBet> stored;     // until the draw
    std::vector<std::string> winners;  // after the draw
  };
  Applied check_store(const pb::LotteryCommand::StoreBets& store, std::uint32_t digest) const;
  Applied apply_finish(const pb::LotteryCommand::Finish& finish);
  Applied check_new_round(const pb::LotteryCommand::NewRound& new_round) const;
  Applied apply_new_round(const pb::LotteryCommand::NewRound& new_round);
  Applied apply_one(const pb::LotteryCommand& command);
  Applied apply_migrate(const pb::LotteryCommand::Migrate& migrate);
  void draw(std::uint32_t winning_number);

  std::map<std::uint32_t, Agency> agencies_;
  std::optional<LotteryParams> params_;
  std::uint64_t total_bets_ = 0;
  bool draw_done_ = false;
  LotteryParams drawn_;  // the parameters the draw used
  std::uint32_t round_ = 1;
  std::uint32_t migrated_parts_ = 0;
  bool migration_closed_ = false;
};

// Appended to a refusal that means "this node already holds a lottery".
std::string new_round_advice(std::uint32_t round, bool drawn);

// CRC-32C of a batch's bets, every field with its length: two batches differ
// in digest when any bet, field or order differs (up to CRC collisions).
std::uint32_t bets_digest(const pb::LotteryCommand::StoreBets& store);

}  // namespace minga::lottery
