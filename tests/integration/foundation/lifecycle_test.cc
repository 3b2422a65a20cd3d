// Concurrency, backpressure and graceful shutdown of a real node.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <regex>

#include "harness.h"
#include "proto/minga.pb.h"
#include "wire/frame.h"

namespace minga::testing {
namespace {

// Polls the node's monitor until `sample` ("name value") is among its metrics.
bool metric_reaches(const NodeProcess& node, const std::string& sample) {
  return eventually(
      [&] { return http_get(node.monitor_port(), "/metrics").second.find("\n" + sample + "\n") != std::string::npos; },
      5s);
}

// What a graceful shutdown logs, whichever signal asked for it.
void expect_graceful_shutdown(const std::string& log, const char* signal) {
  EXPECT_NE(log.find(std::string("action: shutdown | result: in_progress | signal: ") + signal), std::string::npos)
      << log;
  for (const char* resource : {"client_listener", "client_sessions", "monitor", "task_pool", "node"}) {
    EXPECT_NE(log.find(std::string("action: shutdown | result: success | resource: ") + resource), std::string::npos)
        << resource << "\n"
        << log;
  }
  EXPECT_NE(log.find("action: drain | result: success"), std::string::npos) << log;
}

TEST(Lifecycle, SigtermLetsTheInFlightTaskAnswerAndExitsZero) {
  auto node = NodeProcess::start({"--drain-timeout", "5"});
  Process client = Process::spawn({minga_binary(), "--server", node.address(), "sleep", "2"});
  ASSERT_TRUE(metric_reaches(node, "minga_tasks_waiting 1"));  // the sleep is in flight
  node.process().signal(SIGTERM);
  ASSERT_EQ(client.wait(10s), 0) << client.err();
  EXPECT_EQ(client.out(), "slept 2 s\n");
  ASSERT_EQ(node.process().wait(10s), 0) << node.process().err();
  expect_graceful_shutdown(node.process().err(), "SIGTERM");
  // New connections are refused once the listener closed.
  EXPECT_EQ(run_minga({"--server", node.address(), "calc", "add", "1", "1", "--timeout", "2"}).exit_code, 3);
}

TEST(LifecycleTiming, TasksStillRunningAtTheDrainDeadlineAreAnsweredShuttingDown) {
  auto node = NodeProcess::start({"--drain-timeout", "1"});
  Process client = Process::spawn({minga_binary(), "--server", node.address(), "sleep", "5"});
  RawConnection text(node.port());
  ASSERT_TRUE(text.send("{\"task\":\"sleep\",\"seconds\":5}\n"));
  ASSERT_TRUE(metric_reaches(node, "minga_tasks_waiting 2"));  // both sleeps are in flight
  const auto t0 = std::chrono::steady_clock::now();
  node.process().signal(SIGTERM);
  ASSERT_EQ(client.wait(10s), 1) << client.out() << client.err();
  EXPECT_EQ(client.err(), "error: the node is shutting down; the task did not finish before the drain deadline\n");
  EXPECT_EQ(text.read_line(3s),
            R"({"ok":false,"error":"the node is shutting down; the task did not finish before the drain deadline"})");
  EXPECT_TRUE(text.closed_by_peer(3s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);  // at the drain deadline, not after the sleeps
  ASSERT_EQ(node.process().wait(10s), 0) << node.process().err();
  EXPECT_NE(node.process().err().find("action: drain | result: fail | abandoned_tasks: 2"), std::string::npos)
      << node.process().err();
}

TEST(Lifecycle, SigintShutsDownAsGracefullyAsSigterm) {
  auto node = NodeProcess::start();
  node.process().signal(SIGINT);
  EXPECT_EQ(node.process().wait(10s), 0) << node.process().err();
  expect_graceful_shutdown(node.process().err(), "SIGINT");
}

TEST(LifecycleTiming, FullQueueAnswersBusyAtOnce) {
  auto node = NodeProcess::start({"--threads", "1", "--queue-capacity", "1"});
  RawConnection c(node.port());
  pb::TaskRequest req;
  req.set_kind("reverse");
  req.set_text(std::string(20000, 'x'));
  std::string batch;
  for (std::uint64_t id = 1; id <= 300; ++id) wire::encode(batch, pb::TASK_REQUEST, id, req.SerializeAsString());
  const auto sent = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send(batch));
  int ok = 0, busy = 0;
  std::chrono::steady_clock::duration last_busy{};
  for (int i = 0; i < 300; ++i) {
    std::string header = c.read(wire::kHeaderBytes, 10s);
    ASSERT_EQ(header.size(), wire::kHeaderBytes);
    auto d = wire::decode(header, 1 << 24);
    std::string body = c.read(d.wanted - wire::kHeaderBytes, 10s);
    if (d.header.type == pb::TASK_RESPONSE) {
      ++ok;
    } else {
      pb::ErrorResponse e;
      ASSERT_TRUE(e.ParseFromString(body));
      ASSERT_EQ(e.code(), pb::BUSY);
      EXPECT_EQ(e.message(), "the task queue is full; retry later");
      last_busy = std::chrono::steady_clock::now() - sent;
      ++busy;
    }
  }
  // Refused on arrival, not after waiting for the queue to drain.
  EXPECT_LT(last_busy, 500ms) << std::chrono::duration_cast<std::chrono::milliseconds>(last_busy).count() << " ms";
  EXPECT_GT(busy, 0);
  EXPECT_GT(ok, 0);
  EXPECT_EQ(ok + busy, 300);
}

TEST(Lifecycle, ConfigurationFileAndEnvironment) {
  TempDir dir;
  const std::string file = dir.str() + "/minga.toml";
  {
    std::ofstream f(file);
    f << "[node]\nid = \"from-file\"\nthreads = 3\n[log]\nlevel = \"debug\"\n";
  }
  auto node = NodeProcess::start({"--config", file}, {{"MINGA_THREADS", "2"}});
  auto r = run_minga({"--server", node.address(), "status", "--output", "json"});
  EXPECT_NE(r.out.find("\"id\":\"from-file\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"threads\":2"), std::string::npos) << r.out;  // environment over file
}

TEST(Lifecycle, BadConfigurationIsAUsageError) {
  auto r = run_minga({"node", "--port", "70000"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: flag --port: invalid port '70000'\n");
  auto f = run_minga({"node", "--config", "/nonexistent/minga.toml"});
  EXPECT_EQ(f.exit_code, 2);
  EXPECT_EQ(f.err, "error: cannot read configuration file /nonexistent/minga.toml\n");
}

TEST(Lifecycle, UnknownConfigurationKeyIsAUsageError) {
  TempDir dir;
  const std::string file = dir.str() + "/typo.toml";
  {
    std::ofstream f(file);
    f << "[node]\nprot = 7401\n";
  }
  auto r = run_minga({"node", "--config", file, "--port", "0", "--monitor-port", "0", "--data-dir", dir.str() + "/d"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("action: node_start | result: fail | reason: configuration file " + file +
                       ": unknown key 'node.prot'"),
            std::string::npos)
      << r.err;
}

TEST(Lifecycle, PortInUseIsAClearStartupFailure) {
  auto first = NodeProcess::start();
  auto r = run_minga(
      {"node", "--port", std::to_string(first.port()), "--monitor-port", "0", "--data-dir", first.data_dir() + "-2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("action: node_start | result: fail | reason: cannot listen on 127.0.0.1:"), std::string::npos)
      << r.err;
}

TEST(Lifecycle, JsonLogFormat) {
  TempDir dir;
  Process p = Process::spawn({minga_binary(), "node", "--port", "0", "--monitor-port", "0", "--data-dir",
                              dir.str() + "/d", "--log-format", "json", "--id", "j1"});
  ASSERT_TRUE(p.wait_for_output("\"action\":\"node_start\",\"result\":\"success\"", 10s)) << p.err();
  EXPECT_NE(p.err().find("\"id\":\"j1\""), std::string::npos);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(10s), 0);
}

}  // namespace
}  // namespace minga::testing
