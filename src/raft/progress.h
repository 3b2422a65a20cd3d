// What a leader knows about one follower's log, and the flow control of the
// append messages it sends to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>

#include "raft/types.h"

namespace minga::raft {

// Append messages sent but not yet acknowledged, bounded in count and bytes.
class Inflights {
 public:
  Inflights(std::size_t max_count, std::size_t max_bytes) : max_count_(max_count), max_bytes_(max_bytes) {}
  void add(Index last, std::size_t bytes);
  void free_to(Index acked);  // frees every message whose last entry is <= acked
  void free_first();
  void reset();
  bool full() const { return q_.size() >= max_count_ || bytes_ >= max_bytes_; }
  std::size_t count() const { return q_.size(); }

 private:
  std::size_t max_count_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::deque<std::pair<Index, std::size_t>> q_;
};

struct Progress {
  // probe: one append at a time until the follower's match is found;
  // replicate: pipeline appends within the inflight window;
  // snapshot: a snapshot is on its way, send nothing else.
  enum class State : std::uint8_t { probe, replicate, snapshot };

  Progress(Index next_index, std::size_t max_inflight_messages, std::size_t max_inflight_bytes)
      : next(next_index), inflights(max_inflight_messages, max_inflight_bytes) {}

  Index match;  // highest index known to be in the follower's durable log
  Index next;   // next index to send
  State state = State::probe;
  bool probe_sent = false;           // probe: an append is in flight
  Index pending_snapshot;            // snapshot: the index being sent
  std::uint32_t snapshot_ticks = 0;  // snapshot: ticks without an answer
  bool recent_active = false;        // heard from it in this check-quorum period
  std::uint64_t read_seq_acked = 0;  // highest heartbeat round it answered
  Inflights inflights;

  bool paused() const;
  // An acknowledgment up to n. Returns true when match moved forward.
  bool maybe_update(Index n);
  // A rejection of the append after `rejected`; `hint` is where the
  // follower's log may match. Returns false when the rejection is stale.
  bool maybe_decrease_to(Index rejected, Index hint);
  void sent_entries(Index last, std::size_t count, std::size_t bytes);
  void become_probe();
  void become_replicate();
  void become_snapshot(Index snapshot_index);
};

const char* progress_state_name(Progress::State s);

}  // namespace minga::raft
