#include "harness.h"

#include <algorithm>

#include "base/assert.h"

namespace minga::raft::test {

Config config(std::uint64_t id) {
  Config c;
  c.id = NodeId{id};
  c.election_timeout_ticks = 10;
  c.heartbeat_interval_ticks = 1;
  c.seed = id * 7919;
  c.auto_promote_learners = false;  // scenario tests promote explicitly, except where they test this
  return c;
}

Membership voters(std::vector<std::uint64_t> ids) {
  Membership m;
  for (auto id : ids) m.voters.insert(NodeId{id});
  return m;
}

std::vector<Entry> log_with_terms(const std::vector<std::uint64_t>& terms) {
  std::vector<Entry> out;
  for (std::size_t k = 0; k < terms.size(); ++k) {
    out.push_back(Entry{Term{terms[k]}, Index{k + 1}, EntryType::noop, {}});
  }
  return out;
}

InitialState state(const std::vector<std::uint64_t>& voter_ids, std::uint64_t term, std::vector<Entry> entries,
                   std::uint64_t vote, std::uint64_t commit) {
  InitialState s;
  s.snapshot.membership = voters(voter_ids);
  s.hard_state = HardState{Term{term}, NodeId{vote}, Index{commit}};
  s.entries = std::move(entries);
  return s;
}

std::vector<Message> drain(Core& c) {
  std::vector<Message> out;
  while (c.has_ready()) {
    Ready rd = c.ready();
    for (auto& m : rd.early_messages) out.push_back(std::move(m));
    for (auto& m : rd.messages) out.push_back(std::move(m));
    c.advance();
  }
  return out;
}

std::vector<Message> of_type(const std::vector<Message>& ms, MessageType t) {
  std::vector<Message> out;
  for (const auto& m : ms) {
    if (m.type == t) out.push_back(m);
  }
  return out;
}

Message make(MessageType type, std::uint64_t from, std::uint64_t to, std::uint64_t term) {
  Message m;
  m.type = type;
  m.from = NodeId{from};
  m.to = NodeId{to};
  m.term = Term{term};
  return m;
}

void tick_until_campaign(Core& c) {
  for (int i = 0; i < 20 && c.role() == RoleKind::follower; ++i) c.tick();
}

InitialState MemStore::initial() const {
  InitialState s;
  s.hard_state = hs;
  s.snapshot = snap;
  s.snapshot_data = snap_data;
  s.entries = entries;
  return s;
}

void MemStore::persist(const Ready& rd) {
  if (rd.snapshot) {
    snap = rd.snapshot->meta;
    snap_data = rd.snapshot;
    entries.clear();
  }
  if (!rd.entries.empty()) {
    const Index first = rd.entries.front().index;
    MINGA_ASSERT(first > snap.index && first <= snap.index + entries.size() + 1, "gap in persisted entries");
    entries.resize(first.value - snap.index.value - 1);
    entries.insert(entries.end(), rd.entries.begin(), rd.entries.end());
  }
  if (rd.hard_state) hs = *rd.hard_state;
}

// ---- Cluster --------------------------------------------------------------

Cluster::Cluster(std::size_t n, Tweak tweak) : tweak_(std::move(tweak)) {
  std::vector<std::uint64_t> ids;
  for (std::uint64_t id = 1; id <= n; ++id) ids.push_back(id);
  for (auto id : ids) {
    Node node;
    node.store.snap.membership = voters(ids);
    nodes_.emplace(id, std::move(node));
    restart(id);
  }
}

Cluster::Cluster(std::vector<InitialState> states, Tweak tweak) : tweak_(std::move(tweak)) {
  for (std::uint64_t id = 1; id <= states.size(); ++id) {
    Node node;
    const InitialState& s = states[id - 1];
    node.store.hs = s.hard_state;
    node.store.snap = s.snapshot;
    node.store.snap_data = s.snapshot_data;
    node.store.entries = s.entries;
    nodes_.emplace(id, std::move(node));
    restart(id);
  }
}

std::vector<std::uint64_t> Cluster::ids() const {
  std::vector<std::uint64_t> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

void Cluster::add_node(std::uint64_t id) {
  nodes_.emplace(id, Node{});
  restart(id);
}

void Cluster::restart(std::uint64_t id) {
  Node& n = nodes_.at(id);
  Config c = config(id);
  c.seed += n.seed_bump++;
  if (tweak_) tweak_(c);
  n.core = std::make_unique<Core>(c, n.store.initial());
  n.applied.clear();
  if (n.store.snap.index > Index{0}) {
    n.applied.push_back(Entry{n.store.snap.term, n.store.snap.index, EntryType::noop, "<snapshot>"});
  }
  std::erase_if(queue_, [&](const Message& m) { return m.to.value == id; });
}

bool Cluster::compact(std::uint64_t id, Index index, std::string data) {
  Node& n = nodes_.at(id);
  auto snap = n.core->compact(index, std::move(data));
  if (!snap) return false;
  MemStore& st = n.store;
  st.entries.erase(st.entries.begin(),
                   st.entries.begin() + static_cast<std::ptrdiff_t>(index.value - st.snap.index.value));
  st.snap = snap.value()->meta;
  st.snap_data = snap.value();
  return true;
}

void Cluster::tick(std::uint64_t id, int times) {
  for (int i = 0; i < times; ++i) at(id).tick();
}

void Cluster::tick_all(int times) {
  for (int i = 0; i < times; ++i) {
    for (auto& [id, n] : nodes_) n.core->tick();
  }
}

bool Cluster::handle_ready(Node& n) {
  if (!n.core->has_ready()) return false;
  Ready rd = n.core->ready();
  n.store.persist(rd);
  for (auto& m : rd.early_messages) queue_.push_back(std::move(m));
  for (auto& m : rd.messages) queue_.push_back(std::move(m));
  if (rd.snapshot) {
    n.applied.clear();
    n.applied.push_back(Entry{rd.snapshot->meta.term, rd.snapshot->meta.index, EntryType::noop, "<snapshot>"});
  }
  for (auto& e : rd.committed_entries) n.applied.push_back(e);
  for (auto& r : rd.read_states) n.reads.push_back(r);
  n.core->advance();
  return true;
}

bool Cluster::deliverable(Message& m) const {
  if (cut_.count({m.from.value, m.to.value}) != 0) return false;
  if (drop_if && drop_if(m)) return false;
  return nodes_.count(m.to.value) != 0;
}

void Cluster::stabilize() {
  for (int round = 0; round < 10000; ++round) {
    bool moved = false;
    for (auto& [id, n] : nodes_) moved |= handle_ready(n);
    std::vector<Message> batch;
    batch.swap(queue_);
    for (auto& m : batch) {
      moved = true;
      if (!deliverable(m)) continue;
      ++delivered_[m.type];
      (void)at(m.to.value).step(m);
    }
    if (!moved) return;
  }
  MINGA_ASSERT(false, "cluster did not stabilize");
}

void Cluster::elect(std::uint64_t id) {
  stabilize();
  tick_until_campaign(at(id));
  stabilize();
}

void Cluster::isolate(std::uint64_t id) {
  for (auto& [other, n] : nodes_) {
    if (other != id) cut(id, other);
  }
}

void Cluster::cut(std::uint64_t a, std::uint64_t b) {
  cut_one_way(a, b);
  cut_one_way(b, a);
}

void Cluster::cut_one_way(std::uint64_t from, std::uint64_t to) { cut_[{from, to}] = true; }

void Cluster::heal() {
  cut_.clear();
  drop_if = nullptr;
}

std::vector<std::string> Cluster::applied_commands(std::uint64_t id) const {
  std::vector<std::string> out;
  for (const auto& e : nodes_.at(id).applied) {
    if (e.type == EntryType::command) out.push_back(e.data);
  }
  return out;
}

std::vector<ReadState> Cluster::take_reads(std::uint64_t id) {
  std::vector<ReadState> out;
  out.swap(nodes_.at(id).reads);
  return out;
}

std::size_t Cluster::delivered(MessageType t) const {
  auto it = delivered_.find(t);
  return it == delivered_.end() ? 0 : it->second;
}

std::uint64_t Cluster::leader() const {
  for (const auto& [id, n] : nodes_) {
    if (n.core->is_leader()) return id;
  }
  return 0;
}

}  // namespace minga::raft::test
