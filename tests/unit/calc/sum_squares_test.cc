// sumsq's pure pieces: the argument's rules, gathering parts into an exact
// sum, the job that answers once, and the JSON forms.
#include "apps/calc/sum_squares.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace minga::calc {
namespace {

TEST(SumSquaresN, AcceptsWholeNumbersUpToTenToTheTwelve) {
  EXPECT_EQ(parse_sum_squares_n("9").value(), 9u);
  EXPECT_EQ(parse_sum_squares_n("0").value(), 0u);
  EXPECT_EQ(parse_sum_squares_n("1000000000000").value(), 1'000'000'000'000u);
}

TEST(SumSquaresN, RefusesEverythingElseClearly) {
  for (const char* bad : {"-3", "2.5", "1e3", "", " 9", "+9", "0x10", "abc", "99999999999999999999999"}) {
    auto r = parse_sum_squares_n(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_EQ(r.error().message, std::string("n must be a whole number from 0 to 1000000000000, got '") + bad + "'");
  }
  auto big = parse_sum_squares_n("1000000000001");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().message, "n = 1000000000001 is too large: sumsq is exact for n up to 1000000000000");
  EXPECT_FALSE(check_sum_squares_n(UINT64_MAX).ok());
}

TEST(SumSquaresGather, SumsPartsArrivingInAnyOrderExactly) {
  SumSquaresGather g(split_range(9, 3));
  ASSERT_TRUE(g.set(2, "194", "w3", {}).ok());
  EXPECT_FALSE(g.complete());
  ASSERT_TRUE(g.set(0, "14", "w1", {}).ok());
  ASSERT_TRUE(g.set(1, "77", "w1", {"w2"}).ok());
  ASSERT_TRUE(g.set(1, "999", "w9", {}).ok());  // a second answer for a part is ignored
  ASSERT_TRUE(g.complete());
  EXPECT_EQ(sum_squares_json(g.response()),
            R"({"ok":true,"result":285,"parts":[{"a":1,"b":3,"result":14,"worker":"w1"},)"
            R"({"a":4,"b":6,"result":77,"worker":"w1","reassigned_from":["w2"]},)"
            R"({"a":7,"b":9,"result":194,"worker":"w3"}]})");
}

TEST(SumSquaresGather, KeepsAll128Bits) {
  // The parts of n = 10^12 over three workers (computed independently).
  SumSquaresGather g(split_range(1'000'000'000'000, 3));
  ASSERT_TRUE(g.set(0, "12345679012475308641975734567901235", "a", {}).ok());
  ASSERT_TRUE(g.set(1, "86419753086660493827160475308641975", "b", {}).ok());
  ASSERT_TRUE(g.set(2, "234567901234697530864197290123456790", "c", {}).ok());
  EXPECT_EQ(g.response().result(), "333333333333833333333333500000000000");
}

TEST(SumSquaresGather, AWorkersBadAnswerIsAnErrorNotACrash) {
  SumSquaresGather g(split_range(2, 2));
  EXPECT_EQ(g.set(0, "12a", "w1", {}).error().code, Errc::bad_frame);
  EXPECT_EQ(g.set(0, "", "w1", {}).error().code, Errc::bad_frame);
  EXPECT_EQ(g.set(0, "400000000000000000000000000000000000000", "w1", {}).error().code, Errc::bad_frame);
  ASSERT_TRUE(g.set(0, "340282366920938463463374607431768211455", "w1", {}).ok());  // 2^128 - 1
  auto overflow = g.set(1, "1", "w2", {});
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.error().message, "the parts' results overflow 128 bits");
  EXPECT_FALSE(g.complete());
}

TEST(SumSquaresJob, AnswersOnceWhenTheLastPartArrivesFromAnyThread) {
  std::atomic<int> calls{0};
  std::string result;
  SumSquaresJob job(split_range(300, 30), [&](Result<pb::SumSquaresResponse> r) {
    ++calls;
    ASSERT_TRUE(r.ok());
    result = r->result();
    EXPECT_EQ(r->parts_size(), 30);
  });
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < job.size(); ++i) {
    threads.emplace_back([&job, i] {
      std::uint64_t sum = 0;
      for (std::uint64_t k = job.range(i).lo; k <= job.range(i).hi; ++k) sum += k * k;
      EXPECT_FALSE(job.finish_part(i, SumSquaresJob::Part{std::to_string(sum), "w", {}}));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(result, "9045050");  // 300 * 301 * 601 / 6
}

TEST(SumSquaresJob, FirstFailureAnswersAndLaterPartsAreIgnored) {
  int calls = 0;
  Error seen{Errc::internal, ""};
  SumSquaresJob job(split_range(9, 3), [&](Result<pb::SumSquaresResponse> r) {
    ++calls;
    ASSERT_FALSE(r.ok());
    seen = r.error();
  });
  EXPECT_FALSE(job.finish_part(0, SumSquaresJob::Part{"14", "w1", {}}));
  EXPECT_TRUE(job.finish_part(1, Error{Errc::no_worker, "no worker available"}));
  EXPECT_FALSE(job.finish_part(2, SumSquaresJob::Part{"194", "w3", {}}));
  EXPECT_FALSE(job.finish_part(1, Error{Errc::timeout, "late"}));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen.code, Errc::no_worker);
  EXPECT_EQ(seen.message, "no worker available");
}

// --- splitting

TEST(SplitRange, NineOverThreeIsTheExampleOfTheBrief) {
  EXPECT_EQ(split_range(9, 3), (std::vector<Range>{{1, 3}, {4, 6}, {7, 9}}));
}

TEST(SplitRange, RemainderGoesToTheFirstRanges) {
  EXPECT_EQ(split_range(10, 3), (std::vector<Range>{{1, 4}, {5, 7}, {8, 10}}));
  EXPECT_EQ(split_range(11, 3), (std::vector<Range>{{1, 4}, {5, 8}, {9, 11}}));
}

TEST(SplitRange, FewerNumbersThanWorkersGivesOneRangePerNumber) {
  EXPECT_EQ(split_range(2, 5), (std::vector<Range>{{1, 1}, {2, 2}}));
  EXPECT_EQ(split_range(1, 3), (std::vector<Range>{{1, 1}}));
  EXPECT_EQ(split_range(1, 1), (std::vector<Range>{{1, 1}}));
}

TEST(SplitRange, NothingToSplit) {
  EXPECT_TRUE(split_range(0, 3).empty());
  EXPECT_TRUE(split_range(5, 0).empty());
}

TEST(SplitRange, HugeNCoversEveryNumberOnceWithNearEqualSizes) {
  for (std::uint64_t n : {std::uint64_t{1'000'000'000'000}, std::uint64_t{999'999'999'989}, UINT64_MAX}) {
    for (std::size_t parts : {1u, 2u, 3u, 7u, 64u}) {
      auto r = split_range(n, parts);
      ASSERT_EQ(r.size(), parts);
      EXPECT_EQ(r.front().lo, 1u);
      EXPECT_EQ(r.back().hi, n);
      std::uint64_t min_size = UINT64_MAX, max_size = 0;
      for (std::size_t i = 0; i < r.size(); ++i) {
        ASSERT_LE(r[i].lo, r[i].hi);
        if (i > 0) {
          ASSERT_EQ(r[i].lo, r[i - 1].hi + 1) << "gap or overlap at range " << i;
        }
        min_size = std::min(min_size, r[i].hi - r[i].lo + 1);
        max_size = std::max(max_size, r[i].hi - r[i].lo + 1);
      }
      EXPECT_LE(max_size - min_size, 1u) << "n " << n << " parts " << parts;
    }
  }
}

}  // namespace
}  // namespace minga::calc
