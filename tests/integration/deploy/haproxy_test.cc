// deploy/haproxy/haproxy.cfg run for real: Debian's haproxy in front of a
// 3-node cluster on 127.0.0.1 (the file's addresses are environment
// variables, so the same file is tested that Compose mounts). Clients that go
// through it keep writing across a leader's `kill -9`; the pause is printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "cluster/raft_cluster.h"

namespace minga::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string config_file() { return std::string(MINGA_SOURCE_DIR) + "/deploy/haproxy/haproxy.cfg"; }

struct Balancer {
  std::uint16_t client = free_port(), leader = free_port(), monitor = free_port(), stats = free_port();
  TempDir dir;
  Process proc;

  Env env(const RaftCluster& cluster) {
    Env e{{"MINGA_LB_BIND", "127.0.0.1"},
          {"MINGA_LB_CLIENT_PORT", std::to_string(client)},
          {"MINGA_LB_LEADER_PORT", std::to_string(leader)},
          {"MINGA_LB_MONITOR_PORT", std::to_string(monitor)},
          {"MINGA_LB_STATS_PORT", std::to_string(stats)},
          {"MINGA_LB_SOCKET", (dir.path() / "haproxy.sock").string()}};
    for (std::size_t i = 0; i < cluster.size(); ++i) {
      auto& m = const_cast<RaftCluster&>(cluster).member(i);
      const std::string n = "MINGA_N" + std::to_string(i + 1);
      e[n + "_HOST"] = "127.0.0.1";
      e[n + "_PORT"] = std::to_string(m.client);
      e[n + "_MONITOR"] = std::to_string(m.monitor);
    }
    return e;
  }

  // Servers of `backend` in the statistics CSV, by name, with their status
  // ("UP", "DOWN", "UP 1/2", ...).
  std::map<std::string, std::string> servers(const std::string& backend) const {
    std::map<std::string, std::string> out;
    auto [code, body] = http_get(stats, "/;csv");
    if (code != 200) return out;
    std::istringstream in(body);
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::stringstream ls(line);
      std::string cell;
      while (std::getline(ls, cell, ',')) f.push_back(cell);
      // pxname, svname, ..., status is field 17.
      if (f.size() > 17 && f[0] == backend && f[1] != "BACKEND" && f[1] != "FRONTEND") out[f[1]] = f[17];
    }
    return out;
  }
  // The servers of `backend` that are UP.
  std::set<std::string> up(const std::string& backend) const {
    std::set<std::string> out;
    for (const auto& [name, status] : servers(backend)) {
      if (status == "UP") out.insert(name);
    }
    return out;
  }
};

std::string server_name(std::size_t i) { return "n" + std::to_string(i + 1); }

TEST(DeployHaproxy, ConfigIsValidWhereTheNodeNamesDoNotResolve) {
  TempDir dir;
  Process check = Process::spawn({"haproxy", "-c", "-f", config_file()},
                                 {{"MINGA_LB_SOCKET", (dir.path() / "haproxy.sock").string()}});
  ASSERT_EQ(check.wait(20s), 0) << check.out() << check.err();
  EXPECT_NE((check.out() + check.err()).find("Configuration file is valid"), std::string::npos) << check.out();
}

TEST(DeployHaproxy, ConfigWithAnUnknownKeywordIsRejected) {
  // The check above can fail: a config haproxy does not understand exits 1.
  TempDir dir;
  const auto bad = dir.path() / "bad.cfg";
  {
    std::ifstream in(config_file());
    std::ofstream out(bad);
    out << in.rdbuf() << "\nbackend broken\n    balance nosuchalgorithm\n";
  }
  Process check = Process::spawn({"haproxy", "-c", "-f", bad.string()},
                                 {{"MINGA_LB_SOCKET", (dir.path() / "haproxy.sock").string()}});
  EXPECT_EQ(check.wait(20s), 1) << check.out() << check.err();
}

// One client loop: `minga --server ADDRESS records add` as fast as it
// answers, each write's completion time kept.
struct Writer {
  std::string address, prefix;
  std::atomic<bool> stop{false};
  std::mutex mu;
  // What `add` printed ("INDEX\n"), a tab and the text.
  std::vector<std::pair<Clock::time_point, std::string>> acked;
  std::vector<std::string> failed;  // outcome unknown or refused: their stderr
  std::thread thread;

  void start() {
    thread = std::thread([this] {
      for (int n = 0; !stop && n < 100000; ++n) {
        const std::string text = prefix + std::to_string(n);
        RunResult r = run_minga({"--server", address, "--timeout", "10", "records", "add", text}, {}, "", 30s);
        std::lock_guard lock(mu);
        if (r.exit_code == 0) {
          acked.emplace_back(Clock::now(), r.out + "\t" + text);
        } else {
          failed.push_back(std::to_string(r.exit_code) + ": " + r.err);
          std::this_thread::sleep_for(20ms);
        }
      }
    });
  }
  void join() {
    stop = true;
    thread.join();
  }
  std::size_t acked_after(Clock::time_point t) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& [when, text] : acked) n += when > t;
    return n;
  }
  // The longest time without an acknowledged write, from the last one
  // before the kill to the 20th after it (an answer already on its way when
  // the leader died may land just after the kill: the gap after it counts).
  std::chrono::milliseconds pause_around(Clock::time_point kill) {
    std::lock_guard lock(mu);
    Clock::duration longest{};
    std::size_t after = 0;
    for (std::size_t i = 1; i < acked.size() && after < 20; ++i) {
      if (acked[i].first <= kill) continue;
      ++after;
      longest = std::max(longest, acked[i].first - acked[i - 1].first);
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(longest);
  }
};

TEST(DeployHaproxy, ClientsThroughHaproxyKeepWritingAcrossALeaderKill) {
  auto cluster = RaftCluster::start(3);
  Balancer lb;
  lb.proc = Process::spawn({"haproxy", "-db", "-f", config_file()}, lb.env(*cluster));
  const auto leader = cluster->wait_leader();
  ASSERT_TRUE(leader);

  // The leader backend has exactly the leader UP; the others every node.
  ASSERT_TRUE(eventually([&] { return lb.up("minga_leader") == std::set{server_name(*leader)}; }, 10s))
      << lb.proc.err() << lb.proc.out();
  ASSERT_TRUE(eventually([&] { return lb.up("minga_nodes").size() == 3 && lb.up("minga_monitor").size() == 3; }, 10s));
  auto [health, body] = http_get(lb.monitor, "/healthz");
  EXPECT_EQ(health, 200);
  EXPECT_EQ(body, "ok\n");
  auto [leader_code, leader_body] = http_get(lb.monitor, "/leader");
  EXPECT_TRUE(leader_code == 200 || leader_code == 503) << leader_code;

  Writer to_leader, balanced;
  to_leader.address = "127.0.0.1:" + std::to_string(lb.leader);
  to_leader.prefix = "L";
  balanced.address = "127.0.0.1:" + std::to_string(lb.client);
  balanced.prefix = "B";
  to_leader.start();
  balanced.start();
  ASSERT_TRUE(eventually([&] { return to_leader.acked_after({}) >= 20 && balanced.acked_after({}) >= 20; }, 20s));

  const auto kill = Clock::now();
  cluster->kill(*leader);
  const auto next = cluster->wait_leader(15s, *leader);
  ASSERT_TRUE(next);
  // Both keep writing: 20 more acknowledged writes each after the kill.
  const bool resumed =
      eventually([&] { return to_leader.acked_after(kill) >= 20 && balanced.acked_after(kill) >= 20; }, 30s);
  to_leader.join();
  balanced.join();
  ASSERT_TRUE(resumed) << "after the kill: " << to_leader.acked_after(kill) << " through the leader frontend, "
                       << balanced.acked_after(kill) << " balanced";

  const auto pause_leader = to_leader.pause_around(kill);
  const auto pause_balanced = balanced.pause_around(kill);
  std::cout << "write pause after kill -9 of the leader: " << pause_leader.count()
            << " ms through the leader frontend (" << to_leader.failed.size() << " writes failed), "
            << pause_balanced.count() << " ms through the balanced frontend (" << balanced.failed.size() << " failed)"
            << std::endl;
  for (const auto& f : to_leader.failed) std::cout << "  leader frontend: exit " << f;
  for (const auto& f : balanced.failed) std::cout << "  balanced frontend: exit " << f;
  // An election takes 0.3-0.6 s; HAProxy's checks add a few 250 ms rounds.
  // The bound is loose for a loaded machine, but a frontend that stays on
  // the dead leader would never resume at all.
  EXPECT_LT(pause_leader, 10s);
  EXPECT_LT(pause_balanced, 10s);

  // The leader backend followed the new leader, and the dead node is out.
  EXPECT_TRUE(eventually([&] { return lb.up("minga_leader") == std::set{server_name(*next)}; }, 10s));
  EXPECT_EQ(lb.up("minga_nodes").count(server_name(*leader)), 0u);

  // Every acknowledged write is in the replicated list, read through HAProxy.
  RunResult ls = run_minga({"--server", balanced.address, "records", "ls"}, {}, "", 30s);
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  std::size_t missing = 0;
  for (auto* w : {&to_leader, &balanced}) {
    for (const auto& [when, line] : w->acked) {
      // "INDEX\n\tTEXT" from the add; the list has "INDEX\tTEXT\n".
      const auto nl = line.find('\n');
      ASSERT_NE(nl, std::string::npos) << line;
      const std::string want = line.substr(0, nl) + line.substr(nl + 1) + "\n";
      if (("\n" + ls.out).find("\n" + want) == std::string::npos) ++missing;
    }
  }
  EXPECT_EQ(missing, 0u) << ls.out.substr(0, 2000);

  lb.proc.signal(SIGTERM);
  EXPECT_TRUE(lb.proc.wait(10s));
}

}  // namespace
}  // namespace minga::testing
