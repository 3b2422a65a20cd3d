// Linearizability of a real-process history: clients append to and read
// records on random nodes of a proxied 3-node cluster while a nemesis kills
// (-9, then restarts), pauses (SIGSTOP/SIGCONT) and partitions nodes. Then
// the cluster is healed, every node must hold one list, and the history is
// checked against it (history.h).
//
// Environment: MINGA_CHAOS_SECONDS (default 12) how long the nemesis runs;
// MINGA_CHAOS_SEED (default: random) seeds every random choice (the
// nemesis's and each client's; timing stays the machine's);
// MINGA_CHAOS_CLIENTS (default 4); MINGA_CHAOS_DIR (default /tmp) where a
// failed run writes its history; MINGA_CHAOS_STALE_READS=1 reads each
// node's own copy (--stale) instead: not linearizable, so such a run should
// fail (it shows the whole path, from history to file, catching a stale
// read). `make chaos DURATION=…` runs it.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "history.h"
#include "raft_cluster.h"

namespace minga::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// Nanoseconds since the first call (the run's start), on the steady clock.
std::int64_t now_ticks() {
  static const Clock::time_point start = Clock::now();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

// A value of the history as a record's text, and back; text that is not one
// becomes a value no client sent (never_sent fires).
std::string text_of(std::uint64_t value) { return "v" + std::to_string(value); }
std::uint64_t value_of(const std::string& text, std::uint64_t position) {
  if (text.size() < 2 || text[0] != 'v' || text.find_first_not_of("0123456789", 1) != std::string::npos) {
    return ~std::uint64_t{0} - position;
  }
  return std::strtoull(text.c_str() + 1, nullptr, 10);
}

constexpr auto kCallTimeout = 2s;

// One client: its own connection to each node, one request at a time.
class ChaosClient {
 public:
  ChaosClient(const RaftCluster& c, int id, std::uint64_t seed, bool stale_reads)
      : c_(c), id_(id), rng_(seed), stale_reads_(stale_reads) {}

  void run(const std::atomic<bool>& stop, std::vector<HistoryOp>& out) {
    for (std::uint64_t seq = 1; !stop; ++seq) {
      const std::size_t node = rng_() % c_.size();
      const bool append = rng_() % 10 < 7;
      HistoryOp op;
      op.client = id_;
      op.node = node;
      op.kind = append ? HistoryOp::Kind::append : HistoryOp::Kind::read;
      op.value = static_cast<std::uint64_t>(id_ + 1) * 1'000'000'000 + seq;  // readable: client, then sequence
      net::Client* conn = connection(node);
      op.invoked = now_ticks();
      if (conn == nullptr) {
        // Never sent: an append that is refused for sure; a read says nothing.
        op.completed = now_ticks();
        op.outcome = HistoryOp::Outcome::refused;
        if (append) out.push_back(std::move(op));
        std::this_thread::sleep_for(10ms);  // the node is down: do not spin
        continue;
      }
      append ? do_append(*conn, op) : do_read(*conn, op);
      const HistoryOp::Outcome outcome = op.outcome;
      if (outcome != HistoryOp::Outcome::ok) conns_.erase(node);  // a late answer must not be taken for the next
      if (append || outcome == HistoryOp::Outcome::ok) out.push_back(std::move(op));
      if (outcome == HistoryOp::Outcome::refused) std::this_thread::sleep_for(10ms);
    }
  }

 private:
  net::Client* connection(std::size_t node) {
    if (auto it = conns_.find(node); it != conns_.end()) return &it->second;
    auto c = net::Client::connect(net::parse_endpoint(c_.address(node)).value(), 500ms);
    if (!c.ok()) return nullptr;
    return &conns_.emplace(node, std::move(c.value())).first->second;
  }

  static bool refused(const Error& e) {
    // Answers that say the append was not, and will not be, applied.
    return e.code == Errc::not_leader || e.code == Errc::busy || e.code == Errc::invalid_argument ||
           e.code == Errc::not_yet;
  }

  void do_append(net::Client& conn, HistoryOp& op) {
    pb::RecordsAddRequest req;
    req.set_text(text_of(op.value));
    auto r = conn.call<pb::RecordsAddResponse>(pb::RECORDS_ADD_REQUEST, req, pb::RECORDS_ADD_RESPONSE, kCallTimeout);
    op.completed = now_ticks();
    if (r.ok()) {
      op.outcome = HistoryOp::Outcome::ok;
      op.index = r->index();
    } else {
      op.outcome = refused(r.error()) ? HistoryOp::Outcome::refused : HistoryOp::Outcome::unknown;
    }
  }

  void do_read(net::Client& conn, HistoryOp& op) {
    pb::RecordsListRequest req;
    req.set_stale(stale_reads_);
    op.outcome = HistoryOp::Outcome::unknown;
    op.digest = kEmptyDigest;
    for (;;) {
      auto r =
          conn.call<pb::RecordsListResponse>(pb::RECORDS_LIST_REQUEST, req, pb::RECORDS_LIST_RESPONSE, kCallTimeout);
      if (!r.ok()) return;
      for (const auto& rec : r->records()) {
        // A gap or a repeat in the indexes is a wrong answer: a value no
        // client sent stands in for it, so the read cannot pass as a prefix.
        const std::uint64_t value =
            rec.index() == op.length + 1 ? value_of(rec.text(), rec.index()) : ~std::uint64_t{0};
        op.digest = extend_digest(op.digest, value);
        ++op.length;
        req.set_after(rec.index());
      }
      if (!r->more()) break;
    }
    op.completed = now_ticks();
    op.outcome = HistoryOp::Outcome::ok;
  }

  const RaftCluster& c_;
  int id_;
  std::mt19937_64 rng_;
  bool stale_reads_;
  std::map<std::size_t, net::Client> conns_;
};

// One fault at a time, on the leader half the time: a quorum always remains.
struct Nemesis {
  RaftCluster& c;
  std::mt19937_64 rng;
  std::map<std::string, int> done;

  std::chrono::milliseconds between(int lo_ms, int hi_ms) {
    return std::chrono::milliseconds(lo_ms + static_cast<int>(rng() % static_cast<std::uint64_t>(hi_ms - lo_ms)));
  }

  void step() {
    std::size_t target = rng() % c.size();
    if (rng() % 2 == 0) {
      if (auto l = c.wait_leader(1s)) target = *l;
    }
    const auto hold = between(300, 1500);
    switch (rng() % 5) {
      case 0:
        c.kill(target);
        std::this_thread::sleep_for(hold);  // the fault's length, not a wait for anything
        c.restart(target);
        ++done["kill"];
        break;
      case 1:
        c.pause(target);
        std::this_thread::sleep_for(hold);
        c.resume(target);
        ++done["pause"];
        break;
      case 2:
        c.net()->isolate({target});
        std::this_thread::sleep_for(hold);
        c.net()->heal();
        ++done["partition"];
        break;
      case 3: {
        // One way: the node hears nothing, or nothing it sends arrives.
        std::set<std::size_t> others;
        for (std::size_t i = 0; i < c.size(); ++i) {
          if (i != target) others.insert(i);
        }
        c.net()->isolate(rng() % 2 ? std::set<std::size_t>{target} : others, /*one_way=*/true);
        std::this_thread::sleep_for(hold);
        c.net()->heal();
        ++done["one_way"];
        break;
      }
      default:
        c.net()->drop_between({target});
        std::this_thread::sleep_for(hold);
        c.net()->heal();
        ++done["drop"];
        break;
    }
  }
};

// Waits until every node's own list equals a linearizable read; returns it.
std::optional<std::vector<std::string>> converged_list(const RaftCluster& c, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    const auto leader = c.wait_leader(5s);
    if (!leader) continue;
    auto full = c.list(*leader, false);
    if (!full.ok()) continue;
    bool all = true;
    for (std::size_t i = 0; i < c.size() && all; ++i) {
      auto mine = c.list(i, true);
      all = mine.ok() && mine.value() == full.value();
    }
    if (all) return full.value();
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

TEST(ClusterChaos, ConcurrentClientsUnderKillsPausesAndPartitionsStayLinearizable) {
  const std::uint64_t seed = env_number("MINGA_CHAOS_SEED", std::random_device{}());
  const auto seconds = std::chrono::seconds(env_number("MINGA_CHAOS_SECONDS", 12));
  const int clients = static_cast<int>(env_number("MINGA_CHAOS_CLIENTS", 4));
  const bool stale_reads = env_number("MINGA_CHAOS_STALE_READS", 0) != 0;
  const char* dir = std::getenv("MINGA_CHAOS_DIR");
  std::cout << "chaos: seed " << seed << ", " << seconds.count() << " s, " << clients << " clients"
            << (stale_reads ? ", stale reads" : "") << " (replay the choices with MINGA_CHAOS_SEED=" << seed << ")"
            << std::endl;
  RecordProperty("seed", std::to_string(seed));
  now_ticks();

  auto c = RaftCluster::start_proxied(3);
  std::atomic<bool> stop{false};
  std::vector<std::vector<HistoryOp>> per_client(static_cast<std::size_t>(clients));
  std::vector<std::thread> threads;
  for (int k = 0; k < clients; ++k) {
    threads.emplace_back([&, k] {
      ChaosClient client(*c, k, seed * 1000003 + static_cast<std::uint64_t>(k) + 1, stale_reads);
      client.run(stop, per_client[static_cast<std::size_t>(k)]);
    });
  }
  Nemesis nemesis{*c, std::mt19937_64(seed), {}};
  std::string nemesis_error;
  try {
    const auto end = Clock::now() + seconds;
    while (Clock::now() < end) {
      std::this_thread::sleep_for(nemesis.between(200, 800));  // calm between faults
      nemesis.step();
    }
  } catch (const std::exception& e) {
    nemesis_error = e.what();  // the clients are stopped and joined first
  }
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_EQ(nemesis_error, "") << "seed " << seed;

  const auto final_text = converged_list(*c, 60s);
  ASSERT_TRUE(final_text) << "the nodes did not converge on one list within 60 s of healing (seed " << seed << ")";
  std::vector<std::uint64_t> final_list;
  for (std::size_t i = 0; i < final_text->size(); ++i) final_list.push_back(value_of((*final_text)[i], i + 1));
  std::vector<HistoryOp> history;
  for (auto& ops : per_client) history.insert(history.end(), ops.begin(), ops.end());
  std::sort(history.begin(), history.end(), [](const auto& a, const auto& b) { return a.invoked < b.invoked; });

  std::map<std::string, int> counts;
  for (const auto& op : history) {
    const char* outcome = op.outcome == HistoryOp::Outcome::ok        ? "ok"
                          : op.outcome == HistoryOp::Outcome::unknown ? "unknown"
                                                                      : "refused";
    ++counts[std::string(op.kind == HistoryOp::Kind::append ? "append " : "read ") + outcome];
  }
  std::cout << "chaos: " << history.size() << " operations, final list of " << final_list.size() << " records;";
  for (const auto& [k, n] : counts) std::cout << " " << k << "=" << n;
  std::cout << "; faults:";
  for (const auto& [k, n] : nemesis.done) std::cout << " " << k << "=" << n;
  std::cout << std::endl;

  const auto violation = check_history(history, final_list);
  if (violation) {
    const std::string path =
        std::string(dir != nullptr ? dir : "/tmp") + "/minga-chaos-" + std::to_string(seed) + ".history";
    std::ofstream(path) << "# seed " << seed << "\n# " << rule_name(violation->rule) << ": " << violation->detail
                        << "\n"
                        << format_history(history, final_list);
    std::cout << "chaos: the history is in " << path << std::endl;
    FAIL() << rule_name(violation->rule) << ": " << violation->detail << " (seed " << seed << ", history in " << path
           << ")";
  }
  // The run meant something: writes and reads were acknowledged.
  EXPECT_GE(counts["append ok"], 20) << "seed " << seed;
  EXPECT_GE(counts["read ok"], 5) << "seed " << seed;
}

}  // namespace
}  // namespace minga::testing
