// The cluster as users see it: real nodes on 127.0.0.1 electing a leader,
// replicating records, and surviving kill -9, SIGSTOP and restarts.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "raft_cluster.h"

namespace minga::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> numbered(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

TEST(Cluster, ThreeNodesElectOneLeaderAndAFollowersWriteShowsOnAllInOneOrder) {
  auto c = RaftCluster::start(3);
  const auto leader = c->wait_leader();
  ASSERT_TRUE(leader);
  // Exactly one leader, and everyone names it in the same term.
  std::set<std::string> leaders;
  std::set<std::uint64_t> terms;
  int leading = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    auto s = c->status(i);
    ASSERT_TRUE(s.ok()) << s.error().message;
    leaders.insert(s->leader());
    terms.insert(s->term());
    leading += s->role() == "leader" ? 1 : 0;
  }
  EXPECT_EQ(leading, 1);
  EXPECT_EQ(leaders, std::set<std::string>{c->member(*leader).id});
  EXPECT_EQ(terms.size(), 1u);

  const std::size_t follower = (*leader + 1) % 3;
  const std::size_t other = (*leader + 2) % 3;
  auto first = c->add(follower, "uno");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first.value(), 1u);
  ASSERT_TRUE(c->add(other, "dos").ok());
  ASSERT_TRUE(c->add(*leader, "tres").ok());
  const std::vector<std::string> want = {"uno", "dos", "tres"};
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(c->wait_list(i, want)) << "node " << c->member(i).id;

  // The CLI: the index alone on its line, then INDEX<TAB>TEXT in commit order.
  auto added = c->minga({"records", "add", "cuatro con ñ"});
  EXPECT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(added.out, "4\n");
  auto ls = run_minga({"--server", c->address(follower), "records", "ls"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(ls.out, "1\tuno\n2\tdos\n3\ttres\n4\tcuatro con ñ\n");
  auto json = run_minga({"--server", c->address(other), "-o", "json", "records", "ls"});
  EXPECT_EQ(json.out, R"({"ok":true,"records":[{"index":1,"text":"uno"},{"index":2,"text":"dos"},)"
                      R"({"index":3,"text":"tres"},{"index":4,"text":"cuatro con ñ"}]})"
                      "\n");
  // Every monitor shows the same list.
  for (std::size_t i = 0; i < 3; ++i) {
    auto [code, body] = http_get(c->member(i).monitor, "/records");
    EXPECT_EQ(code, 200);
    EXPECT_NE(body.find(R"({"index":4,"text":"cuatro con ñ"})"), std::string::npos) << body;
  }
  // /leader answers 200 on the leader only.
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(http_get(c->member(i).monitor, "/leader").first, i == *leader ? 200 : 503) << c->member(i).id;
  }
}

// The monitor's live feed: every record so far, then each new one as this
// node applies it.
TEST(Cluster, RecordsFeedOnAFollowersMonitorStreamsEachRecord) {
  auto c = RaftCluster::start(3);
  const std::size_t leader = *c->wait_leader();
  const std::size_t follower = (leader + 1) % 3;
  // Under load an election may move the leadership between two writes: a
  // write refused with not_leader was not stored, so it is sent again.
  const auto add = [&](std::size_t i, const std::string& text) {
    Result<std::uint64_t> r = Error{Errc::not_leader, "not sent yet"};
    eventually(
        [&] {
          r = c->add(i, text);
          return r.ok() || r.error().code != Errc::not_leader;
        },
        10s);
    return r;
  };
  ASSERT_TRUE(add(leader, "primero").ok());
  RawConnection feed(c->member(follower).monitor);
  ASSERT_TRUE(feed.ok());
  feed.send("GET /records HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
  std::string got;
  const auto read_until = [&](const std::string& needle) {
    const auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline && got.find(needle) == std::string::npos) got += feed.read(1 << 16, 50ms);
    return got.find(needle) != std::string::npos;
  };
  EXPECT_TRUE(read_until(R"(data: {"index":1,"text":"primero"})")) << got;
  EXPECT_NE(got.find("Content-Type: text/event-stream"), std::string::npos);
  const auto second = add((leader + 2) % 3, "segundo");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_TRUE(read_until(R"(data: {"index":2,"text":"segundo"})")) << got;
}

TEST(Cluster, BadRecordsAreRefusedWithTheReason) {
  auto c = RaftCluster::start(3);
  auto nl = c->add(0, "dos\nlíneas");
  ASSERT_FALSE(nl.ok());
  EXPECT_EQ(nl.error().code, Errc::invalid_argument);
  EXPECT_EQ(nl.error().message, "a record is one line: newline at byte 3");
  auto bad = c->add(1, std::string("a\xff", 2));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "a record must be valid UTF-8");
  auto nul = c->add(2, std::string("a\0b", 3));
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().message, "a record must not contain NUL (byte 1)");
  auto big = c->add(0, std::string(5000, 'x'));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().message, "a record of 5000 bytes is above the limit of 4096 (records.max_bytes)");
  auto cli = c->minga({"records", "add", ""});
  EXPECT_EQ(cli.exit_code, 2);
  EXPECT_EQ(cli.err, "error: a record must not be empty\n");
  // Nothing was stored.
  auto l = c->list(0, false);
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->empty());
}

// Eight clients append while the leader is killed: a new leader comes
// within 2 s, and every acknowledged record is then on every node exactly
// once, in one order.
TEST(Cluster, LeaderKilledUnderLoadLosesNoAcknowledgedRecord) {
  auto c = RaftCluster::start(3);
  const std::size_t old_leader = *c->wait_leader();
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> acked;
  std::set<std::string> unknown;  // sent, no answer: may or may not be in
  std::map<std::string, std::string> refused;
  std::vector<std::thread> clients;
  for (int k = 0; k < 8; ++k) {
    clients.emplace_back([&, k] {
      std::mt19937 rng(static_cast<unsigned>(k));
      for (int i = 0; !stop; ++i) {
        const std::string text = "c" + std::to_string(k) + "-" + std::to_string(i);
        std::size_t node = rng() % 3;
        if (node == old_leader && k % 2 == 0) node = (node + 1) % 3;  // half the clients avoid the leader
        auto r = c->add(node, text);
        std::lock_guard lock(mu);
        if (r.ok()) {
          acked.push_back(text);
        } else if (r.error().code == Errc::not_leader ||
                   r.error().message.rfind("cannot reach", 0) == 0) {  // refused, or never sent
          refused.emplace(text, r.error().message);
          std::this_thread::sleep_for(20ms);
        } else {
          unknown.insert(text);  // timeout or lost connection: the outcome is unknown
        }
      }
    });
  }
  std::this_thread::sleep_for(700ms);
  const auto killed_at = Clock::now();
  c->kill(old_leader);
  const auto next = c->wait_leader(5s, old_leader);
  const auto elected_after = Clock::now() - killed_at;
  ASSERT_TRUE(next);
  EXPECT_LT(elected_after, 2s) << "a new leader took "
                               << std::chrono::duration_cast<std::chrono::milliseconds>(elected_after).count() << " ms";
  std::size_t acked_at_kill = 0;
  {
    std::lock_guard lock(mu);
    acked_at_kill = acked.size();
  }
  std::this_thread::sleep_for(700ms);
  stop = true;
  for (auto& t : clients) t.join();
  c->restart(old_leader);

  ASSERT_GT(acked_at_kill, 20u) << "the load did not run before the kill";
  auto full = c->list(*next, false);
  ASSERT_TRUE(full.ok()) << full.error().message;
  std::map<std::string, int> seen;
  for (const auto& t : full.value()) ++seen[t];
  for (const auto& [t, n] : seen) EXPECT_EQ(n, 1) << t << " is stored " << n << " times";
  for (const auto& t : acked) EXPECT_EQ(seen.count(t), 1u) << "acknowledged " << t << " is missing";
  for (const auto& [t, n] : seen) {
    EXPECT_TRUE(std::find(acked.begin(), acked.end(), t) != acked.end() || unknown.contains(t))
        << t << " is stored but was refused: " << refused[t];
  }
  // The same list, in the same order, on every node (the restarted one too).
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(c->wait_list(i, full.value(), 15s)) << c->member(i).id;
  // The writes went on after the kill.
  EXPECT_GT(acked.size(), acked_at_kill);
}

TEST(Cluster, PausedLeaderIsReplacedAndStepsDownWhenResumed) {
  auto c = RaftCluster::start(3);
  const std::size_t old_leader = *c->wait_leader();
  ASSERT_TRUE(c->add(old_leader, "before").ok());
  c->pause(old_leader);
  const auto next = c->wait_leader(5s, old_leader);
  ASSERT_TRUE(next);
  ASSERT_NE(*next, old_leader);
  // A write and a linearizable read sent to the paused node wait; meanwhile
  // the others commit.
  Process stuck_write = Process::spawn({minga_binary(), "--server", c->address(old_leader), "--timeout", "20",
                                        "records", "add", "sent to the paused node"});
  ASSERT_TRUE(c->add(*next, "during").ok());
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(stuck_write.running()) << "the paused node answered: " << stuck_write.out() << stuck_write.err();
  c->resume(old_leader);
  // It steps down and follows the new leader.
  const auto deadline = Clock::now() + 5s;
  bool follows = false;
  while (Clock::now() < deadline && !follows) {
    auto s = c->status(old_leader);
    follows = s.ok() && s->role() == "follower" && s->leader() == c->member(*next).id;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(follows);
  // The stuck write completes through the new leader (its old-term entry
  // was never committed), exactly once and after "during".
  ASSERT_EQ(stuck_write.wait(25s), 0) << stuck_write.err();
  const std::vector<std::string> want = {"before", "during", "sent to the paused node"};
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(c->wait_list(i, want)) << c->member(i).id;
}

TEST(Cluster, RestartedNodeCatchesUpFromTheLog) {
  auto c = RaftCluster::start(3);
  const std::size_t leader = *c->wait_leader();
  const std::size_t follower = (leader + 1) % 3;
  ASSERT_TRUE(c->add(leader, "r1").ok());
  c->kill(follower);
  for (int i = 2; i <= 10; ++i) ASSERT_TRUE(c->add(leader, "r" + std::to_string(i)).ok());
  c->restart(follower);
  EXPECT_TRUE(c->wait_list(follower, numbered("r", 10)));
  // Every node recovers its list after a kill -9 of all of them.
  for (std::size_t i = 0; i < 3; ++i) c->kill(i);
  for (std::size_t i = 0; i < 3; ++i) c->restart(i);
  ASSERT_TRUE(c->wait_leader());
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(c->wait_list(i, numbered("r", 10))) << c->member(i).id;
}

TEST(Cluster, FarBehindNodeCatchesUpFromASnapshot) {
  auto c = RaftCluster::start(3, {"--raft-snapshot-entries", "20"});
  const std::size_t leader = *c->wait_leader();
  const std::size_t follower = (leader + 1) % 3;
  c->kill(follower);
  for (int i = 1; i <= 60; ++i) ASSERT_TRUE(c->add(leader, "s" + std::to_string(i)).ok());
  ASSERT_TRUE(c->member(leader).proc.wait_for_output("action: snapshot | result: success", 10s));
  c->restart(follower);
  EXPECT_TRUE(c->wait_list(follower, numbered("s", 60)));
  EXPECT_TRUE(c->member(follower).proc.wait_for_output("action: snapshot_install | result: success", 5s))
      << c->member(follower).proc.err();
}

// A snapshot larger than a peer frame may be (8 MiB) reaches a far-behind
// node in 1 MiB chunks, assembled in a temporary file that is gone once the
// snapshot is installed; the node then holds every record.
TEST(Cluster, FarBehindNodeCatchesUpFromASnapshotLargerThanAFrameInChunks) {
  ::setenv("MINGA_RECORDS_MAX_BYTES", "60000", 1);
  struct Unset {
    ~Unset() { ::unsetenv("MINGA_RECORDS_MAX_BYTES"); }
  } unset;
  auto c = RaftCluster::start(3, {"--raft-snapshot-entries", "20"});
  const std::size_t leader = *c->wait_leader();
  const std::size_t follower = (leader + 1) % 3;
  c->kill(follower);
  std::vector<std::string> want;
  for (int i = 1; i <= 200; ++i) {
    std::string text = "big" + std::to_string(i) + "-";
    text.append(59000, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(c->add(leader, text).ok()) << i;
    want.push_back(std::move(text));
  }
  c->restart(follower);
  EXPECT_TRUE(c->wait_list(follower, want, 30s));
  Process& f = c->member(follower).proc;
  ASSERT_TRUE(f.wait_for_output("action: snapshot_install | result: success", 5s)) << f.err();
  // The transfer that completed: more than 8 MiB, in more than 8 chunks.
  const std::string err = f.err();
  const auto at = err.find("action: snapshot_receive | result: success");
  ASSERT_NE(at, std::string::npos) << err;
  const std::string line = err.substr(at, err.find('\n', at) - at);
  auto field = [&line](const std::string& name) {
    const auto p = line.find("| " + name + ": ");
    return p == std::string::npos ? 0ull : std::stoull(line.substr(p + name.size() + 4));
  };
  EXPECT_GT(field("bytes"), 8ull << 20) << line;
  EXPECT_GT(field("chunks"), 8ull) << line;
  EXPECT_FALSE(std::filesystem::exists(c->member(follower).data_dir + "/raft/snapshot.incoming.tmp"));
  // It goes on replicating after the install.
  ASSERT_TRUE(c->add(leader, "after").ok());
  want.push_back("after");
  EXPECT_TRUE(c->wait_list(follower, want));
}

// One server at a time: a fourth node joins under write load as a learner
// and becomes a voter; leadership moves to it on request; the leader then
// removes itself and the rest go on committing.
TEST(Cluster, MembershipAddUnderLoadTransferAndRemoveTheLeader) {
  auto c = RaftCluster::start(3);
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  // The writer keeps its own copy of the addresses: the member list grows.
  const std::vector<std::string> addresses = {c->address(0), c->address(1), c->address(2)};
  std::thread writer([&stop, &written, addresses] {
    for (int i = 1; !stop; ++i) {
      if (RaftCluster::add_to(addresses[static_cast<std::size_t>(i) % 3], "w" + std::to_string(i)).ok()) ++written;
    }
  });
  const std::size_t n4 = c->start_joining();
  auto add = c->minga({"cluster", "add", c->member(n4).id, "127.0.0.1:" + std::to_string(c->member(n4).raft)});
  EXPECT_EQ(add.exit_code, 0) << add.err;
  EXPECT_NE(add.out.find("n4 added as a learner"), std::string::npos) << add.out;
  // It catches up and is promoted.
  const auto deadline = Clock::now() + 10s;
  bool voter = false;
  while (Clock::now() < deadline && !voter) {
    auto s = c->status(*c->wait_leader());
    if (s.ok()) {
      for (const auto& m : s->members()) voter = voter || (m.id() == "n4" && m.voter() && m.lag_entries() < 5);
    }
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(voter);
  stop = true;
  writer.join();
  EXPECT_GT(written.load(), 0);
  auto all = c->list(0, false);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_TRUE(c->wait_list(n4, all.value()));

  auto transfer = c->minga({"cluster", "transfer", "n4"});
  EXPECT_EQ(transfer.exit_code, 0) << transfer.err;
  // The answer comes when the transfer starts; n4 leads soon after.
  const auto transfer_deadline = Clock::now() + 5s;
  std::optional<std::size_t> leader;
  while (Clock::now() < transfer_deadline && (!leader || *leader != n4)) {
    leader = c->wait_leader(1s);
    if (!leader || *leader != n4) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(leader);
  EXPECT_EQ(c->member(*leader).id, "n4");

  auto remove = c->minga({"cluster", "remove", "n4"});
  EXPECT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_EQ(remove.out.rfind("n4 removed at log index ", 0), 0u) << remove.out;
  const auto next = c->wait_leader(5s, n4);
  ASSERT_TRUE(next);
  ASSERT_TRUE(c->add(*next, "after the removal").ok());
  auto s = c->status(*next);
  ASSERT_TRUE(s.ok());
  std::size_t voters = 0;
  for (const auto& m : s->members()) voters += m.voter() ? 1 : 0;
  EXPECT_EQ(voters, 3u);
  // Refusals name the problem.
  auto again = c->minga({"cluster", "add", "n1", "127.0.0.1:1"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, "error: 'n1' is already a member\n");
  auto unknown = c->minga({"cluster", "remove", "n9"});
  EXPECT_EQ(unknown.err, "error: 'n9' is not a member\n");
}

TEST(Cluster, ASecondNodeWithAnIdAlreadyInTheClusterIsRefusedAndExits) {
  auto c = RaftCluster::start(3);
  TempDir dir;
  std::string peers;
  for (std::size_t i = 0; i < 3; ++i) {
    if (i != 1)
      peers += (peers.empty() ? "" : ",") + c->member(i).id + "=127.0.0.1:" + std::to_string(c->member(i).raft);
  }
  Process twin =
      Process::spawn({minga_binary(), "node", "--id", c->member(1).id, "--port", "0", "--raft-port",
                      std::to_string(free_port()), "--monitor-port", "0", "--data-dir", dir.str(), "--peers", peers});
  EXPECT_EQ(twin.wait(10s), 1) << twin.err();
  EXPECT_NE(twin.err().find("action: node_start | result: fail | reason: node id 'n2' is already in the cluster (at "
                            "127.0.0.1:" +
                            std::to_string(c->member(1).raft) + ")"),
            std::string::npos)
      << twin.err();
  // The cluster is untouched.
  ASSERT_TRUE(c->add(1, "after the twin").ok());
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(c->wait_list(i, {"after the twin"})) << c->member(i).id;
}

TEST(Cluster, GarbageOnTheRaftPortClosesThatConnectionAndTheClusterKeepsCommitting) {
  auto c = RaftCluster::start(3);
  const std::size_t leader = *c->wait_leader();
  const std::size_t follower = (leader + 1) % 3;
  {
    RawConnection garbage(c->member(follower).raft);
    ASSERT_TRUE(garbage.ok());
    garbage.send("GET / HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(garbage.closed_by_peer(5s));
  }
  {
    // A frame header announcing a body above the limit.
    RawConnection huge(c->member(follower).raft);
    std::string frame("\xF9\x4D\x01\x00", 4);
    frame += std::string("\xFF\xFF\xFF\x7F", 4);  // body_bytes ~2 GiB
    frame += std::string("\x90\x01\x00\x00", 4);  // type 400
    frame += std::string(8, '\0');
    huge.send(frame);
    EXPECT_TRUE(huge.closed_by_peer(5s));
  }
  {
    // A hello that names another node.
    RawConnection wrong(c->member(follower).raft);
    pb::PeerHello hello;
    hello.set_from("intruder");
    hello.set_to("nobody");
    hello.set_nonce(std::string(16, 'x'));
    std::string body = hello.SerializeAsString();
    std::string frame("\xF9\x4D\x01\x00", 4);
    for (int i = 0; i < 4; ++i) frame += static_cast<char>((body.size() >> (8 * i)) & 0xFF);
    frame += std::string("\x90\x01\x00\x00", 4);
    frame += std::string(8, '\0');
    wrong.send(frame + body);
    EXPECT_TRUE(wrong.closed_by_peer(5s));
  }
  {
    // A truncated frame, then silence: dropped at the read deadline at the latest.
    RawConnection truncated(c->member(follower).raft);
    truncated.send(std::string("\xF9\x4D\x01", 3));
  }
  EXPECT_TRUE(c->member(follower).proc.wait_for_output("action: peer_handshake | result: fail", 5s));
  EXPECT_NE(c->member(follower).proc.err().find("the hello is for node 'nobody', this is '" + c->member(follower).id),
            std::string::npos);
  ASSERT_TRUE(c->add(follower, "still committing").ok());
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(c->wait_list(i, {"still committing"})) << c->member(i).id;
}

TEST(Cluster, PeersWithTheWrongSecretAreRefused) {
  TempDir dir;
  const auto write = [&](const std::string& name, const std::string& secret) {
    const auto p = dir.path() / name;
    FILE* f = std::fopen(p.c_str(), "w");
    std::fputs(secret.c_str(), f);
    std::fclose(f);
    return p.string();
  };
  const std::string good = write("good", "a-cluster-secret-of-some-length\n");
  const std::string bad = write("bad", "another-secret-entirely-wrong\n");
  // Two nodes that share the secret form a cluster of three with a third
  // that does not: the pair commits, the third is refused.
  std::vector<std::uint16_t> client, raft;
  for (int i = 0; i < 3; ++i) {
    client.push_back(free_port());
    raft.push_back(free_port());
  }
  std::vector<Process> nodes;
  for (int i = 0; i < 3; ++i) {
    std::string peers;
    for (int j = 0; j < 3; ++j) {
      if (j != i)
        peers += (peers.empty() ? "" : ",") + ("n" + std::to_string(j + 1)) + "=127.0.0.1:" + std::to_string(raft[j]);
    }
    nodes.push_back(Process::spawn({minga_binary(), "node", "--id", "n" + std::to_string(i + 1), "--port",
                                    std::to_string(client[i]), "--raft-port", std::to_string(raft[i]), "--monitor-port",
                                    "0", "--data-dir", (dir.path() / ("d" + std::to_string(i))).string(), "--peers",
                                    peers, "--cluster-secret-file", i == 2 ? bad : good}));
  }
  for (auto& n : nodes) ASSERT_TRUE(n.wait_for_output("action: node_start | result: success", 15s)) << n.err();
  EXPECT_TRUE(nodes[0].wait_for_output("the hello does not prove the cluster secret", 10s)) << nodes[0].err();
  EXPECT_TRUE(nodes[2].wait_for_output("the hello does not prove the cluster secret", 10s)) << nodes[2].err();
  auto r = run_minga({"--server", "127.0.0.1:" + std::to_string(client[0]), "records", "add", "secret club"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
  // The outsider never hears of it.
  auto l = run_minga({"--server", "127.0.0.1:" + std::to_string(client[2]), "records", "ls", "--stale"});
  EXPECT_EQ(l.out, "");
  EXPECT_NE(nodes[0].err().find("authentication: cluster secret"), std::string::npos);
}

// The membership comes from --peers on the first start only; a later start
// that disagrees is warned about and changes nothing.
TEST(Cluster, PeersThatDisagreeWithTheRecoveredMembershipAreWarnedAboutNotUsed) {
  TempDir dir;
  const std::string data = (dir.path() / "data").string();
  {
    auto n = NodeProcess::start({"--data-dir", data, "--id", "solo"});
    ASSERT_EQ(run_minga({"--server", n.address(), "records", "add", "uno"}).out, "1\n");
    n.process().signal(SIGTERM);
    ASSERT_EQ(n.process().wait(10s), 0);
  }
  auto again = NodeProcess::start({"--data-dir", data, "--id", "solo", "--peers", "other=127.0.0.1:1"});
  const std::string log = again.process().err();
  EXPECT_NE(log.find("action: cluster_members | result: fail | reason: --peers disagrees with the membership "
                     "recovered from " +
                     data + "/raft; using the recovered one"),
            std::string::npos)
      << log;
  // Still a cluster of one: it commits alone.
  auto r = run_minga({"--server", again.address(), "records", "add", "dos"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2\n");
  // And a data dir is tied to its node id.
  again.process().signal(SIGTERM);
  ASSERT_EQ(again.process().wait(10s), 0);
  auto other = run_minga({"node", "--data-dir", data, "--id", "someone-else", "--port", "0", "--monitor-port", "0"}, {},
                         "", 10s);
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("the data dir " + data + " belongs to node 'solo', not 'someone-else'"), std::string::npos)
      << other.err;
}

// `minga node` alone is a cluster of one through the same Raft path, and
// what it acknowledged survives kill -9.
TEST(Cluster, SingleNodeCommitsThroughRaftAndSurvivesKill9) {
  TempDir dir;
  const std::string data = (dir.path() / "data").string();
  auto n = NodeProcess::start({"--data-dir", data});
  EXPECT_NE(n.process().err().find("authentication: none (Raft port on loopback only)"), std::string::npos);
  auto a = run_minga({"--server", n.address(), "records", "add", "one"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, "1\n");
  ASSERT_EQ(run_minga({"--server", n.address(), "records", "add", "two"}).out, "2\n");
  n.process().signal(SIGKILL);
  n.process().wait(5s);
  auto again = NodeProcess::start({"--data-dir", data});
  auto ls = run_minga({"--server", again.address(), "records", "ls"});
  EXPECT_EQ(ls.out, "1\tone\n2\ttwo\n");
  // The id was generated on the first start and kept.
  const std::string log = again.process().err();
  EXPECT_NE(log.find("| id: node-"), std::string::npos) << log;
  EXPECT_NE(log.find("info  [node-"), std::string::npos) << log;  // and the log lines carry it
  // So do the answers of the tasks it runs.
  auto parts = run_minga({"--server", again.address(), "-o", "json", "sumsq", "9"});
  EXPECT_NE(parts.out.find(R"("worker":"node-)"), std::string::npos) << parts.out;
}

// `minga bench failover` starts its own cluster, kills its leader each round
// and prints the percentiles; here two rounds, in JSON.
TEST(Cluster, BenchFailoverTimesLeaderKills) {
  auto r = run_minga({"-o", "json", "bench", "failover", "--rounds", "2", "--writers", "2"}, {}, "", 60s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind(R"({"ok":true,"rounds":2,"p50_ms":)", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(R"("samples_ms":[)"), std::string::npos) << r.out;
  auto bad = run_minga({"bench", "failover", "--rounds", "0"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "error: --rounds, --writers and --round-timeout must be positive\n");
}

}  // namespace
}  // namespace minga::testing
