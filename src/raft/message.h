// Messages between cores. The network may lose, delay, duplicate and reorder
// any of them; the core is correct under all of that. It never relies on a
// message arriving, only on some messages eventually arriving for liveness.
#pragma once

#include <cstdint>
#include <vector>

#include "raft/types.h"

namespace minga::raft {

enum class MessageType : std::uint8_t {
  vote_request = 1,        // pre_vote selects the pre-vote round
  vote_response = 2,       // reject = not granted
  append_request = 3,      // index/log_term = previous entry; entries; commit
  append_response = 4,     // index = last matching index, or the rejected index
  heartbeat = 5,           // commit, read_seq
  heartbeat_response = 6,  // read_seq echoed
  snapshot = 7,            // snapshot to install
  timeout_now = 8,         // leadership transfer: campaign at once
  read_index_request = 9,  // follower asks the leader for a read index
  read_index_response = 10,
};

const char* message_type_name(MessageType t);

struct Message {
  MessageType type = MessageType::heartbeat;
  NodeId from;
  NodeId to;
  Term term;  // the sender's term (for a pre-vote request: the term it would campaign in)

  bool pre_vote = false;  // vote_request / vote_response of the pre-vote round
  bool reject = false;    // vote_response, append_response
  bool force = false;     // vote_request from a leadership transfer: ignore leader leases

  Index index;    // see MessageType
  Term log_term;  // vote_request: last log term; append_request: previous entry's term
  Index commit;   // append_request, heartbeat
  std::vector<Entry> entries;

  // append_response with reject: where the follower's log may match
  // (fast backtracking, one round trip per term instead of per entry).
  Index hint_index;
  Term hint_term;

  std::uint64_t read_seq = 0;  // heartbeat round, for ReadIndex
  std::uint64_t context = 0;   // read_index_*: the caller's read id
  SnapshotPtr snapshot;        // MessageType::snapshot
};

}  // namespace minga::raft
