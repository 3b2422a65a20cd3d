// Core: log replication and commitment (Raft §5.3, §5.4.2, §7).
#include <algorithm>

#include "base/assert.h"
#include "raft/core.h"

namespace minga::raft {

// ---- follower side --------------------------------------------------------

void Core::handle_append(const Message& m) {
  Message r;
  r.type = MessageType::append_response;
  r.to = m.from;
  if (m.index < log_.committed()) {
    // Everything up to our commit index matches any leader's log already.
    r.index = log_.committed();
    send(std::move(r));
    return;
  }
  if (auto last = log_.maybe_append(m.index, m.log_term, m.commit, m.entries)) {
    r.index = *last;
    send(std::move(r));
    return;
  }
  // Fast backtracking: skip, in one round trip, every entry of ours whose
  // term is above the leader's term at m.index; they cannot match.
  const auto [hint_index, hint_term] = log_.find_conflict_by_term(min_index(m.index, log_.last_index()), m.log_term);
  r.reject = true;
  r.index = m.index;
  r.hint_index = hint_index;
  r.hint_term = hint_term;
  send(std::move(r));
}

void Core::handle_heartbeat(const Message& m) {
  // The leader sends min(our match, its commit), so our log up to there is
  // known to equal the leader's.
  log_.commit_to(min_index(m.commit, log_.last_index()));
  Message r;
  r.type = MessageType::heartbeat_response;
  r.to = m.from;
  r.read_seq = m.read_seq;
  send(std::move(r));
}

void Core::handle_snapshot(const Message& m) {
  const SnapshotMeta& meta = m.snapshot->meta;
  Message r;
  r.type = MessageType::append_response;
  r.to = m.from;
  if (meta.index <= log_.committed()) {
    r.index = log_.committed();
  } else if (log_.matches(meta.index, meta.term)) {
    // We hold the snapshot's last entry: only the commit index moves. Vouch
    // for nothing beyond it: what follows may be another leader's suffix
    // (found by the simulator: answering last_index here let a leader commit
    // a conflicting suffix through its heartbeats).
    log_.commit_to(meta.index);
    r.index = meta.index;
  } else {
    log_.restore(meta);
    pending_install_ = m.snapshot;
    latest_snapshot_ = m.snapshot;
    r.index = meta.index;
  }
  send(std::move(r));
}

// ---- leader side ----------------------------------------------------------

void Core::handle_append_response(const Message& m) {
  Leader& l = leader_state();
  auto it = l.progress.find(m.from);
  if (it == l.progress.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  if (m.reject) {
    Index probe = m.hint_index;
    if (m.hint_term != Term{0}) probe = log_.find_conflict_by_term(m.hint_index, m.hint_term).first;
    if (pr.maybe_decrease_to(m.index, probe)) {
      if (pr.state == Progress::State::replicate) pr.become_probe();
      send_append(m.from, true);
    }
    return;
  }
  // The follower cannot hold more than we sent; treat the claim as untrusted.
  const Index acked = min_index(m.index, log_.last_index());
  const bool updated = pr.maybe_update(acked);
  // A probe answered at the match we already knew still ends the probe.
  if (!updated && !(pr.state == Progress::State::probe && pr.match == acked)) return;
  switch (pr.state) {
    case Progress::State::probe:
      pr.become_replicate();
      break;
    case Progress::State::snapshot:
      if (pr.match >= pr.pending_snapshot || pr.match.next() >= log_.first_index()) {
        pr.become_probe();
        pr.become_replicate();
      }
      break;
    case Progress::State::replicate:
      pr.inflights.free_to(pr.match);
      break;
  }
  const NodeId from = m.from;
  if (maybe_commit()) {
    bcast_append();
    after_commit();
    if (!is_leader()) return;
  }
  // Pipeline: fill the inflight window (pr stays valid: the progress map
  // only changes with the membership).
  while (send_append(from, false)) {
  }
  if (from == l.transferee && pr.match == log_.last_index()) {
    Message t;
    t.type = MessageType::timeout_now;
    t.to = from;
    send(std::move(t));
  }
}

void Core::handle_heartbeat_response(const Message& m) {
  Leader& l = leader_state();
  auto it = l.progress.find(m.from);
  if (it == l.progress.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  pr.probe_sent = false;
  // Lost appends leave the window full; free a slot so replication resumes
  // (the follower's rejection then moves us back to probing).
  if (pr.state == Progress::State::replicate && pr.inflights.full()) pr.inflights.free_first();
  if (pr.match < log_.last_index()) send_append(m.from, true);
  if (m.read_seq > pr.read_seq_acked) {
    pr.read_seq_acked = m.read_seq;
    advance_reads();
  }
}

bool Core::send_append(NodeId to, bool send_if_empty) {
  Progress& pr = leader_state().progress.at(to);
  if (pr.paused()) return false;
  const Index prev = pr.next.prev();
  MINGA_ASSERT(prev <= log_.last_index(), "follower's next index beyond the leader's log");
  const auto prev_term = log_.term_at(prev);
  if (!prev_term) {
    send_snapshot(to, pr);
    return true;
  }
  std::vector<Entry> entries;
  if (pr.next <= log_.last_index()) entries = log_.slice(pr.next, log_.last_index(), cfg_.max_message_bytes);
  if (entries.empty() && !send_if_empty) return false;
  std::size_t bytes = 0;
  for (const Entry& e : entries) bytes += entry_bytes(e);
  const Index last = entries.empty() ? prev : entries.back().index;
  const std::size_t count = entries.size();
  Message m;
  m.type = MessageType::append_request;
  m.to = to;
  m.index = prev;
  m.log_term = *prev_term;
  m.commit = log_.committed();
  m.entries = std::move(entries);
  send(std::move(m));
  pr.sent_entries(last, count, bytes);
  return true;
}

void Core::send_snapshot(NodeId to, Progress& pr) {
  MINGA_ASSERT(latest_snapshot_ && latest_snapshot_->meta.index >= log_.first_index().prev(),
               "the compacted log has no snapshot to send");
  Message m;
  m.type = MessageType::snapshot;
  m.to = to;
  m.snapshot = latest_snapshot_;
  send(std::move(m));
  pr.become_snapshot(latest_snapshot_->meta.index);
}

void Core::send_heartbeat(NodeId to, const Progress& pr) {
  Message m;
  m.type = MessageType::heartbeat;
  m.to = to;
  m.commit = min_index(pr.match, log_.committed());
  m.read_seq = leader_state().read_seq;
  send(std::move(m));
}

void Core::bcast_append() {
  for (auto& [id, pr] : leader_state().progress) send_append(id, true);
}

void Core::bcast_heartbeat() {
  for (const auto& [id, pr] : leader_state().progress) send_heartbeat(id, pr);
}

// Commit the highest index a quorum of voters holds durably, but only if it
// is of the current term (§5.4.2, Figure 8): earlier-term entries commit
// beneath it, never by counting.
bool Core::maybe_commit() {
  const Leader& l = leader_state();
  const Membership& mem = log_.membership();
  std::vector<Index> matches;
  for (NodeId id : mem.voters) {
    if (id == cfg_.id) {
      matches.push_back(self_match());
    } else if (auto it = l.progress.find(id); it != l.progress.end()) {
      matches.push_back(it->second.match);
    }
  }
  if (matches.size() < mem.quorum()) return false;
  std::sort(matches.begin(), matches.end(), [](Index a, Index b) { return a > b; });
  const Index q = matches[mem.quorum() - 1];
  if (q <= log_.committed()) return false;
  if (!cfg_.bugs.commit_by_counting && log_.term_at(q) != term_) return false;
  log_.commit_to(q);
  return true;
}

void Core::commit_and_broadcast() {
  if (!maybe_commit()) return;
  bcast_append();
  after_commit();
}

// Follow-ups once the leader's commit index moved (after the broadcast that
// tells followers about it).
void Core::after_commit() {
  sync_progress();  // drop servers whose removal just committed
  Leader& l = leader_state();
  l.uncommitted_bytes = 0;
  for (Index i = log_.committed().next(); i <= log_.last_index(); i = i.next()) {
    l.uncommitted_bytes += entry_bytes(log_.at(i));
  }
  if (log_.committed() >= l.term_start && !l.reads_before_commit.empty()) {
    auto waiting = std::move(l.reads_before_commit);
    l.reads_before_commit.clear();
    for (const PendingRead& r : waiting) (void)leader_read(r.context, r.from);
  }
  // A leader that removed itself hands over once the removal is committed.
  if (!log_.membership().contains(cfg_.id) && log_.committed() >= log_.membership_index()) {
    become_follower(term_, kNoNode);
  }
}

bool Core::quorum_active() const {
  const Leader& l = std::get<Leader>(role_);
  const Membership& mem = log_.membership();
  std::size_t active = 0;
  for (NodeId id : mem.voters) {
    if (id == cfg_.id) {
      ++active;
    } else if (auto it = l.progress.find(id); it != l.progress.end() && it->second.recent_active) {
      ++active;
    }
  }
  return active >= mem.quorum();
}

}  // namespace minga::raft
