// Cutting an agency's bets into batches that fit the wire limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "proto/lottery.pb.h"

namespace minga::lottery {

// No batch frame (header included) exceeds this many bytes on the wire.
constexpr std::size_t kMaxBatchFrameBytes = 8 * 1024;
// Bets of ordinary length are 50-80 bytes encoded: 100 fit in 8 kB with room.
constexpr std::size_t kDefaultBatchMaxAmount = 100;

struct BatchRange {
  std::size_t begin = 0;  // index of the first bet
  std::size_t end = 0;    // one past the last
  std::size_t size() const { return end - begin; }
};

struct BatchPlan {
  std::vector<BatchRange> batches;
  // True when some batch holds fewer than `max_amount` bets (and is not the
  // last) because `max_amount` bets would not fit the frame limit.
  bool cut_by_size = false;
  std::size_t smallest_cut = 0;  // the smallest such batch, when cut_by_size
};

// Batches of `max_amount` bets (the last may hold fewer), each cut shorter
// when needed so that its BET_BATCH_REQUEST frame, with any sequence number,
// stays within `max_frame_bytes`. A bet that alone exceeds the limit still
// goes alone (validation keeps bets far below it).
BatchPlan plan_batches(const std::vector<pb::Bet>& bets, std::uint32_t agency, std::size_t max_amount,
                       std::size_t max_frame_bytes = kMaxBatchFrameBytes);

// The exact frame size (header included) of a batch request.
std::size_t batch_frame_bytes(const pb::BetBatchRequest& request);

}  // namespace minga::lottery
