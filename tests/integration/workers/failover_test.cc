// Workers die, stall and come back while jobs run. Workers started with the
// test-only --test-part-delay take about a second per sumsq part, so a
// signal lands while every part is in flight. In a fresh cluster round robin
// gives part i to worker w<i>.
#include <gtest/gtest.h>

#include <csignal>
#include <regex>
#include <thread>

#include "cluster.h"

namespace minga::testing {
namespace {

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point t) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

// Polls the coordinator's worker table until `n` tasks are in flight.
bool in_flight_reaches(const Cluster& c, unsigned n) {
  return eventually(
      [&] {
        unsigned in_flight = 0;
        const pb::WorkersResponse table = c.workers();
        for (const auto& w : table.workers()) in_flight += w.in_flight();
        return in_flight >= n;
      },
      5s);
}

TEST(Failover, KillNineMidJobReassignsThePartAndStillAnswersRight) {
  auto c = Cluster::start(3, {}, {"--test-part-delay", "1"});
  const auto t0 = Clock::now();
  Process job = c->spawn_minga({"-o", "json", "sumsq", "9"});
  ASSERT_TRUE(in_flight_reaches(*c, 3));  // every part is on its worker now
  const auto killed_at = Clock::now();
  c->worker("w2").process().signal(SIGKILL);
  ASSERT_EQ(job.wait(10s), 0) << job.err();
  const long took = ms_since(t0);
  const long after_kill = ms_since(killed_at);
  auto parts = parse_parts(job.out());
  ASSERT_EQ(parts.size(), 3u) << job.out();
  const std::string moved_to = parts[1].worker;
  EXPECT_TRUE(moved_to == "w1" || moved_to == "w3") << moved_to;
  EXPECT_EQ(job.out(), R"({"ok":true,"result":285,"parts":[{"a":1,"b":3,"result":14,"worker":"w1"},)"
                       R"({"a":4,"b":6,"result":77,"worker":")" +
                           moved_to +
                           R"(","reassigned_from":["w2"]},{"a":7,"b":9,"result":194,"worker":"w3"}]})"
                           "\n");
  // The part restarted after the kill: one part-time after it, not a timeout.
  EXPECT_GE(after_kill, 1000);
  EXPECT_LT(took, 4000);
  EXPECT_EQ(c->state_of("w2"), "dead");
  const std::string log = c->coordinator().process().err();
  EXPECT_NE(log.find("action: worker_state | result: success | worker: w2 | state: dead | reason: connection lost"),
            std::string::npos)
      << log;
  EXPECT_TRUE(std::regex_search(
      log,
      std::regex(R"(action: reassign \| result: in_progress \| task: \d+ \| from: w2 \| reason: connection lost)")))
      << log;
}

TEST(Failover, AllWorkersDeadGivesNoWorkerAvailableAtOnceThenARestartedWorkerTakesWork) {
  auto c = Cluster::start(3, {}, {"--test-part-delay", "1"});
  Process job = c->spawn_minga({"sumsq", "9"});
  ASSERT_TRUE(in_flight_reaches(*c, 3));
  const auto killed_at = Clock::now();
  for (const char* id : {"w1", "w2", "w3"}) c->worker(id).process().signal(SIGKILL);
  // The job in flight fails at once rather than hanging.
  ASSERT_EQ(job.wait(5s), 1) << job.out();
  EXPECT_LT(ms_since(killed_at), 1000);
  EXPECT_EQ(job.err(), "error: no worker available\n");
  // So does new work, within a second.
  const auto asked_at = Clock::now();
  auto calc = c->minga({"calc", "add", "1", "2"});
  EXPECT_LT(ms_since(asked_at), 1000);
  EXPECT_EQ(calc.exit_code, 1);
  EXPECT_EQ(calc.err, "error: no worker available\n");
  auto sumsq = c->minga({"-o", "json", "sumsq", "9"});
  EXPECT_EQ(sumsq.exit_code, 1);
  EXPECT_EQ(sumsq.out, "{\"ok\":false,\"error\":\"no worker available\"}\n");
  EXPECT_EQ(c->minga({"workers"}).out.find("live"), std::string::npos);

  // One comes back (same id, new port): work flows again.
  c->start_worker("w2");
  ASSERT_TRUE(c->wait_live(1));
  EXPECT_EQ(c->minga({"calc", "add", "1", "2"}).out, "3\n");
  auto again = c->minga({"-o", "json", "sumsq", "9"});
  EXPECT_EQ(again.out, R"({"ok":true,"result":285,"parts":[{"a":1,"b":9,"result":285,"worker":"w2"}]})"
                       "\n");
}

TEST(Failover, StoppedWorkerIsDetectedByHeartbeatTimeoutAndItsPartMoves) {
  auto c = Cluster::start(3, {"--heartbeat-interval", "0.2", "--heartbeat-timeout", "1"}, {"--test-part-delay", "1"});
  const auto t0 = Clock::now();
  Process job = c->spawn_minga({"-o", "json", "sumsq", "9"});
  ASSERT_TRUE(in_flight_reaches(*c, 3));
  Process& w2 = c->worker("w2").process();
  const auto stopped_at = Clock::now();
  w2.signal(SIGSTOP);  // alive, connected, silent
  ASSERT_EQ(job.wait(10s), 0) << job.err();
  const long took = ms_since(t0);
  const long after_stop = ms_since(stopped_at);
  auto parts = parse_parts(job.out());
  ASSERT_EQ(parts.size(), 3u) << job.out();
  EXPECT_NE(job.out().find("\"result\":285,"), std::string::npos) << job.out();
  EXPECT_EQ(parts[1].a + "-" + parts[1].b + "=" + parts[1].result, "4-6=77");
  EXPECT_EQ(parts[1].reassigned_from, "\"w2\"");
  EXPECT_NE(parts[1].worker, "w2");
  EXPECT_EQ(parts[0].reassigned_from + parts[2].reassigned_from, "");
  // Detected by the heartbeat timeout (1 s after its last beat, due every
  // 0.2 s but late on a loaded machine), then one more part-time: well over
  // the 1 s that a detection at the stop itself would give.
  EXPECT_GE(after_stop, 1400);
  EXPECT_LT(took, 5000);
  EXPECT_EQ(c->state_of("w2"), "dead");
  EXPECT_NE(c->coordinator().process().err().find(
                "action: worker_state | result: success | worker: w2 | state: dead | reason: heartbeat timeout"),
            std::string::npos);

  // It wakes up: heartbeats make it live again; its late answer is ignored.
  w2.signal(SIGCONT);
  EXPECT_TRUE(c->wait_state("w2", "live", 5s));
  bool duplicate_seen = false;
  for (int i = 0; i < 100 && !duplicate_seen; ++i) {
    auto [code, metrics] = http_get(c->coordinator().monitor_port(), "/metrics");
    duplicate_seen =
        metrics.find("minga_worker_tasks_total{worker=\"w2\",result=\"duplicate\"} 1\n") != std::string::npos;
    if (!duplicate_seen) std::this_thread::sleep_for(30ms);
  }
  EXPECT_TRUE(duplicate_seen);
  auto after = c->minga({"sumsq", "9"});
  EXPECT_EQ(after.out.substr(0, 4), "285\n");
}

TEST(Failover, PartThatMissesItsDeadlineMovesAndTheLateAnswerIsIgnored) {
  // Only w1 is slow; the coordinator gives a part half a second.
  auto c = Cluster::start(0, {"--task-timeout", "0.5"});
  c->start_worker("w1", {"--test-part-delay", "3"});
  c->start_worker("w2");
  c->start_worker("w3");
  ASSERT_TRUE(c->wait_live(3));
  const auto t0 = Clock::now();
  auto r = c->minga({"sumsq", "9"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(ms_since(t0), 2500);
  // The text form names the move.
  EXPECT_TRUE(std::regex_match(
      r.out, std::regex(R"(285\n  1-3 = 14 \((w2|w3), reassigned from w1\)\n  4-6 = 77 \(w2\)\n  7-9 = 194 \(w3\)\n)")))
      << r.out;
  EXPECT_TRUE(std::regex_search(
      c->coordinator().process().err(),
      std::regex(R"(action: reassign \| result: in_progress \| task: \d+ \| from: w1 \| reason: deadline missed)")));
  // w1 is slow, not dead.
  EXPECT_EQ(c->state_of("w1"), "live");
}

TEST(Failover, SigtermedWorkerFinishesItsTaskWhileNewWorkGoesElsewhere) {
  auto c = Cluster::start(2);
  Process job = c->spawn_minga({"sleep", "1"});  // the first task goes to w1
  ASSERT_TRUE(in_flight_reaches(*c, 1));
  c->worker("w1").process().signal(SIGTERM);
  ASSERT_TRUE(c->worker("w1").process().wait_for_output("action: shutdown | result: in_progress", 5s));
  // Every other task reaches w1, which refuses it (SHUTTING_DOWN): it moves to w2.
  for (int i = 0; i < 4; ++i) {
    auto r = c->minga({"-o", "json", "calc", "add", std::to_string(i), "1"});
    EXPECT_EQ(r.out, "{\"ok\":true,\"result\":" + std::to_string(i + 1) + "}\n") << r.err;
  }
  EXPECT_EQ(c->state_of("w1"), "draining");
  ASSERT_EQ(job.wait(5s), 0) << job.err() << "\ncoordinator:\n"
                             << c->coordinator().process().err() << "\nw1:\n"
                             << c->worker("w1").process().err();
  EXPECT_EQ(job.out(), "slept 1 s\n");
  EXPECT_EQ(c->worker("w1").process().wait(10s), 0);
  EXPECT_TRUE(c->wait_state("w1", "dead", 5s));
  const std::string log = c->coordinator().process().err();
  EXPECT_NE(log.find("worker: w1 | state: draining | reason: shutting down"), std::string::npos) << log;
  EXPECT_NE(c->worker("w1").process().err().find(
                "action: shutdown | result: success | resource: coordinator_link | count: 1"),
            std::string::npos);
}

TEST(Failover, SigtermedCoordinatorFinishesWorkInFlightThenClosesItsWorkerLinks) {
  auto c = Cluster::start(2);
  Process job = c->spawn_minga({"sleep", "1"});
  ASSERT_TRUE(in_flight_reaches(*c, 1));
  c->coordinator().process().signal(SIGTERM);
  ASSERT_EQ(job.wait(5s), 0) << job.err();
  EXPECT_EQ(job.out(), "slept 1 s\n");
  ASSERT_EQ(c->coordinator().process().wait(10s), 0) << c->coordinator().process().err();
  EXPECT_NE(
      c->coordinator().process().err().find("action: shutdown | result: success | resource: worker_links | count: 2"),
      std::string::npos)
      << c->coordinator().process().err();
  // The workers notice and keep trying to reach it.
  EXPECT_TRUE(
      c->worker("w1").process().wait_for_output("action: join | result: fail | coordinator: " + c->address(), 5s));
}

TEST(Failover, SigtermedCoordinatorAnswersTasksThatOutliveTheDrainTimeoutWithShuttingDown) {
  // Two I/O threads: link closes and answers run concurrently at shutdown.
  auto c = Cluster::start(2, {"--io-threads", "2", "--drain-timeout", "0.5"});
  Process a = c->spawn_minga({"sleep", "20"});
  Process b = c->spawn_minga({"sleep", "20"});
  const auto deadline = Clock::now() + 5s;
  unsigned in_flight = 0;
  while (in_flight < 2 && Clock::now() < deadline) {
    in_flight = 0;
    const pb::WorkersResponse table = c->workers();
    for (const auto& w : table.workers()) in_flight += w.in_flight();
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(in_flight, 2u);
  Process& coord = c->coordinator().process();
  coord.signal(SIGTERM);
  for (Process* job : {&a, &b}) {
    ASSERT_EQ(job->wait(5s), 1) << job->out();
    EXPECT_EQ(job->err(), "error: the coordinator shut down before the task finished\n");
  }
  ASSERT_EQ(coord.wait(10s), 0) << coord.err();
  const std::string log = coord.err();
  EXPECT_EQ(log.find("assertion failed"), std::string::npos) << log;
  EXPECT_NE(log.find("action: drain | result: fail | abandoned_tasks: 2"), std::string::npos) << log;
  EXPECT_NE(log.find("action: shutdown | result: success | resource: worker_links | count: 2"), std::string::npos)
      << log;
  // The abandoned tasks were not moved between the closing links.
  EXPECT_EQ(log.find("action: reassign"), std::string::npos) << log;
}

TEST(Failover, KilledStaticWorkerIsRedialledWhenItRestartsAndTakesWorkAgain) {
  auto w = NodeProcess::start({"--role", "worker", "--id", "s1", "--threads", "2"});
  const std::string port = std::to_string(w.port());
  auto coord = NodeProcess::start({"--role", "coordinator", "--id", "coord", "--heartbeat-interval", "0.1", "--workers",
                                   w.address(), "--log-level", "debug"});
  ASSERT_TRUE(coord.process().wait_for_output("action: attach_worker | result: success | worker: s1", 10s));
  auto calc = [&] { return run_minga({"--server", coord.address(), "calc", "add", "1", "2"}); };
  EXPECT_EQ(calc().out, "3\n");

  w.process().signal(SIGKILL);
  ASSERT_EQ(w.process().wait(5s), 128 + SIGKILL);
  ASSERT_TRUE(coord.process().wait_for_output("action: worker_link | result: fail | worker: s1", 5s));
  EXPECT_EQ(calc().err, "error: no worker available\n");
  // It redials every 0.1 s while the worker is down: wait for several.
  const std::string dial_fail = "action: dial_worker | result: fail | address: " + w.address();
  EXPECT_TRUE(eventually([&] { return count_log_lines(coord.process().err(), "debug", dial_fail) >= 3; }, 10s))
      << coord.process().err();
  std::string log = coord.process().err();
  EXPECT_EQ(count_log_lines(log, "warning", dial_fail), 1u) << "logged once per outage:\n" << log;

  // Back on the same port: the coordinator dials it again by itself.
  auto again = NodeProcess::start({"--role", "worker", "--id", "s1", "--threads", "2", "--port", port});
  ASSERT_EQ(again.address(), w.address());
  const auto deadline = Clock::now() + 5s;
  std::string out;
  while (Clock::now() < deadline && (out = calc().out) != "3\n") std::this_thread::sleep_for(50ms);
  EXPECT_EQ(out, "3\n");
  auto table = run_minga({"--server", coord.address(), "workers"});
  EXPECT_TRUE(std::regex_search(table.out, std::regex("s1 +" + w.address() + " +live +2 +0 +[1-9]"))) << table.out;
}

}  // namespace
}  // namespace minga::testing
