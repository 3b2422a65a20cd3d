// Configuration of one consensus core. Times are in ticks: the driver decides
// how long a tick is (e.g. 100 ms), the core never reads a clock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "raft/types.h"

namespace minga::raft {

// Deliberate safety bugs, for tests only: each one lets the simulator prove
// that its checkers catch a real violation. Never set outside tests.
struct TestingBugs {
  bool commit_by_counting = false;      // commit earlier-term entries by counting replicas
  bool vote_without_log_check = false;  // grant votes without the up-to-date check
  bool vote_before_persist = false;     // send a vote grant before the vote is durable
  bool apply_before_commit = false;     // hand out entries to apply before they commit

  bool any() const {
    return commit_by_counting || vote_without_log_check || vote_before_persist || apply_before_commit;
  }
};

struct Config {
  NodeId id;
  // Followers campaign after a random timeout in [election, 2*election).
  std::uint32_t election_timeout_ticks = 10;
  std::uint32_t heartbeat_interval_ticks = 1;
  bool pre_vote = true;
  // A leader steps down when it has not heard from a quorum within an
  // election timeout; followers then also ignore vote requests while they
  // hear from a leader (leader stickiness).
  bool check_quorum = true;

  // Flow control per follower while pipelining.
  std::size_t max_inflight_messages = 64;
  std::size_t max_inflight_bytes = 1 << 20;
  std::size_t max_message_bytes = 64 << 10;  // entries per append message (at least one entry)
  // Proposals are refused (Errc::busy) while this many bytes are uncommitted.
  std::size_t max_uncommitted_bytes = 8 << 20;
  // A leader promotes a learner to voter once the learner holds every
  // committed entry (checked every tick; one change at a time). Off: the
  // driver calls promote(), for learners meant to stay read replicas.
  bool auto_promote_learners = true;
  // Read requests queued before the leader has committed in its term.
  std::size_t max_pending_reads = 4096;

  // Seed of the core's own generator (randomized election timeouts).
  std::uint64_t seed = 1;

  TestingBugs bugs;
};

}  // namespace minga::raft
