#include "apps/lottery/batching.h"

#include <gtest/gtest.h>

#include "apps/lottery/gen.h"
#include "wire/frame.h"

namespace minga::lottery {
namespace {

std::vector<pb::Bet> bets_with_names(std::size_t n, std::size_t name_bytes) {
  std::vector<pb::Bet> bets;
  for (std::size_t i = 0; i < n; ++i) {
    pb::Bet b;
    b.set_first_name(std::string(name_bytes, 'a'));
    b.set_last_name(std::string(name_bytes, 'b'));
    b.set_document(std::to_string(10000000 + i));
    b.set_birth_date("1980-05-05");
    b.set_number(static_cast<std::uint32_t>(i % 10000));
    bets.push_back(b);
  }
  return bets;
}

std::size_t frame_bytes(const std::vector<pb::Bet>& bets, BatchRange r, std::uint64_t sequence) {
  pb::BetBatchRequest req;
  req.set_agency(3);
  req.set_sequence(sequence);
  for (std::size_t i = r.begin; i < r.end; ++i) *req.add_bets() = bets[i];
  return batch_frame_bytes(req);
}

TEST(LotteryBatching, OrdinaryBetsFillBatchesOfMaxAmount) {
  const auto data = generate_bets(GenOptions{1, 1050, 3, 7574, 500});
  const BatchPlan plan = plan_batches(data[0], 3, 100);
  ASSERT_EQ(plan.batches.size(), 11u);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(plan.batches[i].size(), 100u);
  EXPECT_EQ(plan.batches[10].size(), 50u);
  EXPECT_FALSE(plan.cut_by_size);
  for (std::size_t i = 0; i < plan.batches.size(); ++i) {
    EXPECT_LE(frame_bytes(data[0], plan.batches[i], UINT64_MAX), kMaxBatchFrameBytes);
  }
}

TEST(LotteryBatching, LongNamesCutBatchesAtTheLargestCountThatFits) {
  const auto bets = bets_with_names(1000, 150);  // ~330 bytes per bet
  const BatchPlan plan = plan_batches(bets, 3, 100);
  EXPECT_TRUE(plan.cut_by_size);
  std::size_t covered = 0;
  for (std::size_t i = 0; i < plan.batches.size(); ++i) {
    const BatchRange r = plan.batches[i];
    EXPECT_EQ(r.begin, covered);
    covered = r.end;
    // Fits, even with the widest sequence number...
    EXPECT_LE(frame_bytes(bets, r, UINT64_MAX), kMaxBatchFrameBytes) << i;
    // ...and one more bet would not have.
    if (r.end < bets.size()) {
      EXPECT_GT(frame_bytes(bets, BatchRange{r.begin, r.end + 1}, UINT64_MAX), kMaxBatchFrameBytes) << i;
    }
  }
  EXPECT_EQ(covered, bets.size());
  EXPECT_LT(plan.smallest_cut, 100u);
  EXPECT_GT(plan.smallest_cut, 20u);
}

TEST(LotteryBatching, EmptyInputHasNoBatches) { EXPECT_TRUE(plan_batches({}, 1, 100).batches.empty()); }

}  // namespace
}  // namespace minga::lottery
