#include "sim/node.h"

#include <string>

namespace minga::sim {

namespace {
constexpr const char* kDir = "data";

// A crash may keep any prefix of the records of the batch being written
// (appended, not yet synced), and nothing less than what was synced.
bool recovery_is_allowed(const LogView& synced, const std::vector<raft::Entry>& unsynced, const LogView& recovered) {
  LogView v = synced;
  for (std::size_t k = 0;; ++k) {
    if (v.snap_index == recovered.snap_index && v.snap_term == recovered.snap_term && v.terms == recovered.terms) {
      return true;
    }
    if (k == unsynced.size()) return false;
    v.append({unsynced[k]});
  }
}

std::string describe(const LogView& v) {
  return "snapshot " + std::to_string(v.snap_index.value) + ", last index " + std::to_string(v.last_index().value);
}

}  // namespace

SimNode::SimNode(const NodeOptions& options, NodeHooks& hooks, const raft::Membership& bootstrap)
    : opt_(options), hooks_(hooks), bootstrap_(bootstrap) {}

storage::StorageOptions SimNode::storage_options() const {
  storage::StorageOptions o;
  o.wal.segment_bytes = opt_.segment_bytes;
  return o;
}

// What a restart would load now, by running recovery itself (without
// injected faults); a torn tail is reported and cut here.
Status SimNode::load_durable_view() {
  fs_.clear_faults();
  auto store = storage::RaftStorage::open(fs_, kDir, bootstrap_, storage_options());
  if (!store) return store.error();
  for (const auto& t : store.value()->report().wal.torn) {
    hooks_.trace("node " + std::to_string(opt_.id) + " recovery: cut a torn tail of " + std::to_string(t.dropped) +
                 " bytes at " + t.segment + ":" + std::to_string(t.offset) + " (" + t.reason + ")");
  }
  const raft::InitialState& st = store.value()->initial_state();
  durable_.reset(st.snapshot);
  durable_.append(st.entries);
  recovered_hs_ = st.hard_state;
  return ok_status();
}

Status SimNode::crash(Random& rng) {
  const LogView synced = durable_;
  const raft::HardState synced_hs = durable_hs_;
  std::vector<raft::Entry> unsynced = pending_ ? pending_->rd.entries : std::vector<raft::Entry>{};
  if (auto st = lose_volatile_state(rng); !st) return st;
  // Whatever was made durable survives: the term and vote, and the log.
  if (recovered_hs_.term < synced_hs.term ||
      (recovered_hs_.term == synced_hs.term && synced_hs.vote != raft::NodeId{} &&
       recovered_hs_.vote != synced_hs.vote)) {
    return Status::fail(Errc::internal,
                        "lost the durable term or vote of term " + std::to_string(synced_hs.term.value));
  }
  if (!recovery_is_allowed(synced, unsynced, durable_)) {
    return Status::fail(Errc::internal, "recovered a log (" + describe(durable_) + ") that is not the synced one (" +
                                            describe(synced) + ") plus a prefix of the unsynced batch");
  }
  return ok_status();
}

void SimNode::drop_memory() {
  core_.reset();
  store_.reset();
  pending_.reset();
  appends_.clear();
  reads_.clear();
  sm_ = ListMachine{};
}

Status SimNode::lose_volatile_state(Random& rng) {
  drop_memory();
  fs_.crash(rng);
  return load_durable_view();
}

Status SimNode::restart(std::uint64_t seed) {
  auto store = storage::RaftStorage::open(fs_, kDir, bootstrap_, storage_options());
  if (!store) return store.error();
  raft::InitialState st = store.value()->initial_state();
  durable_hs_ = st.hard_state;
  durable_.reset(st.snapshot);
  durable_.append(st.entries);
  ListMachine sm;
  if (st.snapshot.index > raft::Index{0} && !sm.restore(st.snapshot_data->data, st.snapshot.index)) {
    return Status::fail(Errc::internal, "unreadable snapshot");
  }
  raft::Config cfg = opt_.raft;
  cfg.id = raft::NodeId{opt_.id};
  cfg.seed = seed;
  core_ = std::make_unique<raft::Core>(cfg, std::move(st));
  store_ = std::move(store.value());
  sm_ = std::move(sm);
  return ok_status();
}

Status SimNode::replace_with_new_server(std::uint64_t seed) {
  drop_memory();
  fs_.wipe();
  bootstrap_ = raft::Membership{};
  durable_ = LogView{};
  durable_hs_ = raft::HardState{};
  recovered_hs_ = raft::HardState{};
  return restart(seed);
}

bool SimNode::pending_vote_change() const {
  if (!pending_ || !pending_->rd.hard_state) return false;
  const raft::HardState& hs = *pending_->rd.hard_state;
  return hs.term != durable_hs_.term || hs.vote != durable_hs_.vote;
}

void SimNode::tick(std::uint64_t now, Random& rng) {
  core_->tick();
  maybe_compact(rng);
  if (up()) pump(now, rng);
}

void SimNode::deliver(std::uint64_t now, Random& rng, const raft::Message& m) {
  (void)core_->step(m);
  pump(now, rng);
}

void SimNode::poll_disk(std::uint64_t now, Random& rng) {
  if (pending_ && pending_->done_at <= now) pump(now, rng);
}

Status SimNode::append(std::uint64_t now, Random& rng, std::uint64_t op) {
  auto index = core_->propose(encode_append(op));
  if (!index) return Status(index.error());
  appends_[op] = index.value();
  pump(now, rng);
  return ok_status();
}

Status SimNode::read(std::uint64_t now, Random& rng, std::uint64_t op) {
  if (opt_.read_without_read_index) {
    hooks_.on_reply(op, sm_.list());  // whatever this node has applied: stale on a lagging node
    return ok_status();
  }
  if (auto st = core_->read_index(op); !st) return st;
  reads_[op] = std::nullopt;
  pump(now, rng);
  return ok_status();
}

// Drives Ready batches until the core has nothing more or a write is in
// flight.
void SimNode::pump(std::uint64_t now, Random& rng) {
  while (up()) {
    if (pending_) {
      if (pending_->done_at > now) return;
      if (auto st = complete_write(); !st) {
        fail_stop(rng, st.error());
        return;
      }
      continue;
    }
    if (!core_->has_ready()) return;
    if (!start_write(now, rng)) return;
  }
}

bool SimNode::start_write(std::uint64_t now, Random& rng) {
  raft::Ready rd = core_->ready();
  if (!rd.entries.empty()) {
    const raft::Index before = rd.entries.front().index.prev();
    hooks_.on_entries(opt_.id, rd.entries,
                      rd.snapshot && rd.snapshot->meta.index == before
                          ? rd.snapshot->meta.term
                          : core_->log().term_at(before).value_or(raft::Term{0}));
  }
  for (auto& m : rd.early_messages) hooks_.send(std::move(m));
  rd.early_messages.clear();
  Status st = rd.snapshot ? store_->install_snapshot(*rd.snapshot) : ok_status();
  if (st && rd.snapshot) durable_.reset(rd.snapshot->meta);  // durable once installed
  if (st) st = store_->append(rd.entries);
  if (!st) {
    fail_stop(rng, st.error());
    return false;
  }
  pending_ = Pending{std::move(rd), now + rng.uniform(0, opt_.max_sync_latency_steps)};
  return true;
}

Status SimNode::complete_write() {
  raft::Ready rd = std::move(pending_->rd);
  pending_.reset();
  // Group commit: one fsync for the whole batch, then the hard state.
  if (!opt_.ack_before_sync) {
    if (auto st = store_->sync(); !st) return st;
  }
  if (rd.hard_state) {
    if (auto st = store_->save_hard_state(*rd.hard_state); !st) return st;
  }
  if (rd.hard_state) durable_hs_ = *rd.hard_state;
  durable_.append(rd.entries);
  for (auto& m : rd.messages) hooks_.send(std::move(m));
  if (rd.snapshot) {
    ListMachine sm;
    if (!sm.restore(rd.snapshot->data, rd.snapshot->meta.index)) {
      return Status::fail(Errc::internal, "a snapshot from the leader does not decode");
    }
    sm_ = std::move(sm);
    hooks_.on_install(opt_.id, rd.snapshot->meta, sm_.hash());
  }
  for (const auto& e : rd.committed_entries) apply(e);
  for (const auto& rs : rd.read_states) {
    if (auto it = reads_.find(rs.context); it != reads_.end()) it->second = rs.index;
  }
  serve_reads();
  core_->advance();
  return ok_status();
}

void SimNode::apply(const raft::Entry& e) {
  std::optional<std::vector<std::uint64_t>> before;
  if (e.type == raft::EntryType::command) {
    if (auto op = decode_append(e.data); op && appends_.count(*op) != 0) before = sm_.list();
  }
  sm_.apply(e);
  hooks_.on_apply(opt_.id, e, sm_.hash());
  if (before) {
    const std::uint64_t op = *decode_append(e.data);
    appends_.erase(op);
    hooks_.on_reply(op, std::move(*before));
  }
}

void SimNode::serve_reads() {
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second && *it->second <= sm_.applied()) {
      hooks_.on_reply(it->first, sm_.list());
      it = reads_.erase(it);
    } else {
      ++it;
    }
  }
}

// Snapshot policy: every `compact_every_entries` applied entries, at the
// applied index (only committed state goes into a snapshot).
void SimNode::maybe_compact(Random& rng) {
  if (pending_) return;
  const raft::RaftLog& log = core_->log();
  const raft::Index at = sm_.applied();
  if (at > log.committed() || at.value < log.snapshot().index.value + opt_.compact_every_entries) return;
  auto snap = core_->compact(at, sm_.snapshot());
  if (!snap) return;
  // The core has dropped the compacted entries: a snapshot that did not
  // reach the disk is a disk error like any other, and the node stops.
  if (auto st = store_->save_snapshot(*snap.value()); !st) {
    fail_stop(rng, st.error());
    return;
  }
  durable_.compact(snap.value()->meta);
}

// A failed write leaves the disk in a state the driver cannot know (that is
// why the node stops), so only recovery itself is checked here.
void SimNode::fail_stop(Random& rng, const Error& e) {
  hooks_.trace("node " + std::to_string(opt_.id) + " stops on a disk error: " + e.message);
  hooks_.on_fail_stop(opt_.id, lose_volatile_state(rng));
}

}  // namespace minga::sim
