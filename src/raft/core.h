// The Raft consensus core: a pure, single-threaded state machine.
//
// Inputs: tick() (logical time), step(message), propose(command),
// read_index(context), membership changes and leadership transfer. Output: a
// Ready batch the driver handles in the order documented in raft/ready.h,
// then advance(). There are no sockets, files, threads, clocks or global
// randomness in here; the election timeout is drawn from a generator seeded
// by Config::seed, so the same inputs always give the same outputs.
//
// Driver contract, in short: persist, then send, then apply, then answer
// reads, then advance(). ready() may be called again only after advance();
// every other input may arrive in between.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "base/random.h"
#include "base/result.h"
#include "raft/config.h"
#include "raft/log.h"
#include "raft/message.h"
#include "raft/progress.h"
#include "raft/ready.h"
#include "raft/types.h"

namespace minga::raft {

struct Follower {};

struct PreCandidate {
  std::map<NodeId, bool> votes;  // granted or not, per voter that answered
};

struct Candidate {
  std::map<NodeId, bool> votes;
};

// A read waiting for a quorum to confirm, by answering heartbeat round
// `seq`, that this server was still the leader after the read arrived.
struct PendingRead {
  std::uint64_t context = 0;
  NodeId from;  // this server, or the follower that forwarded it
  Index index;  // the commit index when the read arrived
  std::uint64_t seq = 0;
};

struct Leader {
  std::map<NodeId, Progress> progress;           // every member but this server
  NodeId transferee = kNoNode;                   // leadership transfer in progress
  Index term_start;                              // index of this term's noop entry
  std::uint64_t read_seq = 0;                    // latest heartbeat round
  std::deque<PendingRead> reads;                 // waiting for a heartbeat quorum
  std::vector<PendingRead> reads_before_commit;  // waiting for the term's first commit
  std::size_t uncommitted_bytes = 0;
};

using Role = std::variant<Follower, PreCandidate, Candidate, Leader>;
enum class RoleKind : std::uint8_t { follower = 0, pre_candidate = 1, candidate = 2, leader = 3 };
const char* role_name(RoleKind r);

class Core {
 public:
  Core(const Config& config, InitialState state);

  void tick();
  // Malformed messages (not for us, bad entry ranges, ...) are refused with
  // Errc::invalid_argument and change nothing.
  Status step(const Message& m);
  // Leader only. Returns the index the command will have if it commits.
  Result<Index> propose(std::string command);
  // Leader only: propose() for a batch, each command appended (or refused)
  // in order, results in the same order. The followers get one append for
  // the whole batch instead of one per command. The commands are moved from.
  std::vector<Result<Index>> propose(std::span<std::string> commands);
  // Linearizable read: a ReadState{context, index} comes out of a later
  // Ready once the leader has confirmed its leadership. Followers forward to
  // the leader; without a known leader this fails with Errc::not_leader.
  Status read_index(std::uint64_t context);

  // Membership changes, one server at a time, leader only. Each returns the
  // index of the config entry; the change is in force once appended.
  Result<Index> add_learner(NodeId node);
  Result<Index> promote(NodeId node);  // learner -> voter once caught up
  Result<Index> remove(NodeId node);   // voter or learner, the leader included
  Status transfer_leadership(NodeId target);

  // The driver took a snapshot of the state machine at `index` (<= applied):
  // drop the log up to there. Returns the snapshot the core keeps to send to
  // lagging followers; the driver persists it.
  Result<SnapshotPtr> compact(Index index, std::string data);

  bool has_ready() const;
  Ready ready();
  void advance();
  // The early messages queued so far (a leader's appends, heartbeats,
  // snapshots, timeout_now and read answers): they promise nothing about
  // durable state, so a driver may send them at any time, also while a Ready
  // is being persisted, instead of waiting for the next ready(). A leader's
  // appends of entries proposed during its own fsync then leave at once.
  std::vector<Message> take_early_messages();

  // Introspection (status pages, tests, simulator checkers).
  NodeId id() const { return cfg_.id; }
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId leader() const { return lead_; }
  RoleKind role() const { return static_cast<RoleKind>(role_.index()); }
  bool is_leader() const { return std::holds_alternative<Leader>(role_); }
  const RaftLog& log() const { return log_; }
  const Membership& membership() const { return log_.membership(); }
  HardState hard_state() const { return {term_, vote_, log_.committed()}; }
  const Progress* progress(NodeId peer) const;
  NodeId transferee() const;

 private:
  // core.cc: terms, ticks, dispatch, output
  Status validate(const Message& m) const;
  void send(Message m);
  void reset(Term term);
  void reset_randomized_timeout();
  void become_follower(Term term, NodeId lead);
  void tick_leader();
  void promote_caught_up_learner();
  bool step_by_term(const Message& m);
  void step_follower(const Message& m);
  void step_candidate(const Message& m);
  void step_leader(const Message& m);
  void sync_progress();
  void on_membership_changed();
  bool promotable() const { return log_.membership().is_voter(cfg_.id); }
  Leader& leader_state() { return std::get<Leader>(role_); }

  // election.cc
  enum class Campaign : std::uint8_t { pre_vote, election, transfer };
  void campaign(Campaign kind);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void handle_vote_request(const Message& m);
  void tally(std::map<NodeId, bool>& votes, const Message& m, bool pre_vote);
  bool in_lease() const;

  // replication.cc
  void handle_append(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_snapshot(const Message& m);
  void handle_append_response(const Message& m);
  void handle_heartbeat_response(const Message& m);
  bool send_append(NodeId to, bool send_if_empty);
  void send_snapshot(NodeId to, Progress& pr);
  void send_heartbeat(NodeId to, const Progress& pr);
  void bcast_append();
  void bcast_heartbeat();
  bool maybe_commit();
  void commit_and_broadcast();
  void after_commit();
  bool quorum_active() const;
  Index self_match() const { return log_.stable_index(); }

  // client.cc: proposals, reads, membership, transfer
  Result<Index> append_as_leader(EntryType type, std::string data);
  Result<Index> change_membership(Membership next);
  Status leader_read(std::uint64_t context, NodeId from);
  void advance_reads();
  void release_read(const PendingRead& r);

  Config cfg_;
  Random rng_;
  RaftLog log_;
  Term term_;
  NodeId vote_ = kNoNode;
  NodeId lead_ = kNoNode;
  Role role_;
  std::uint32_t election_elapsed_ = 0;
  std::uint32_t heartbeat_elapsed_ = 0;
  std::uint32_t randomized_timeout_ = 0;

  SnapshotPtr latest_snapshot_;  // what lagging followers get
  SnapshotPtr pending_install_;  // received from the leader, not yet handed out
  HardState emitted_hs_;
  std::vector<Message> early_msgs_;
  std::vector<Message> msgs_;
  std::vector<ReadState> read_states_;
  bool ready_outstanding_ = false;
};

}  // namespace minga::raft
