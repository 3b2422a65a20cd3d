// A coordinator and three workers: sumsq scatter/gather, balancing, the
// worker table in the CLI, /status and /metrics; static worker lists,
// `both` nodes and configuration errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "cluster.h"

namespace minga::testing {
namespace {

class Workers : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = Cluster::start(3).release(); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  static Cluster& c() { return *cluster_; }
  static Cluster* cluster_;
};
Cluster* Workers::cluster_ = nullptr;

TEST_F(Workers, SumsqNineGives285WithThreePartsFromThreeWorkers) {
  auto r = c().minga({"--output", "json", "sumsq", "9"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  static const std::regex shape(
      R"re(\{"ok":true,"result":285,"parts":\[\{"a":1,"b":3,"result":14,"worker":"(w\d)"\},)re"
      R"re(\{"a":4,"b":6,"result":77,"worker":"(w\d)"\},\{"a":7,"b":9,"result":194,"worker":"(w\d)"\}\]\}\n)re");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(r.out, m, shape)) << r.out;
  EXPECT_EQ((std::set<std::string>{m[1], m[2], m[3]}), (std::set<std::string>{"w1", "w2", "w3"}));

  auto t = c().minga({"sumsq", "9"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  static const std::regex text(R"(285\n  1-3 = 14 \(w\d\)\n  4-6 = 77 \(w\d\)\n  7-9 = 194 \(w\d\)\n)");
  EXPECT_TRUE(std::regex_match(t.out, text)) << t.out;
}

TEST_F(Workers, SumsqSplitsEdgesAndRefusesBadN) {
  EXPECT_EQ(c().minga({"-o", "json", "sumsq", "0"}).out, "{\"ok\":true,\"result\":0,\"parts\":[]}\n");
  auto one = parse_parts(c().minga({"-o", "json", "sumsq", "1"}).out);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].a + "-" + one[0].b + "=" + one[0].result, "1-1=1");

  // Fewer numbers than workers: one part per number, each on its own worker.
  auto two = parse_parts(c().minga({"-o", "json", "sumsq", "2"}).out);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].a + "-" + two[0].b + "=" + two[0].result, "1-1=1");
  EXPECT_EQ(two[1].a + "-" + two[1].b + "=" + two[1].result, "2-2=4");
  EXPECT_NE(two[0].worker, two[1].worker);

  auto ten = c().minga({"-o", "json", "sumsq", "10"});
  auto parts = parse_parts(ten.out);
  ASSERT_EQ(parts.size(), 3u) << ten.out;
  EXPECT_EQ(parts[0].a + "-" + parts[0].b + " " + parts[1].a + "-" + parts[1].b + " " + parts[2].a + "-" + parts[2].b,
            "1-4 5-7 8-10");
  EXPECT_NE(ten.out.find("\"result\":385,"), std::string::npos) << ten.out;

  // The largest n, exact (n(n+1)(2n+1)/6 needs 119 bits).
  auto big = c().minga({"sumsq", "1000000000000"});
  ASSERT_EQ(big.exit_code, 0) << big.err;
  EXPECT_EQ(big.out.substr(0, big.out.find('\n')), "333333333333833333333333500000000000");

  for (const char* bad : {"-3", "2.5", "1e3", "abc", "1000000000001", "99999999999999999999999"}) {
    auto r = c().minga({"sumsq", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_EQ(r.out, "") << bad;
    if (std::string(bad) == "1000000000001") {
      EXPECT_EQ(r.err, "error: n = 1000000000001 is too large: sumsq is exact for n up to 1000000000000\n");
    } else {
      EXPECT_EQ(r.err, std::string("error: n must be a whole number from 0 to 1000000000000, got '") + bad + "'\n");
    }
  }
  // -o json prints the error as JSON, like every other error.
  auto json = c().minga({"-o", "json", "sumsq", "-3"});
  EXPECT_EQ(json.exit_code, 2);
  EXPECT_EQ(json.out, R"({"ok":false,"error":"n must be a whole number from 0 to 1000000000000, got '-3'"})"
                      "\n");
  EXPECT_EQ(json.err, "");
  // The node refuses it too (other clients do not go through the CLI).
  pb::SumSquaresRequest req;
  req.set_n(1'000'000'000'001);
  auto r = call<pb::SumSquaresResponse>(c().address(), pb::SUM_SQUARES_REQUEST, req, pb::SUM_SQUARES_RESPONSE);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().message, "n = 1000000000001 is too large: sumsq is exact for n up to 1000000000000");
}

TEST_F(Workers, OtherTasksWorkUnchangedThroughTheCoordinator) {
  EXPECT_EQ(c().minga({"text", "uppercase", "hola", "mundo"}).out, "HOLA MUNDO\n");
  EXPECT_EQ(c().minga({"text", "reverse", "abc"}).out, "cba\n");
  EXPECT_EQ(c().minga({"text", "word-count", "a b  c"}).out, "3\n");
  EXPECT_EQ(c().minga({"task", "1", "hola"}).out, "HOLA\n");
  EXPECT_EQ(c().minga({"sleep", "0.2"}).out, "slept 0.2 s\n");
  EXPECT_EQ(c().minga({"calc", "mul", "6", "7"}).out, "42\n");
  EXPECT_EQ(c().minga({"-o", "json", "calc", "sub", "10", "5"}).out, "{\"ok\":true,\"result\":5}\n");
  auto div = c().minga({"calc", "div", "1", "0"});
  EXPECT_EQ(div.exit_code, 1);
  EXPECT_EQ(div.err, "error: division by zero\n");
  // Checked at the coordinator, never sent to a worker.
  auto sleep = c().minga({"sleep", "-1"});
  EXPECT_EQ(sleep.exit_code, 1);
  EXPECT_EQ(sleep.err, "error: sleep needs a number of seconds >= 0\n");
  auto unknown = c().minga({"task", "juggle"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err, "error: unknown task kind 'juggle'\n");
}

TEST_F(Workers, WorkersCommandListsEveryWorker) {
  auto r = c().minga({"workers"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  static const std::regex table(R"(ID +ADDRESS +STATE +CAPACITY +IN FLIGHT +DONE\n)"
                                R"(w1 +127\.0\.0\.1:\d+ +live +2 +0 +\d+\n)"
                                R"(w2 +127\.0\.0\.1:\d+ +live +2 +0 +\d+\n)"
                                R"(w3 +127\.0\.0\.1:\d+ +live +2 +0 +\d+\n)");
  EXPECT_TRUE(std::regex_match(r.out, table)) << r.out;
  auto j = c().minga({"-o", "json", "workers"});
  EXPECT_EQ(j.out.rfind(R"({"ok":true,"coordinator":"coord","policy":"round-robin","workers":[{"id":"w1",)", 0), 0u)
      << j.out;
  EXPECT_NE(j.out.find(R"("address":")" + c().worker("w2").address() + R"(","state":"live","capacity":2,)"),
            std::string::npos)
      << j.out;
}

TEST_F(Workers, MonitorShowsTheWorkerTableAndPerWorkerMetrics) {
  ASSERT_EQ(c().minga({"sumsq", "9"}).exit_code, 0);
  auto [sc, status] = http_get(c().coordinator().monitor_port(), "/status");
  EXPECT_EQ(sc, 200);
  EXPECT_NE(status.find(R"("role":"coordinator")"), std::string::npos) << status;
  EXPECT_NE(status.find(R"("workers":{"coordinator":"coord","policy":"round-robin","workers":[{"id":"w1",)"),
            std::string::npos)
      << status;
  auto [mc, metrics] = http_get(c().coordinator().monitor_port(), "/metrics");
  EXPECT_EQ(mc, 200);
  EXPECT_NE(metrics.find("minga_workers{state=\"live\"} 3\n"), std::string::npos) << metrics;
  for (const char* w : {"w1", "w2", "w3"}) {
    const std::string labels = std::string("worker=\"") + w + "\"";
    EXPECT_TRUE(
        std::regex_search(metrics, std::regex("minga_worker_tasks_total\\{" + labels + ",result=\"ok\"\\} [1-9]")))
        << w;
    EXPECT_TRUE(
        std::regex_search(metrics, std::regex("minga_dispatch_duration_seconds_count\\{" + labels + "\\} [1-9]")))
        << w;
    EXPECT_NE(metrics.find("minga_worker_tasks_in_flight{" + labels + "} 0\n"), std::string::npos) << w;
    EXPECT_NE(metrics.find("minga_worker_capacity{" + labels + "} 2\n"), std::string::npos) << w;
  }
  // A worker shows which coordinator it reports to.
  auto [wc, wstatus] = http_get(c().worker("w1").monitor_port(), "/status");
  EXPECT_NE(wstatus.find(R"("coordinator":{"coordinator":")" + c().address() + R"(","joined":true})"),
            std::string::npos)
      << wstatus;
}

TEST_F(Workers, TextModeSumsqAndWorkers) {
  RawConnection conn(c().coordinator().port());
  ASSERT_TRUE(conn.send("{\"op\":\"sumsq\",\"n\":\"9\"}\n{\"op\":\"sumsq\",\"n\":\"-1\"}\n{\"op\":\"workers\"}\n"));
  const std::string sumsq = conn.read_line(10s);
  EXPECT_EQ(sumsq.rfind(R"({"ok":true,"result":285,"parts":[{"a":1,"b":3,"result":14,"worker":"w)", 0), 0u) << sumsq;
  EXPECT_EQ(conn.read_line(5s), R"({"ok":false,"error":"n must be a whole number from 0 to 1000000000000, got '-1'"})");
  EXPECT_EQ(conn.read_line(5s).rfind(R"({"ok":true,"coordinator":"coord","policy":"round-robin","workers":[)", 0), 0u);
}

// --- without a shared cluster

// Sends `total` tasks over one connection keeping `window` unanswered;
// returns how many each worker answered.
std::map<std::string, int> run_window(const std::string& address, int total, int window,
                                      const std::function<pb::TaskRequest(int)>& make,
                                      const std::function<void(int, const pb::TaskResponse&)>& check) {
  std::map<std::string, int> per_worker;
  auto client = net::Client::connect(net::parse_endpoint(address).value(), 5s);
  EXPECT_TRUE(client.ok());
  if (!client.ok()) return per_worker;
  int sent = 0, answered = 0;
  auto send_one = [&] {
    ++sent;
    EXPECT_TRUE(
        client->send(pb::TASK_REQUEST, static_cast<std::uint64_t>(sent), make(sent).SerializeAsString(), 5s).ok());
  };
  while (sent < std::min(window, total)) send_one();
  while (answered < total) {
    auto f = client->receive(10s);
    if (!f.ok()) {
      ADD_FAILURE() << f.error().message;
      break;
    }
    EXPECT_EQ(f->header.type, pb::TASK_RESPONSE) << net::decode_error(f->body).message;
    pb::TaskResponse resp;
    EXPECT_TRUE(resp.ParseFromString(f->body));
    check(static_cast<int>(f->header.request_id), resp);
    per_worker[resp.worker()]++;
    ++answered;
    if (sent < total) send_one();
  }
  return per_worker;
}

TEST(WorkersBalance, ThreeHundredConcurrentCalcRequestsSpreadEvenly) {
  // Spare slots on every worker, so capacity never decides: the rotation does.
  auto c = Cluster::start(3, {}, {"--threads", "8"});
  auto per_worker = run_window(
      c->address(), 300, 6,
      [](int i) {
        pb::TaskRequest req;
        req.set_kind("add");
        req.set_a(i);
        req.set_b(1000);
        return req;
      },
      [](int i, const pb::TaskResponse& r) { EXPECT_EQ(r.number(), i + 1000.0); });
  ASSERT_EQ(per_worker.size(), 3u);
  for (const auto& [id, n] : per_worker) {
    EXPECT_GE(n, 90) << id;
    EXPECT_LE(n, 110) << id;
  }
  // The worker table counted the same answers.
  const pb::WorkersResponse table = c->workers();
  for (const auto& w : table.workers()) EXPECT_EQ(w.done(), static_cast<std::uint64_t>(per_worker[w.id()])) << w.id();
}

TEST(WorkersBalance, AWorkerNeverRunsMoreTasksThanItsThreads) {
  // `sleep` holds no thread on the worker, so only the coordinator's cap
  // keeps four half-second sleeps from finishing together on a 2-thread worker.
  auto c = Cluster::start(1, {}, {"--threads", "2"});
  std::vector<long> answered_ms;
  const auto t0 = std::chrono::steady_clock::now();
  // Watches the coordinator's table while the tasks run: the most in flight.
  std::atomic<bool> finished{false};
  std::uint32_t most_in_flight = 0;
  std::thread probe([&] {
    while (!finished) {
      most_in_flight = std::max(most_in_flight, c->workers().workers(0).in_flight());
      std::this_thread::sleep_for(10ms);
    }
  });
  auto per_worker = run_window(
      c->address(), 4, 4,
      [](int) {
        pb::TaskRequest req;
        req.set_kind("sleep");
        req.set_seconds(0.5);
        return req;
      },
      [&](int, const pb::TaskResponse& r) {
        EXPECT_EQ(r.text(), "slept 0.5 s");
        answered_ms.push_back(static_cast<long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count()));
      });
  finished = true;
  probe.join();
  EXPECT_EQ(most_in_flight, 2u);
  EXPECT_EQ(per_worker["w1"], 4);
  ASSERT_EQ(answered_ms.size(), 4u);
  EXPECT_LT(answered_ms[1], 950);  // two at once...
  EXPECT_GE(answered_ms[2], 950);  // ...then the other two
  EXPECT_LT(answered_ms[3], 2000);
}

TEST(WorkersBalance, LeastLoadedSendsQuickTasksAwayFromTheBusyWorker) {
  auto c = Cluster::start(2, {"--policy", "least-loaded"});
  Process busy = c->spawn_minga({"sleep", "2"});  // the first task goes to w1
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (c->workers().workers(0).in_flight() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(c->workers().workers(0).in_flight(), 1u);
  // w1 has 1 of 2 slots busy, w2 none: every quick task goes to w2 (round
  // robin would alternate).
  for (int i = 0; i < 6; ++i) {
    pb::TaskRequest req;
    req.set_kind("add");
    req.set_a(i);
    req.set_b(1);
    auto r = call<pb::TaskResponse>(c->address(), pb::TASK_REQUEST, req, pb::TASK_RESPONSE);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->number(), i + 1.0);
    EXPECT_EQ(r->worker(), "w2") << i;
  }
  ASSERT_EQ(busy.wait(10s), 0) << busy.err();
  EXPECT_EQ(busy.out(), "slept 2 s\n");
}

TEST(WorkersStatic, JoiningWorkerShowsItsAddressAndAnUnreachableOneIsLoggedOnce) {
  // At debug level the coordinator also logs every repeated failure.
  auto coord = NodeProcess::start(
      {"--role", "coordinator", "--id", "coord", "--heartbeat-interval", "0.1", "--log-level", "debug"});
  // It heartbeats, but nothing listens where it says it does.
  auto w = NodeProcess::start(
      {"--role", "worker", "--id", "ghost", "--threads", "3", "--join", coord.address(), "--advertise", "127.0.0.1:1"});
  ASSERT_TRUE(w.process().wait_for_output("action: join | result: success", 10s)) << w.process().err();
  const std::string fail = "action: dial_worker | result: fail | address: 127.0.0.1:1";
  // Each heartbeat redials; wait for several redials to have failed.
  EXPECT_TRUE(eventually([&] { return count_log_lines(coord.process().err(), "debug", fail) >= 3; }, 10s))
      << coord.process().err();
  auto list = run_minga({"--server", coord.address(), "workers"});
  EXPECT_TRUE(std::regex_search(list.out, std::regex(R"(ghost +127\.0\.0\.1:1 +joining +3 +0 +0\n)"))) << list.out;
  const std::string log = coord.process().err();
  EXPECT_EQ(count_log_lines(log, "warning", fail), 1u) << "logged once per outage:\n" << log;
}

TEST(WorkersStatic, CoordinatorDialsItsWorkerListAndWorkersHeartbeatBack) {
  auto w1 = NodeProcess::start({"--role", "worker", "--id", "s1", "--threads", "1"});
  auto w2 = NodeProcess::start({"--role", "worker", "--id", "s2", "--threads", "3"});
  auto coord = NodeProcess::start({"--role", "coordinator", "--id", "coord", "--policy", "least-loaded", "--workers",
                                   w1.address() + "," + w2.address()});
  ASSERT_TRUE(w1.process().wait_for_output("action: join | result: success | coordinator: " + coord.address(), 10s))
      << w1.process().err();
  ASSERT_TRUE(w2.process().wait_for_output("action: join | result: success", 10s)) << w2.process().err();
  auto r = run_minga({"--server", coord.address(), "-o", "json", "sumsq", "9"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto parts = parse_parts(r.out);
  ASSERT_EQ(parts.size(), 2u) << r.out;
  EXPECT_EQ(parts[0].a + "-" + parts[0].b + " " + parts[1].a + "-" + parts[1].b, "1-5 6-9");
  EXPECT_NE(parts[0].worker, parts[1].worker);
  auto list = run_minga({"--server", coord.address(), "workers"});
  EXPECT_TRUE(std::regex_search(list.out, std::regex("s1 +" + w1.address() + " +live +1 ")));
  EXPECT_TRUE(std::regex_search(list.out, std::regex("s2 +" + w2.address() + " +live +3 ")));
  EXPECT_NE(run_minga({"--server", coord.address(), "-o", "json", "workers"}).out.find("\"policy\":\"least-loaded\""),
            std::string::npos);
}

TEST(WorkersStatic, BothNodeRunsSumsqLocallyAsOnePart) {
  auto node = NodeProcess::start({"--id", "solo"});
  EXPECT_EQ(run_minga({"--server", node.address(), "-o", "json", "sumsq", "9"}).out,
            R"({"ok":true,"result":285,"parts":[{"a":1,"b":9,"result":285,"worker":"solo"}]})"
            "\n");
  EXPECT_EQ(run_minga({"--server", node.address(), "sumsq", "9"}).out, "285\n  1-9 = 285 (solo)\n");
  auto list = run_minga({"--server", node.address(), "workers"});
  EXPECT_TRUE(std::regex_search(list.out, std::regex("solo +" + node.address() + " +live ")));
}

TEST(WorkersStatic, JoiningANodeThatIsNotACoordinatorFailsClearly) {
  auto solo = NodeProcess::start({"--id", "solo"});
  auto w = NodeProcess::start({"--role", "worker", "--id", "w1", "--join", solo.address()});
  EXPECT_TRUE(
      w.process().wait_for_output("action: join | result: fail | coordinator: " + solo.address() +
                                      " | reason: node solo has role both; workers join a node with --role coordinator",
                                  10s))
      << w.process().err();
}

TEST(WorkersStatic, DuplicateWorkerIdIsRefusedWhileTheFirstIsAttached) {
  auto coord = NodeProcess::start({"--role", "coordinator", "--id", "coord"});
  auto first = NodeProcess::start({"--role", "worker", "--id", "dup", "--join", coord.address()});
  ASSERT_TRUE(first.process().wait_for_output("action: join | result: success", 10s));
  ASSERT_TRUE(coord.process().wait_for_output("action: attach_worker | result: success | worker: dup", 10s));
  auto second = NodeProcess::start({"--role", "worker", "--id", "dup", "--join", coord.address()});
  EXPECT_TRUE(second.process().wait_for_output(
      "| reason: worker id 'dup' is already attached from " + first.address() + "; ids must be unique", 10s))
      << second.process().err();
}

TEST(WorkersStatic, InconsistentClusterConfigurationIsAUsageError) {
  auto both_join = run_minga({"node", "--port", "0", "--monitor-port", "0", "--join", "127.0.0.1:7400"});
  EXPECT_EQ(both_join.exit_code, 2);
  EXPECT_EQ(both_join.err, "error: cluster.join needs cluster.role worker, not both\n");
  auto policy = run_minga({"node", "--role", "coordinator", "--policy", "random"});
  EXPECT_EQ(policy.exit_code, 2);
  EXPECT_EQ(policy.err, "error: flag --policy: expected round-robin|least-loaded, got 'random'\n");
  auto hb = run_minga({"node", "--role", "coordinator", "--heartbeat-interval", "2", "--heartbeat-timeout", "1"});
  EXPECT_EQ(hb.exit_code, 2);
  EXPECT_EQ(
      hb.err,
      "error: cluster.heartbeat_timeout_seconds (1) must be longer than cluster.heartbeat_interval_seconds (2)\n");
  auto workers = run_minga({"node", "--role", "coordinator", "--workers", "127.0.0.1:1,nope"});
  EXPECT_EQ(workers.exit_code, 2);
  EXPECT_EQ(workers.err, "error: flag --workers: address must be HOST:PORT, got 'nope'\n");
}

}  // namespace
}  // namespace minga::testing
