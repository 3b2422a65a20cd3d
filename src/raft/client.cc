// Core: requests from the driver — proposals, ReadIndex reads (§6.4 of the
// dissertation), membership changes one server at a time (§4.1), and
// leadership transfer (§3.10).
#include <algorithm>
#include <string>

#include "base/assert.h"
#include "raft/core.h"

namespace minga::raft {
namespace {

Error not_leader(NodeId lead) {
  return Error{Errc::not_leader, "not the leader; leader is " + std::to_string(lead.value)};
}

}  // namespace

Result<Index> Core::append_as_leader(EntryType type, std::string data) {
  if (!is_leader()) return not_leader(lead_);
  Leader& l = leader_state();
  if (l.transferee != kNoNode) return Error{Errc::busy, "leadership transfer in progress"};
  if (l.uncommitted_bytes + data.size() > cfg_.max_uncommitted_bytes) {
    return Error{Errc::busy, "too many uncommitted entries"};
  }
  Entry e{term_, log_.last_index().next(), type, std::move(data)};
  l.uncommitted_bytes += entry_bytes(e);
  const Index index = e.index;
  log_.append(std::move(e));
  return index;
}

Result<Index> Core::propose(std::string command) {
  auto index = append_as_leader(EntryType::command, std::move(command));
  if (index) bcast_append();
  return index;
}

std::vector<Result<Index>> Core::propose(std::span<std::string> commands) {
  std::vector<Result<Index>> out;
  out.reserve(commands.size());
  bool appended = false;
  for (std::string& c : commands) {
    out.push_back(append_as_leader(EntryType::command, std::move(c)));
    appended = appended || out.back().ok();
  }
  if (appended) bcast_append();
  return out;
}

// ---- membership -----------------------------------------------------------

Result<Index> Core::change_membership(Membership next) {
  if (!is_leader()) return not_leader(lead_);
  const Leader& l = leader_state();
  // Until the leader commits in its own term it cannot know whether an
  // earlier leader's uncommitted change exists elsewhere (the single-server
  // change bug found after the dissertation).
  if (log_.committed() < l.term_start) return Error{Errc::not_yet, "leader has not committed in its term yet"};
  if (log_.membership_index() > log_.committed()) return Error{Errc::busy, "a membership change is in progress"};
  auto index = append_as_leader(EntryType::config, encode_membership(next));
  if (!index) return index;
  on_membership_changed();
  if (is_leader()) bcast_append();
  return index;
}

Result<Index> Core::add_learner(NodeId node) {
  Membership next = log_.membership();
  if (node == kNoNode || next.contains(node)) return Error{Errc::invalid_argument, "already a member"};
  next.learners.insert(node);
  return change_membership(std::move(next));
}

Result<Index> Core::promote(NodeId node) {
  Membership next = log_.membership();
  if (!next.is_learner(node)) return Error{Errc::invalid_argument, "not a learner"};
  if (const Progress* pr = progress(node); is_leader() && (pr == nullptr || pr->match < log_.committed())) {
    return Error{Errc::not_yet, "learner has not caught up"};
  }
  next.learners.erase(node);
  next.voters.insert(node);
  return change_membership(std::move(next));
}

Result<Index> Core::remove(NodeId node) {
  Membership next = log_.membership();
  if (!next.contains(node)) return Error{Errc::invalid_argument, "not a member"};
  if (next.is_voter(node) && next.voters.size() == 1)
    return Error{Errc::invalid_argument, "cannot remove the last voter"};
  next.voters.erase(node);
  next.learners.erase(node);
  return change_membership(std::move(next));
}

Status Core::transfer_leadership(NodeId target) {
  if (!is_leader()) return not_leader(lead_);
  if (target == cfg_.id) return ok_status();
  if (!log_.membership().is_voter(target)) return Status::fail(Errc::invalid_argument, "target is not a voter");
  Leader& l = leader_state();
  if (l.transferee == target) return ok_status();
  l.transferee = target;
  election_elapsed_ = 0;  // the transfer fails after one election timeout
  if (l.progress.at(target).match == log_.last_index()) {
    Message t;
    t.type = MessageType::timeout_now;
    t.to = target;
    send(std::move(t));
  } else {
    send_append(target, true);
  }
  return ok_status();
}

// ---- reads ----------------------------------------------------------------

Status Core::read_index(std::uint64_t context) {
  if (is_leader()) return leader_read(context, cfg_.id);
  if (!std::holds_alternative<Follower>(role_) || lead_ == kNoNode) return not_leader(lead_);
  Message m;
  m.type = MessageType::read_index_request;
  m.to = lead_;
  m.context = context;
  send(std::move(m));
  return ok_status();
}

Status Core::leader_read(std::uint64_t context, NodeId from) {
  Leader& l = leader_state();
  if (l.reads.size() + l.reads_before_commit.size() >= cfg_.max_pending_reads) {
    return Status::fail(Errc::busy, "too many pending reads");
  }
  PendingRead r{context, from, log_.committed(), 0};
  // Before its first commit, the leader's commit index may be behind what
  // earlier leaders committed.
  if (log_.committed() < l.term_start) {
    l.reads_before_commit.push_back(r);
    return ok_status();
  }
  r.seq = ++l.read_seq;
  l.reads.push_back(r);
  bcast_heartbeat();
  advance_reads();  // a single voter confirms alone
  return ok_status();
}

// Release every read whose heartbeat round a quorum of voters answered.
void Core::advance_reads() {
  Leader& l = leader_state();
  const Membership& mem = log_.membership();
  std::vector<std::uint64_t> acked;
  for (NodeId id : mem.voters) {
    if (id == cfg_.id) {
      acked.push_back(l.read_seq);
    } else if (auto it = l.progress.find(id); it != l.progress.end()) {
      acked.push_back(it->second.read_seq_acked);
    }
  }
  if (acked.size() < mem.quorum()) return;
  std::sort(acked.begin(), acked.end(), std::greater<>());
  const std::uint64_t confirmed = acked[mem.quorum() - 1];
  while (!l.reads.empty() && l.reads.front().seq <= confirmed) {
    release_read(l.reads.front());
    l.reads.pop_front();
  }
}

void Core::release_read(const PendingRead& r) {
  if (r.from == cfg_.id) {
    read_states_.push_back({r.context, r.index});
    return;
  }
  Message m;
  m.type = MessageType::read_index_response;
  m.to = r.from;
  m.context = r.context;
  m.index = r.index;
  send(std::move(m));
}

}  // namespace minga::raft
