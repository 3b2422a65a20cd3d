// The output of the core and the state it restarts from.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "raft/message.h"
#include "raft/types.h"

namespace minga::raft {

// A read that is now linearizable: serve it once the state machine has
// applied at least `index`.
struct ReadState {
  std::uint64_t context = 0;
  Index index;
};

// One batch of work for the driver. Handle it in this order, then call
// Core::advance():
//   0. send `early_messages` (any time, even before persisting);
//   1. persist `snapshot` (if set), then `entries` (an entry at index i
//      replaces the stored entry i and everything after it), then
//      `hard_state` (if set); make all of it durable (one fsync per batch);
//   2. send `messages`;
//   3. install `snapshot` into the state machine (if set), then apply
//      `committed_entries` in order;
//   4. answer `read_states` whose index the state machine has reached.
struct Ready {
  std::optional<HardState> hard_state;
  SnapshotPtr snapshot;  // from the leader: replaces the log and the state machine
  std::vector<Entry> entries;
  // Messages that do not depend on this batch being durable: a leader's
  // appends, heartbeats and snapshots (the leader counts itself in a quorum
  // only for entries it has persisted).
  std::vector<Message> early_messages;
  std::vector<Message> messages;
  std::vector<Entry> committed_entries;
  std::vector<ReadState> read_states;

  bool empty() const {
    return !hard_state && !snapshot && entries.empty() && early_messages.empty() && messages.empty() &&
           committed_entries.empty() && read_states.empty();
  }
};

// What the driver loaded from storage at start. A new cluster starts with
// `snapshot.index == 0` and the initial voters in `snapshot.membership`; a
// server that will join an existing cluster starts with an empty membership.
struct InitialState {
  HardState hard_state;
  SnapshotMeta snapshot;
  SnapshotPtr snapshot_data;   // may be null when snapshot.index == 0
  std::vector<Entry> entries;  // the log after snapshot.index, contiguous
};

}  // namespace minga::raft
