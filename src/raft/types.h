// The vocabulary of the consensus core: ids, log entries, membership, the
// durable hard state and snapshots. Plain values; no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/strong_id.h"

namespace minga::raft {

struct TermTag {};
struct IndexTag {};
struct NodeIdTag {};

// Term 0 and index 0 exist only before the first entry; node id 0 means
// "nobody" (no vote cast, no known leader).
using Term = Strong<TermTag>;
using Index = Strong<IndexTag>;
using NodeId = Strong<NodeIdTag>;

inline constexpr NodeId kNoNode{0};

constexpr Index operator+(Index i, std::uint64_t n) { return Index(i.value + n); }
constexpr Index operator-(Index i, std::uint64_t n) { return Index(i.value - n); }
constexpr Index min_index(Index a, Index b) { return a < b ? a : b; }
constexpr Index max_index(Index a, Index b) { return a < b ? b : a; }

enum class EntryType : std::uint8_t {
  command = 1,  // opaque bytes for the state machine
  noop = 2,     // appended by every new leader; nothing to apply
  config = 3,   // a new membership (encode_membership), in force once appended
};

struct Entry {
  Term term;
  Index index;
  EntryType type = EntryType::command;
  std::string data;

  bool operator==(const Entry&) const = default;
};

// Bytes an entry costs in flow control and batching (payload plus a fixed
// header estimate).
inline std::size_t entry_bytes(const Entry& e) { return e.data.size() + 24; }

// The servers of the cluster. Voters elect and form quorums; learners only
// receive the log (a new server catches up as a learner before promotion).
struct Membership {
  std::set<NodeId> voters;
  std::set<NodeId> learners;

  bool is_voter(NodeId id) const { return voters.count(id) != 0; }
  bool is_learner(NodeId id) const { return learners.count(id) != 0; }
  bool contains(NodeId id) const { return is_voter(id) || is_learner(id); }
  std::size_t quorum() const { return voters.size() / 2 + 1; }
  bool operator==(const Membership&) const = default;
};

// Encoding of a membership inside a config entry (and in snapshot files):
// count of voters, ids, count of learners, ids, all little-endian u64.
std::string encode_membership(const Membership& m);
// Returns false on malformed input (then `out` is unspecified).
bool decode_membership(const std::string& bytes, Membership& out);

// What must be on disk before the node sends the messages of a Ready.
struct HardState {
  Term term;
  NodeId vote = kNoNode;  // whom this node voted for in `term`
  Index commit;           // advisory: may lag; never exceeds the durable log

  bool operator==(const HardState&) const = default;
};

// A snapshot covers every entry up to and including `index`.
struct SnapshotMeta {
  Index index;
  Term term;
  Membership membership;  // the membership in force at `index`

  bool operator==(const SnapshotMeta&) const = default;
};

struct Snapshot {
  SnapshotMeta meta;
  std::string data;  // the state machine's own encoding
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace minga::raft
