// Core: leader election (Raft §5.2, §5.4.1; pre-vote and leader stickiness
// from the dissertation §9.6).
#include "base/assert.h"
#include "raft/core.h"

namespace minga::raft {

bool Core::in_lease() const {
  return cfg_.check_quorum && lead_ != kNoNode && election_elapsed_ < cfg_.election_timeout_ticks;
}

void Core::become_pre_candidate() {
  MINGA_ASSERT(!is_leader(), "a leader does not pre-campaign");
  // No term change and no vote: a pre-vote round disturbs nobody.
  role_ = PreCandidate{};
  lead_ = kNoNode;
  election_elapsed_ = 0;
  reset_randomized_timeout();
}

void Core::become_candidate() {
  MINGA_ASSERT(!is_leader(), "a leader does not campaign");
  reset(term_.next());
  vote_ = cfg_.id;
  role_ = Candidate{};
}

void Core::become_leader() {
  MINGA_ASSERT(std::holds_alternative<Candidate>(role_), "only a candidate becomes leader");
  reset(term_);
  lead_ = cfg_.id;
  role_ = Leader{};
  Leader& l = leader_state();
  sync_progress();
  // A new leader appends an empty entry of its own term at once: entries of
  // earlier terms commit only beneath it (§5.4.2), and ReadIndex and
  // membership changes wait for it to commit.
  l.term_start = log_.last_index().next();
  log_.append(Entry{term_, l.term_start, EntryType::noop, {}});
  l.uncommitted_bytes = 0;
  bcast_append();
}

void Core::campaign(Campaign kind) {
  if (!promotable()) return;
  Term vote_term;
  if (kind == Campaign::pre_vote) {
    become_pre_candidate();
    vote_term = term_.next();
  } else {
    become_candidate();
    vote_term = term_;
  }
  if (log_.membership().quorum() == 1) {  // the only voter: the election is won
    if (kind == Campaign::pre_vote) {
      campaign(Campaign::election);
    } else {
      become_leader();
    }
    return;
  }
  if (auto* p = std::get_if<PreCandidate>(&role_)) {
    p->votes[cfg_.id] = true;
  } else {
    std::get<Candidate>(role_).votes[cfg_.id] = true;
  }
  for (NodeId voter : log_.membership().voters) {
    if (voter == cfg_.id) continue;
    Message m;
    m.type = MessageType::vote_request;
    m.to = voter;
    m.term = vote_term;
    m.pre_vote = kind == Campaign::pre_vote;
    m.force = kind == Campaign::transfer;
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    send(std::move(m));
  }
}

void Core::handle_vote_request(const Message& m) {
  // A vote already cast in this term may be repeated (the reply was lost);
  // otherwise vote only with no vote cast and no leader known. A pre-vote
  // for a later term commits to nothing.
  const bool can_vote = vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) || (m.pre_vote && m.term > term_);
  const bool up_to_date = cfg_.bugs.vote_without_log_check || log_.is_up_to_date(m.index, m.log_term);
  Message r;
  r.type = MessageType::vote_response;
  r.to = m.from;
  r.pre_vote = m.pre_vote;
  if (can_vote && up_to_date) {
    r.term = m.pre_vote ? m.term : term_;
    if (!m.pre_vote) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    r.reject = true;
  }
  send(std::move(r));
}

void Core::tally(std::map<NodeId, bool>& votes, const Message& m, bool pre_vote) {
  votes.emplace(m.from, !m.reject);
  const Membership& mem = log_.membership();
  std::size_t granted = 0;
  std::size_t rejected = 0;
  for (const auto& [id, yes] : votes) {
    if (!mem.is_voter(id)) continue;
    (yes ? granted : rejected) += 1;
  }
  if (granted >= mem.quorum()) {
    if (pre_vote) {
      campaign(Campaign::election);
    } else {
      become_leader();
    }
  } else if (rejected > mem.voters.size() - mem.quorum()) {
    become_follower(term_, kNoNode);
  }
}

}  // namespace minga::raft
