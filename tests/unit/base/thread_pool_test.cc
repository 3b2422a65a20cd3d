#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>

namespace minga {
namespace {

TEST(ThreadPool, RunsEveryAcceptedJob) {
  std::atomic<int> n{0};
  {
    ThreadPool pool(3, 1000);
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(pool.try_submit([&n] { n++; }));
  }  // destructor drains
  EXPECT_EQ(n.load(), 500);
}

TEST(ThreadPool, FullQueueIsRefusedNotGrown) {
  ThreadPool pool(1, 2);
  std::latch release(1);
  std::latch started(1);
  ASSERT_TRUE(pool.try_submit([&] {
    started.count_down();
    release.wait();
  }));
  started.wait();
  EXPECT_TRUE(pool.try_submit([] {}));
  EXPECT_TRUE(pool.try_submit([] {}));
  EXPECT_FALSE(pool.try_submit([] {}));  // two queued: full
  EXPECT_EQ(pool.counters().queued, 2u);
  EXPECT_EQ(pool.counters().rejected, 1u);
  release.count_down();
  pool.shutdown();
  EXPECT_EQ(pool.counters().done, 3u);
  EXPECT_FALSE(pool.try_submit([] {}));  // stopped
}

}  // namespace
}  // namespace minga
