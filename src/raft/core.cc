// Core: construction, terms, ticks, message dispatch and the Ready output.
#include "raft/core.h"

#include "base/assert.h"

namespace minga::raft {

const char* role_name(RoleKind r) {
  switch (r) {
    case RoleKind::follower:
      return "follower";
    case RoleKind::pre_candidate:
      return "pre_candidate";
    case RoleKind::candidate:
      return "candidate";
    case RoleKind::leader:
      return "leader";
  }
  return "unknown";
}

Core::Core(const Config& config, InitialState state)
    : cfg_(config),
      rng_(config.seed),
      log_(state.snapshot, std::move(state.entries), state.hard_state.commit),
      term_(state.hard_state.term),
      vote_(state.hard_state.vote),
      latest_snapshot_(std::move(state.snapshot_data)) {
  MINGA_ASSERT(cfg_.id != kNoNode, "node id 0 is reserved");
  MINGA_ASSERT(cfg_.heartbeat_interval_ticks >= 1 && cfg_.heartbeat_interval_ticks < cfg_.election_timeout_ticks,
               "heartbeat interval must be shorter than the election timeout");
  if (!latest_snapshot_) {
    latest_snapshot_ = std::make_shared<const Snapshot>(Snapshot{state.snapshot, {}});
  }
  MINGA_ASSERT(latest_snapshot_->meta == state.snapshot, "snapshot data does not match its metadata");
  emitted_hs_ = hard_state();
  // Unsynced log writes may survive a crash in part (a torn write) while the
  // hard state of the same batch did not: the log can then hold entries of
  // a term newer than the durable one. Adopt that term, with no vote: a vote
  // in it was never sent, since votes leave only once durable.
  if (log_.last_term() > term_) {
    term_ = log_.last_term();
    vote_ = kNoNode;
  }
  become_follower(term_, kNoNode);
}

const Progress* Core::progress(NodeId peer) const {
  const auto* l = std::get_if<Leader>(&role_);
  if (l == nullptr) return nullptr;
  auto it = l->progress.find(peer);
  return it == l->progress.end() ? nullptr : &it->second;
}

NodeId Core::transferee() const {
  const auto* l = std::get_if<Leader>(&role_);
  return l == nullptr ? kNoNode : l->transferee;
}

// ---- terms and roles ------------------------------------------------------

void Core::reset(Term term) {
  MINGA_ASSERT(term >= term_, "terms never go backwards");
  if (term != term_) {
    term_ = term;
    vote_ = kNoNode;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_timeout();
}

void Core::reset_randomized_timeout() {
  const std::uint64_t t = cfg_.election_timeout_ticks;
  randomized_timeout_ = static_cast<std::uint32_t>(rng_.uniform(t, 2 * t - 1));
}

void Core::become_follower(Term term, NodeId lead) {
  reset(term);
  role_ = Follower{};
  lead_ = lead;
}

// One Progress per member. Servers just removed keep theirs until the
// removal commits, so that they receive the config entry and stop
// campaigning.
void Core::sync_progress() {
  auto* l = std::get_if<Leader>(&role_);
  if (l == nullptr) return;
  const Membership& m = log_.membership();
  const bool pending = log_.membership_index() > log_.committed();
  const Membership previous = pending ? log_.membership_at(log_.membership_index().prev()) : Membership{};
  auto keep = [&](NodeId id) { return m.contains(id) || previous.contains(id); };
  std::erase_if(l->progress, [&](const auto& p) { return !keep(p.first); });
  auto add = [&](NodeId id) {
    if (id == cfg_.id || l->progress.count(id) != 0) return;
    l->progress.emplace(id, Progress(log_.last_index().next(), cfg_.max_inflight_messages, cfg_.max_inflight_bytes));
  };
  for (const Membership* mem : {&m, &previous}) {
    for (NodeId id : mem->voters) add(id);
    for (NodeId id : mem->learners) add(id);
  }
  if (l->transferee != kNoNode && !m.is_voter(l->transferee)) l->transferee = kNoNode;
}

void Core::on_membership_changed() {
  if (!is_leader()) return;
  sync_progress();
  // Fewer voters may mean a smaller quorum that is already reached.
  commit_and_broadcast();
}

// ---- ticks ----------------------------------------------------------------

void Core::tick() {
  if (is_leader()) {
    tick_leader();
    return;
  }
  ++election_elapsed_;
  if (promotable() && election_elapsed_ >= randomized_timeout_) {
    election_elapsed_ = 0;
    campaign(cfg_.pre_vote ? Campaign::pre_vote : Campaign::election);
  }
}

void Core::tick_leader() {
  Leader& l = leader_state();
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  for (auto& [id, pr] : l.progress) {
    // A snapshot message may be lost without anyone telling us: retry.
    if (pr.state == Progress::State::snapshot && ++pr.snapshot_ticks > cfg_.election_timeout_ticks) {
      pr.become_probe();
    }
  }
  if (election_elapsed_ >= cfg_.election_timeout_ticks) {
    election_elapsed_ = 0;
    if (cfg_.check_quorum) {
      if (!quorum_active()) {
        become_follower(term_, kNoNode);
        return;
      }
      for (auto& [id, pr] : l.progress) pr.recent_active = false;
    }
    l.transferee = kNoNode;  // a transfer that took a whole election timeout failed
  }
  if (heartbeat_elapsed_ >= cfg_.heartbeat_interval_ticks) {
    heartbeat_elapsed_ = 0;
    bcast_heartbeat();
  }
  if (cfg_.auto_promote_learners) promote_caught_up_learner();
}

// promote() refuses a learner that has not caught up, and any change while
// another is in progress or before the leader committed in its term, so
// the first learner that can be promoted is, and the next waits.
void Core::promote_caught_up_learner() {
  const std::set<NodeId> learners = log_.membership().learners;
  for (NodeId id : learners) {
    if (promote(id)) return;
  }
}

// ---- messages -------------------------------------------------------------

Status Core::validate(const Message& m) const {
  auto bad = [](const char* why) { return Status::fail(Errc::invalid_argument, why); };
  if (m.to != cfg_.id) return bad("message for another node");
  if (m.from == kNoNode || m.from == cfg_.id) return bad("bad sender");
  if (m.term == Term{0}) return bad("message without a term");
  // No real log or term gets near 2^62; beyond it `+ 1` could wrap around.
  constexpr std::uint64_t kMax = std::uint64_t{1} << 62;
  if (m.term.value >= kMax || m.log_term.value >= kMax || m.hint_term.value >= kMax || m.index.value >= kMax ||
      m.commit.value >= kMax || m.hint_index.value >= kMax ||
      (m.snapshot && (m.snapshot->meta.index.value >= kMax || m.snapshot->meta.term.value >= kMax))) {
    return bad("index or term out of range");
  }
  if (m.type == MessageType::append_request) {
    if (m.log_term > m.term) return bad("previous entry newer than the message");
    Term prev = m.log_term;
    for (std::size_t k = 0; k < m.entries.size(); ++k) {
      const Entry& e = m.entries[k];
      if (e.index != m.index + (k + 1)) return bad("entries are not contiguous");
      if (e.term < prev || e.term > m.term) return bad("entry terms out of order");
      prev = e.term;
      Membership unused;
      if (e.type == EntryType::config && !decode_membership(e.data, unused)) return bad("malformed config entry");
      if (e.type != EntryType::command && e.type != EntryType::noop && e.type != EntryType::config) {
        return bad("unknown entry type");
      }
    }
  }
  if (m.type == MessageType::snapshot) {
    if (!m.snapshot || m.snapshot->meta.index == Index{0} || m.snapshot->meta.term > m.term) {
      return bad("malformed snapshot");
    }
  }
  return ok_status();
}

void Core::send(Message m) {
  m.from = cfg_.id;
  if (m.term == Term{0}) m.term = term_;
  const bool leader_traffic =
      is_leader() &&
      (m.type == MessageType::append_request || m.type == MessageType::heartbeat || m.type == MessageType::snapshot ||
       m.type == MessageType::timeout_now || m.type == MessageType::read_index_response);
  const bool buggy_vote =
      cfg_.bugs.vote_before_persist && m.type == MessageType::vote_response && !m.pre_vote && !m.reject;
  if (leader_traffic || buggy_vote) {
    early_msgs_.push_back(std::move(m));
  } else {
    msgs_.push_back(std::move(m));
  }
}

Status Core::step(const Message& m) {
  if (auto st = validate(m); !st) return st;
  if (!step_by_term(m)) return ok_status();
  switch (role()) {
    case RoleKind::follower:
      step_follower(m);
      break;
    case RoleKind::pre_candidate:
    case RoleKind::candidate:
      step_candidate(m);
      break;
    case RoleKind::leader:
      step_leader(m);
      break;
  }
  return ok_status();
}

// Applies the term rules common to every role. Returns false when the
// message is fully handled (stale, or ignored).
bool Core::step_by_term(const Message& m) {
  const bool vote_req = m.type == MessageType::vote_request;
  if (m.term > term_) {
    if (vote_req && !m.force && in_lease()) return false;  // leader stickiness
    const bool keeps_term =
        (vote_req && m.pre_vote) || (m.type == MessageType::vote_response && m.pre_vote && !m.reject);
    if (!keeps_term) {
      const bool from_leader =
          m.type == MessageType::append_request || m.type == MessageType::heartbeat || m.type == MessageType::snapshot;
      become_follower(m.term, from_leader ? m.from : kNoNode);
    }
    return true;
  }
  if (m.term < term_) {
    if (m.type == MessageType::append_request || m.type == MessageType::heartbeat) {
      // A stale leader (e.g. healed from a partition) learns our term and
      // steps down; without this, pre-vote plus check-quorum could leave it
      // cut off forever.
      Message r;
      r.type = MessageType::append_response;
      r.to = m.from;
      send(std::move(r));
    } else if (vote_req && m.pre_vote) {
      Message r;
      r.type = MessageType::vote_response;
      r.to = m.from;
      r.pre_vote = true;
      r.reject = true;
      send(std::move(r));
    }
    return false;
  }
  return true;
}

void Core::step_follower(const Message& m) {
  switch (m.type) {
    case MessageType::vote_request:
      handle_vote_request(m);
      break;
    case MessageType::append_request:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_append(m);
      break;
    case MessageType::heartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_heartbeat(m);
      break;
    case MessageType::snapshot:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_snapshot(m);
      break;
    case MessageType::timeout_now:
      if (promotable()) campaign(Campaign::transfer);
      break;
    case MessageType::read_index_response:
      read_states_.push_back({m.context, m.index});
      break;
    default:
      break;  // responses meant for another role: stale
  }
}

void Core::step_candidate(const Message& m) {
  switch (m.type) {
    case MessageType::vote_request:
      handle_vote_request(m);
      break;
    case MessageType::append_request:
    case MessageType::heartbeat:
    case MessageType::snapshot:
      // Someone won this term.
      become_follower(term_, m.from);
      step_follower(m);
      break;
    case MessageType::vote_response:
      if (auto* p = std::get_if<PreCandidate>(&role_); p != nullptr && m.pre_vote) {
        tally(p->votes, m, true);
      } else if (auto* c = std::get_if<Candidate>(&role_); c != nullptr && !m.pre_vote) {
        tally(c->votes, m, false);
      }
      break;
    default:
      break;
  }
}

void Core::step_leader(const Message& m) {
  switch (m.type) {
    case MessageType::vote_request:
      handle_vote_request(m);
      break;
    case MessageType::append_response:
      handle_append_response(m);
      break;
    case MessageType::heartbeat_response:
      handle_heartbeat_response(m);
      break;
    case MessageType::read_index_request:
      (void)leader_read(m.context, m.from);
      break;
    // Another leader in our term would break election safety; the
    // simulator's checker reports it. Never act on such a message.
    default:
      break;
  }
}

// ---- output ---------------------------------------------------------------

bool Core::has_ready() const {
  if (ready_outstanding_) return false;
  const Index apply_limit = cfg_.bugs.apply_before_commit ? log_.last_index() : log_.committed();
  return hard_state() != emitted_hs_ || log_.stable_index() < log_.last_index() || pending_install_ ||
         !early_msgs_.empty() || !msgs_.empty() || apply_limit > log_.applied() || !read_states_.empty();
}

Ready Core::ready() {
  MINGA_ASSERT(!ready_outstanding_, "ready() called again before advance()");
  Ready rd;
  if (hard_state() != emitted_hs_) {
    emitted_hs_ = hard_state();
    rd.hard_state = emitted_hs_;
  }
  rd.snapshot = std::move(pending_install_);
  pending_install_.reset();
  rd.entries = log_.unstable_entries();
  log_.mark_emitted();
  rd.early_messages = std::move(early_msgs_);
  early_msgs_.clear();
  rd.messages = std::move(msgs_);
  msgs_.clear();
  const Index apply_limit = cfg_.bugs.apply_before_commit ? log_.last_index() : log_.committed();
  rd.committed_entries = log_.entries_to_apply(apply_limit);
  log_.mark_applying(rd.committed_entries.empty() ? log_.applied() : rd.committed_entries.back().index);
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  ready_outstanding_ = true;
  return rd;
}

std::vector<Message> Core::take_early_messages() {
  std::vector<Message> out = std::move(early_msgs_);
  early_msgs_.clear();
  return out;
}

void Core::advance() {
  MINGA_ASSERT(ready_outstanding_, "advance() without ready()");
  ready_outstanding_ = false;
  log_.mark_persisted();
  log_.mark_applied();
  if (!cfg_.bugs.apply_before_commit) {
    MINGA_ASSERT(log_.applied() <= log_.committed(), "applied an uncommitted entry");
  }
  // The leader's own durable log just grew: it may complete a quorum.
  if (is_leader()) commit_and_broadcast();
}

Result<SnapshotPtr> Core::compact(Index index, std::string data) {
  if (index <= log_.snapshot().index || index > log_.applied()) {
    return Error{Errc::invalid_argument, "compaction index must be applied and past the last snapshot"};
  }
  SnapshotMeta meta{index, *log_.term_at(index), log_.membership_at(index)};
  log_.compact(meta);
  latest_snapshot_ = std::make_shared<const Snapshot>(Snapshot{std::move(meta), std::move(data)});
  return latest_snapshot_;
}

}  // namespace minga::raft
