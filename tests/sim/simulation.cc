#include "sim/simulation.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "base/assert.h"
#include "base/random.h"
#include "sim/checker.h"
#include "sim/model.h"
#include "sim/network.h"
#include "sim/node.h"

namespace minga::sim {
namespace {

constexpr std::size_t kClients = 3;
constexpr std::uint64_t kClientTimeoutSteps = 40;

// How hard the nemesis hits in one run (chosen per seed: some runs are
// calm, some are storms). Rates are per mille per step unless noted.
struct Profile {
  std::uint64_t crash = 0;
  std::uint64_t crash_in_write = 0;    // per delivery that leaves a write pending
  std::uint64_t crash_in_vote = 0;     // ... a write of a new term or vote
  std::uint64_t new_leader_fault = 0;  // per new leader: crash or cut it off soon
  std::uint64_t partition = 0;
  std::uint64_t partition_max_steps = 0;
  std::uint64_t drop_max = 0;  // per mille of messages, upper bound of the weather
  std::uint64_t disk_fault = 0;
};

struct Client {
  std::optional<std::uint64_t> op;
  std::uint64_t deadline = 0;
  std::uint64_t target = 1;
};

class World final : public NodeHooks {
 public:
  World(const SimOptions& opt, std::ostream* trace)
      : opt_(opt), rng_(opt.seed), net_(rng_), checker_(opt.nodes), trace_(trace) {
    MINGA_ASSERT(opt.nodes >= 1 && opt.nodes <= 9, "1 to 9 nodes");
    raft::Membership all;
    for (std::uint64_t id = 1; id <= opt.nodes; ++id) all.voters.insert(raft::NodeId{id});
    // Flow-control limits vary per run: small messages split batches, so
    // that acknowledgments can cover old entries without the new leader's.
    raft::Config rc;
    rc.bugs = opt.bugs;
    rc.heartbeat_interval_ticks = static_cast<std::uint32_t>(rng_.uniform(1, 3));
    constexpr std::size_t kMessageBytes[] = {1, 100, 1000, 64 << 10};  // 1: one entry per message
    rc.max_message_bytes = kMessageBytes[rng_.uniform(0, 3)];
    rc.max_inflight_messages = rng_.uniform(1, 16);
    rc.auto_promote_learners = rng_.chance(1, 2);  // otherwise the nemesis promotes
    for (std::uint64_t id = 1; id <= opt.nodes; ++id) {
      NodeOptions no;
      no.id = id;
      no.raft = rc;
      no.ack_before_sync = opt.ack_before_sync;
      no.read_without_read_index = opt.read_without_read_index;
      no.compact_every_entries = rng_.uniform(10, 60);
      nodes_.push_back(std::make_unique<SimNode>(no, *this, all));
      clock_rate_.push_back(rng_.uniform(700, 1300));
      clock_acc_.push_back(rng_.uniform(0, 999));
      restart_at_.push_back(0);
      leader_term_.push_back(0);
    }
    for (auto& n : nodes_) (void)n->restart(rng_.next());
    for (auto& c : clients_) c.target = rng_.uniform(1, opt.nodes);
    const std::uint64_t storm = rng_.uniform(1, 4);
    profile_ = Profile{.crash = 2 * storm,
                       .crash_in_write = storm,
                       .crash_in_vote = 30 * storm,
                       .new_leader_fault = 150 * storm,
                       .partition = 4 * storm,
                       .partition_max_steps = 240 / storm,
                       .drop_max = 40 * storm,
                       .disk_fault = storm};
    log("profile: storm " + num(storm) + ", heartbeat " + num(rc.heartbeat_interval_ticks) + " ticks, message " +
        num(rc.max_message_bytes) + " bytes, inflight " + num(rc.max_inflight_messages));
    set_weather();
  }

  SimResult run();

  // NodeHooks
  void send(raft::Message m) override {
    checker_.on_send(m);
    net_.send(now_, std::move(m));
  }
  void on_entries(std::uint64_t node, const std::vector<raft::Entry>& es, raft::Term prev) override {
    checker_.on_entries(node, es, prev);
  }
  void on_apply(std::uint64_t node, const raft::Entry& e, std::uint64_t h) override { checker_.on_apply(node, e, h); }
  void on_install(std::uint64_t node, const raft::SnapshotMeta& m, std::uint64_t h) override {
    ++stats_.snapshots_installed;
    log("node " + num(node) + " installs snapshot at " + num(m.index.value));
    checker_.on_install(node, m, h);
  }
  void on_reply(std::uint64_t op, std::vector<std::uint64_t> result) override;
  void trace(const std::string& line) override { log(line); }
  void on_fail_stop(std::uint64_t node, const Status& recovered) override {
    ++stats_.crashes;
    ++stats_.disk_faults;
    after_crash(node, recovered);
  }

 private:
  static std::string num(std::uint64_t v) { return std::to_string(v); }
  void log(const std::string& line) {
    if (trace_ != nullptr) *trace_ << "[" << now_ << "] " << line << "\n";
  }
  bool failed() const { return !checker_.ok() || !violation_.empty(); }
  void check();
  void step(bool chaos);
  void deliver_and_tick();
  void nemesis();
  void leader_fault();
  void set_weather();
  void start_partition();
  void change_membership();
  void crash(std::uint64_t id);
  void replace_server(std::uint64_t id);
  void after_crash(std::uint64_t id, const Status& recovered);
  void restart(std::uint64_t id);
  void run_clients();
  void issue(Client& c);
  SimNode* leader();
  SimNode& node(std::uint64_t id) { return *nodes_[id - 1]; }

  SimOptions opt_;
  Random rng_;
  Network net_;
  Checker checker_;
  std::ostream* trace_;
  std::vector<std::unique_ptr<SimNode>> nodes_;
  std::vector<std::uint64_t> clock_rate_;  // ticks per 1000 steps
  std::vector<std::uint64_t> clock_acc_;
  std::vector<std::uint64_t> restart_at_;  // 0: not scheduled
  Profile profile_;
  std::vector<std::uint64_t> leader_term_;  // per node: the last term it was seen leading
  std::uint64_t leader_fault_at_ = 0;       // 0: none scheduled
  std::uint64_t leader_fault_node_ = 0;
  std::uint64_t partition_until_ = 0;
  std::uint64_t now_ = 0;
  std::uint64_t seq_ = 0;  // orders invocations and completions
  std::uint64_t next_op_ = 0;
  std::uint64_t heal_seq_ = 0;
  bool chaos_ = false;
  bool liveness_append_ = false;
  bool liveness_read_ = false;
  Client clients_[kClients];
  std::vector<Op> history_;
  std::map<std::uint64_t, std::size_t> op_index_;
  SimStats stats_;
  std::string violation_;
};

void World::check() {
  if (failed()) return;
  std::vector<NodeView> views;
  for (auto& n : nodes_) views.push_back(NodeView{n->core(), &n->durable_log()});
  checker_.after_event(views);
  // A leader that fails right after its election leaves entries of its
  // term on few nodes: the histories of the paper's Figure 8.
  for (auto& n : nodes_) {
    if (!n->up() || !n->core()->is_leader()) continue;
    std::uint64_t& seen = leader_term_[n->id() - 1];
    if (n->core()->term().value <= seen) continue;
    seen = n->core()->term().value;
    log("node " + num(n->id()) + " leads term " + num(seen));
    if (chaos_ && leader_fault_at_ == 0 && rng_.chance(profile_.new_leader_fault, 1000)) {
      leader_fault_at_ = now_ + rng_.uniform(0, 1);
      leader_fault_node_ = n->id();
    }
  }
}

void World::leader_fault() {
  const std::uint64_t id = leader_fault_node_;
  leader_fault_at_ = 0;
  if (partition_until_ == 0 && rng_.chance(1, 2)) {
    for (std::uint64_t b = 1; b <= opt_.nodes; ++b) {
      if (b != id) {
        net_.cut(id, b);
        net_.cut(b, id);
      }
    }
    partition_until_ = now_ + rng_.uniform(5, profile_.partition_max_steps);
    ++stats_.partitions;
    log("partition: isolate new leader " + num(id));
  } else {
    crash(id);
  }
}

void World::on_reply(std::uint64_t op, std::vector<std::uint64_t> result) {
  auto it = op_index_.find(op);
  MINGA_ASSERT(it != op_index_.end(), "reply to an unknown operation");
  Op& o = history_[it->second];
  if (o.completed) return;
  o.completed = ++seq_;
  o.result = std::move(result);
  if (o.invoked > heal_seq_ && heal_seq_ != 0) (o.kind == Op::Kind::append ? liveness_append_ : liveness_read_) = true;
  for (auto& c : clients_) {
    if (c.op == op) c.op.reset();
  }
  log("reply " + std::string(o.kind == Op::Kind::append ? "append " : "read ") + num(op) + " with " +
      num(o.result.size()) + " values");
}

SimNode* World::leader() {
  SimNode* best = nullptr;
  for (auto& n : nodes_) {
    if (n->up() && n->core()->is_leader() && (best == nullptr || n->core()->term() > best->core()->term())) {
      best = n.get();
    }
  }
  return best;
}

void World::crash(std::uint64_t id) {
  SimNode& n = node(id);
  if (!n.up()) return;
  log("crash node " + num(id));
  ++stats_.crashes;
  after_crash(id, n.crash(rng_));
}

void World::replace_server(std::uint64_t id) {
  SimNode& n = node(id);
  log("replace node " + num(id) + " with a new server (empty disk)");
  ++stats_.replacements;
  restart_at_[id - 1] = 0;
  checker_.on_replace(id);
  if (auto st = n.replace_with_new_server(rng_.next()); !st) {
    violation_ = "node " + num(id) + " cannot start on an empty disk: " + st.error().message;
    return;
  }
  checker_.on_restart(id, *n.core(), n.machine().hash());
}

void World::after_crash(std::uint64_t id, const Status& recovered) {
  if (!recovered) {
    violation_ = "durability: node " + num(id) + " after a crash: " + recovered.error().message;
    return;
  }
  restart_at_[id - 1] = now_ + (rng_.chance(1, 2) ? rng_.uniform(1, 5) : rng_.uniform(5, 80));
}

void World::restart(std::uint64_t id) {
  SimNode& n = node(id);
  if (auto st = n.restart(rng_.next()); !st) {
    log("node " + num(id) + " cannot restart: " + st.error().message);
    restart_at_[id - 1] = now_ + rng_.uniform(1, 40);
    return;
  }
  restart_at_[id - 1] = 0;
  checker_.on_restart(id, *n.core(), n.machine().hash());
  log("restart node " + num(id) + " term " + num(n.core()->term().value) + " last " +
      num(n.core()->log().last_index().value));
  check();
}

void World::set_weather() {
  NetworkFaults f;
  f.drop_per_mille = rng_.uniform(0, profile_.drop_max);
  f.duplicate_per_mille = rng_.uniform(0, 50);
  f.long_delay_per_mille = rng_.uniform(0, 50);
  f.max_delay_steps = rng_.uniform(1, 4);
  net_.set_faults(f);
  log("network: drop " + num(f.drop_per_mille) + "/1000, duplicate " + num(f.duplicate_per_mille) +
      "/1000, long delay " + num(f.long_delay_per_mille) + "/1000");
}

void World::start_partition() {
  const std::uint64_t n = opt_.nodes;
  std::string what;
  switch (rng_.uniform(0, 3)) {
    case 0: {  // isolate one node
      const std::uint64_t a = rng_.uniform(1, n);
      for (std::uint64_t b = 1; b <= n; ++b) {
        if (b != a) {
          net_.cut(a, b);
          net_.cut(b, a);
        }
      }
      what = "isolate " + num(a);
      break;
    }
    case 1: {  // a random split in two sides
      std::vector<bool> side(n + 1);
      for (std::uint64_t a = 1; a <= n; ++a) side[a] = rng_.chance(1, 2);
      for (std::uint64_t a = 1; a <= n; ++a) {
        for (std::uint64_t b = 1; b <= n; ++b) {
          if (side[a] != side[b]) net_.cut(a, b);
        }
      }
      what = "split";
      for (std::uint64_t a = 1; a <= n; ++a) what += side[a] ? " " + num(a) : "";
      what += " |";
      for (std::uint64_t a = 1; a <= n; ++a) what += side[a] ? "" : " " + num(a);
      break;
    }
    case 2: {  // one way: a node that can send but not receive, or the reverse
      const std::uint64_t a = rng_.uniform(1, n);
      const bool deaf = rng_.chance(1, 2);
      for (std::uint64_t b = 1; b <= n; ++b) {
        if (b == a) continue;
        deaf ? net_.cut(b, a) : net_.cut(a, b);
      }
      what = std::string(deaf ? "deafen " : "mute ") + num(a);
      ++stats_.one_way_partitions;
      break;
    }
    default: {  // cut the leader off
      SimNode* l = leader();
      if (l == nullptr) return;
      for (std::uint64_t b = 1; b <= n; ++b) {
        if (b != l->id()) {
          net_.cut(l->id(), b);
          net_.cut(b, l->id());
        }
      }
      what = "isolate leader " + num(l->id());
    }
  }
  partition_until_ = now_ + rng_.uniform(5, profile_.partition_max_steps);
  ++stats_.partitions;
  log("partition: " + what);
}

void World::change_membership() {
  SimNode* l = leader();
  if (l == nullptr) return;
  raft::Core& c = *l->core();
  const raft::Membership& m = c.membership();
  std::vector<raft::NodeId> outside, learners, members;
  for (std::uint64_t id = 1; id <= opt_.nodes; ++id) {
    const raft::NodeId nid{id};
    if (!m.contains(nid)) outside.push_back(nid);
    if (m.is_learner(nid)) learners.push_back(nid);
    if (m.contains(nid)) members.push_back(nid);
  }
  Result<raft::Index> r = Error{Errc::not_yet, "no change"};
  std::string what;
  if (!learners.empty()) {
    const raft::NodeId id = learners[rng_.uniform(0, learners.size() - 1)];
    r = c.promote(id);
    what = "promote " + num(id.value);
  } else if (!outside.empty() && rng_.chance(2, 3)) {
    const raft::NodeId id = outside[rng_.uniform(0, outside.size() - 1)];
    // Only once its removal is committed may a server's disk be thrown away:
    // until then some leader may still count it as a voter.
    if (rng_.chance(1, 3) && id != raft::NodeId{l->id()} && c.log().membership_index() <= c.log().committed()) {
      replace_server(id.value);
    }
    r = c.add_learner(id);
    what = "add learner " + num(id.value);
  } else if (m.voters.size() > 2) {
    const raft::NodeId id = members[rng_.uniform(0, members.size() - 1)];
    r = c.remove(id);
    what = "remove " + num(id.value);
  } else {
    return;
  }
  log("membership: " + what + (r ? " at " + num(r->value) : " refused: " + r.error().message));
  if (r) ++stats_.membership_changes;
}

void World::nemesis() {
  if (rng_.chance(profile_.crash, 1000)) {
    // A third of the crashes hit the leader: elections and divergent logs.
    SimNode* l = rng_.chance(1, 3) ? leader() : nullptr;
    crash(l != nullptr ? l->id() : rng_.uniform(1, opt_.nodes));
  }
  if (partition_until_ != 0 && now_ >= partition_until_) {
    net_.heal();
    partition_until_ = 0;
    log("partition healed");
  } else if (partition_until_ == 0 && rng_.chance(profile_.partition, 1000)) {
    start_partition();
  }
  if (rng_.chance(3, 1000)) set_weather();
  if (rng_.chance(profile_.disk_fault, 1000)) {
    const std::uint64_t id = rng_.uniform(1, opt_.nodes);
    const auto kind = static_cast<SimFs::Fault>(rng_.uniform(0, 2));
    static constexpr const char* kKinds[] = {"read", "write", "fsync"};
    node(id).fs().inject(kind);
    log("disk: next " + std::string(kKinds[static_cast<int>(kind)]) + " of node " + num(id) + " fails");
  }
  if (rng_.chance(4, 1000)) change_membership();
  if (rng_.chance(2, 1000)) {
    if (SimNode* l = leader()) {
      const auto& voters = l->core()->membership().voters;
      auto it = voters.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(rng_.uniform(0, voters.size() - 1)));
      log("transfer leadership " + num(l->id()) + " -> " + num(it->value));
      (void)l->core()->transfer_leadership(*it);
      ++stats_.transfers;
    }
  }
}

void World::issue(Client& c) {
  const std::uint64_t op = ++next_op_;
  const bool append = rng_.chance(1, 2);
  if (!append && rng_.chance(1, 2)) c.target = rng_.uniform(1, opt_.nodes);  // a follower read now and then
  SimNode& n = node(c.target);
  Op o;
  o.kind = append ? Op::Kind::append : Op::Kind::read;
  o.id = op;
  o.invoked = ++seq_;
  op_index_[op] = history_.size();
  history_.push_back(o);
  c.op = op;
  c.deadline = now_ + kClientTimeoutSteps;
  Status st = Status::fail(Errc::unavailable, "node down");
  if (n.up()) st = append ? n.append(now_, rng_, op) : n.read(now_, rng_, op);
  if (st) {
    log(std::string(append ? "append " : "read ") + num(op) + " at node " + num(c.target));
    return;
  }
  // Refused: certainly no effect; forget it and try elsewhere next time.
  MINGA_ASSERT(history_.back().id == op && !history_.back().completed, "refused operation must be the last");
  history_.pop_back();
  op_index_.erase(op);
  c.op.reset();
  const std::uint64_t hint = n.up() ? n.core()->leader().value : 0;
  c.target = hint != 0 ? hint : rng_.uniform(1, opt_.nodes);
}

void World::run_clients() {
  for (auto& c : clients_) {
    if (c.op && now_ >= c.deadline) {
      log("client gives up on " + num(*c.op));
      c.op.reset();
      c.target = rng_.uniform(1, opt_.nodes);
    }
    if (!c.op && rng_.chance(300, 1000)) issue(c);
    check();
    if (failed()) return;
  }
}

void World::deliver_and_tick() {
  for (const raft::Message& m : net_.due(now_)) {
    SimNode& n = node(m.to.value);
    if (!n.up()) continue;
    n.deliver(now_, rng_, m);
    check();
    if (failed()) return;
    // The worst moment to crash: replies may have left, the write is not
    // durable yet.
    if (chaos_ && n.write_pending() &&
        rng_.chance(n.pending_vote_change() ? profile_.crash_in_vote : profile_.crash_in_write, 1000)) {
      crash(n.id());
    }
  }
  for (auto& n : nodes_) {
    if (!n->up()) continue;
    n->poll_disk(now_, rng_);
    check();
    if (failed()) return;
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i]->up()) continue;
    clock_acc_[i] += clock_rate_[i];
    while (clock_acc_[i] >= 1000 && nodes_[i]->up()) {
      clock_acc_[i] -= 1000;
      nodes_[i]->tick(now_, rng_);
      check();
      if (failed()) return;
    }
  }
}

void World::step(bool chaos) {
  ++now_;
  chaos_ = chaos;
  if (chaos) nemesis();
  if (chaos && leader_fault_at_ != 0 && leader_fault_at_ <= now_) leader_fault();
  for (std::uint64_t id = 1; id <= opt_.nodes; ++id) {
    if (!node(id).up() && restart_at_[id - 1] != 0 && restart_at_[id - 1] <= now_) restart(id);
  }
  if (failed()) return;
  run_clients();
  if (failed()) return;
  deliver_and_tick();
}

SimResult World::run() {
  for (std::uint64_t s = 0; s < opt_.steps && !failed(); ++s) step(true);
  if (!failed()) {
    // Heal everything: the cluster must now make progress within a bound.
    net_.heal();
    partition_until_ = 0;
    NetworkFaults calm;
    calm.max_delay_steps = 2;
    net_.set_faults(calm);
    for (std::uint64_t id = 1; id <= opt_.nodes; ++id) {
      node(id).fs().clear_faults();
      if (!node(id).up()) restart(id);
    }
    heal_seq_ = ++seq_;
    log("all faults healed");
    const std::uint64_t healed_at = now_;
    while (!failed() && !(liveness_append_ && liveness_read_) && now_ < healed_at + opt_.liveness_steps) step(false);
    if (!failed() && !(liveness_append_ && liveness_read_)) {
      violation_ = "liveness: no client append and read completed within " + num(opt_.liveness_steps) +
                   " steps after all faults healed";
    }
  }
  if (!failed()) {
    violation_ = check_linearizable(history_);
    if (!violation_.empty()) violation_ = "linearizability: " + violation_;
  }
  SimResult r;
  r.ok = !failed();
  r.violation = checker_.ok() ? violation_ : checker_.violation();
  r.step = now_;
  stats_.committed = checker_.max_committed();
  stats_.max_term = checker_.max_term();
  stats_.messages = net_.sent();
  stats_.messages_dropped = net_.dropped();
  stats_.messages_duplicated = net_.duplicated();
  for (const Op& o : history_) {
    if (o.completed) {
      ++stats_.ops_done;
    } else if (o.kind == Op::Kind::append) {
      ++stats_.ops_unknown;
    }
  }
  for (auto& n : nodes_) stats_.torn_writes += n->fs().torn_writes();
  r.stats = stats_;
  if (!r.ok) log("VIOLATION: " + r.violation);
  return r;
}

}  // namespace

SimStats& SimStats::operator+=(const SimStats& o) {
  committed += o.committed;
  max_term = std::max(max_term, o.max_term);
  crashes += o.crashes;
  disk_faults += o.disk_faults;
  torn_writes += o.torn_writes;
  partitions += o.partitions;
  one_way_partitions += o.one_way_partitions;
  messages_dropped += o.messages_dropped;
  messages_duplicated += o.messages_duplicated;
  snapshots_installed += o.snapshots_installed;
  transfers += o.transfers;
  membership_changes += o.membership_changes;
  replacements += o.replacements;
  ops_done += o.ops_done;
  ops_unknown += o.ops_unknown;
  messages += o.messages;
  return *this;
}

SimResult run_simulation(const SimOptions& options, std::ostream* trace) {
  World w(options, trace);
  return w.run();
}

namespace {
struct BugName {
  const char* name;
  bool raft::TestingBugs::*flag;
};
constexpr BugName kBugs[] = {
    {"commit-by-counting", &raft::TestingBugs::commit_by_counting},
    {"vote-without-log-check", &raft::TestingBugs::vote_without_log_check},
    {"vote-before-persist", &raft::TestingBugs::vote_before_persist},
    {"apply-before-commit", &raft::TestingBugs::apply_before_commit},
};

struct DriverBugName {
  const char* name;
  bool SimOptions::*flag;
};
constexpr DriverBugName kDriverBugs[] = {
    {"ack-before-sync", &SimOptions::ack_before_sync},
    {"read-without-read-index", &SimOptions::read_without_read_index},
};
}  // namespace

bool parse_bug(const std::string& name, SimOptions& options) {
  for (const auto& b : kDriverBugs) {
    if (name == b.name) return options.*(b.flag) = true;
  }
  for (const auto& b : kBugs) {
    if (name == b.name) {
      options.bugs.*(b.flag) = true;
      return true;
    }
  }
  return false;
}

std::string bug_names(const SimOptions& options) {
  std::string out;
  for (const auto& b : kBugs) {
    if (options.bugs.*(b.flag)) out += (out.empty() ? "" : ",") + std::string(b.name);
  }
  for (const auto& b : kDriverBugs) {
    if (options.*(b.flag)) out += (out.empty() ? "" : ",") + std::string(b.name);
  }
  return out;
}

}  // namespace minga::sim
