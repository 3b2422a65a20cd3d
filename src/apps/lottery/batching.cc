#include "apps/lottery/batching.h"

#include <algorithm>

#include "wire/frame.h"

namespace minga::lottery {
namespace {

std::size_t varint_bytes(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

}  // namespace

std::size_t batch_frame_bytes(const pb::BetBatchRequest& request) {
  return wire::kHeaderBytes + request.ByteSizeLong();
}

BatchPlan plan_batches(const std::vector<pb::Bet>& bets, std::uint32_t agency, std::size_t max_amount,
                       std::size_t max_frame_bytes) {
  BatchPlan plan;
  max_amount = std::max<std::size_t>(max_amount, 1);
  // Fixed part: header, agency field, and a sequence field at its widest.
  const std::size_t fixed =
      wire::kHeaderBytes + (agency != 0 ? 1 + varint_bytes(agency) : 0) + 1 + varint_bytes(UINT64_MAX);
  std::size_t i = 0;
  while (i < bets.size()) {
    BatchRange r{i, i};
    std::size_t bytes = fixed;
    while (r.end < bets.size() && r.size() < max_amount) {
      const std::size_t len = bets[r.end].ByteSizeLong();
      const std::size_t field = 1 + varint_bytes(len) + len;
      if (r.size() > 0 && bytes + field > max_frame_bytes) break;
      bytes += field;
      ++r.end;
    }
    if (r.size() < max_amount && r.end < bets.size()) {
      if (!plan.cut_by_size || r.size() < plan.smallest_cut) plan.smallest_cut = r.size();
      plan.cut_by_size = true;
    }
    plan.batches.push_back(r);
    i = r.end;
  }
  return plan;
}

}  // namespace minga::lottery
