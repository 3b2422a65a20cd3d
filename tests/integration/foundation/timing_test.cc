// Wall-clock behaviour of a real node: concurrency of waiting tasks and the
// bounds that answer BUSY at once. ctest runs these alone (RUN_SERIAL) so a
// loaded machine does not skew them.
#include <gtest/gtest.h>

#include <regex>

#include "harness.h"
#include "proto/minga.pb.h"
#include "wire/frame.h"

namespace minga::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct Answer {
  std::uint64_t id = 0;
  pb::ErrorCode error = pb::ERROR_CODE_UNSPECIFIED;  // unspecified when the task answered
  std::string text;
  Clock::duration after{};
};

Answer read_answer(RawConnection& c, Clock::time_point t0) {
  Answer a;
  std::string header = c.read(wire::kHeaderBytes, 10s);
  EXPECT_EQ(header.size(), wire::kHeaderBytes);
  if (header.size() != wire::kHeaderBytes) return a;
  auto d = wire::decode(header, 1 << 24);
  std::string body = c.read(d.wanted - wire::kHeaderBytes, 10s);
  a.id = d.header.request_id;
  a.after = Clock::now() - t0;
  if (d.header.type == pb::TASK_RESPONSE) {
    pb::TaskResponse r;
    EXPECT_TRUE(r.ParseFromString(body));
    a.text = r.text();
  } else {
    pb::ErrorResponse e;
    EXPECT_TRUE(e.ParseFromString(body));
    a.error = e.code();
    a.text = e.message();
  }
  return a;
}

std::string sleeps(int count, double seconds) {
  pb::TaskRequest req;
  req.set_kind("sleep");
  req.set_seconds(seconds);
  std::string batch;
  for (int id = 1; id <= count; ++id) wire::encode(batch, pb::TASK_REQUEST, id, req.SerializeAsString());
  return batch;
}

TEST(Timing, TenSleepsOfThreeSecondsFinishTogether) {
  auto node = NodeProcess::start();
  std::vector<Process> clients;
  const auto t0 = Clock::now();
  for (int i = 0; i < 10; ++i)
    clients.push_back(Process::spawn({minga_binary(), "--server", node.address(), "sleep", "3"}));
  for (auto& c : clients) {
    ASSERT_EQ(c.wait(10s), 0) << c.err();
    EXPECT_EQ(c.out(), "slept 3 s\n");
  }
  const auto wall = Clock::now() - t0;
  EXPECT_LT(wall, 4500ms) << "took " << std::chrono::duration_cast<std::chrono::milliseconds>(wall).count() << " ms";
  EXPECT_GE(wall, 3000ms);
}

TEST(Timing, SleepsOverTheWaitingCapAreBusyAtOnce) {
  auto node = NodeProcess::start({"--max-waiting-tasks", "4", "--queue-capacity", "4"});
  RawConnection c(node.port());
  const auto t0 = Clock::now();
  ASSERT_TRUE(c.send(sleeps(10, 1)));
  int busy = 0, slept = 0;
  for (int i = 0; i < 10; ++i) {
    const Answer a = read_answer(c, t0);
    if (a.error == pb::BUSY) {
      ++busy;
      EXPECT_EQ(a.text, "too many waiting tasks; retry later");
      EXPECT_LT(a.after, 500ms) << "BUSY must come at once, not after the wait";
    } else {
      ++slept;
      EXPECT_EQ(a.text, "slept 1 s");
      EXPECT_GE(a.after, 1s);
    }
  }
  EXPECT_EQ(busy, 6);
  EXPECT_EQ(slept, 4);
}

TEST(Timing, WaitingSleepsDoNotMakeCpuTasksBusy) {
  auto node = NodeProcess::start({"--max-waiting-tasks", "8", "--queue-capacity", "2", "--threads", "1"});
  RawConnection c(node.port());
  ASSERT_TRUE(c.send(sleeps(8, 1.5)));
  std::string status;
  EXPECT_TRUE(eventually(
      [&] {
        status = http_get(node.monitor_port(), "/status").second;
        return status.find("\"tasks\":{\"queued\":0,\"waiting\":8,") != std::string::npos;
      },
      1s))
      << status;  // all eight wait, none queued
  for (int i = 0; i < 3; ++i) {
    auto r = run_minga({"--server", node.address(), "text", "uppercase", "libre"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "LIBRE\n");
  }
  const auto t0 = Clock::now();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(read_answer(c, t0).text, "slept 1.5 s");
}

TEST(Timing, SleepLatencyIsMeasuredFromAcceptance) {
  auto node = NodeProcess::start();
  ASSERT_EQ(run_minga({"--server", node.address(), "sleep", "0.4"}).exit_code, 0);
  auto [code, metrics] = http_get(node.monitor_port(), "/metrics");
  static const std::regex re(R"(minga_task_duration_seconds_sum\{kind="sleep"\} ([0-9.e-]+))");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(metrics, m, re)) << metrics;
  EXPECT_GE(std::stod(m[1]), 0.4);
  EXPECT_LT(std::stod(m[1]), 1.5);
}

}  // namespace
}  // namespace minga::testing
