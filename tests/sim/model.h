// The replicated state machine of the simulation — an append-only list — and
// the linearizability checker for client histories against it.
//
// Every append returns the whole list before it and every read returns the
// whole list, so each completed operation reveals its exact position in the
// one total order; the check needs no search and is exact.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "raft/types.h"

namespace minga::sim {

// Command bytes of one append: the operation id (unique in a run).
std::string encode_append(std::uint64_t op);
std::optional<std::uint64_t> decode_append(const std::string& bytes);

// The list, plus a running hash of every entry applied (all types), which
// the checkers compare between nodes index by index.
class ListMachine {
 public:
  // Returns the list as it was before the entry (for a command).
  void apply(const raft::Entry& e);
  std::string snapshot() const;
  // Returns false when the bytes are malformed.
  bool restore(const std::string& bytes, raft::Index index);

  const std::vector<std::uint64_t>& list() const { return list_; }
  std::uint64_t hash() const { return hash_; }
  raft::Index applied() const { return applied_; }

 private:
  std::vector<std::uint64_t> list_;
  std::uint64_t hash_ = 0;
  raft::Index applied_;
};

std::uint64_t entry_hash(const raft::Entry& e);

// One client operation of the history. Sequence numbers order invocations
// and completions in real time (a global event counter).
struct Op {
  enum class Kind : std::uint8_t { append, read };
  Kind kind = Kind::append;
  std::uint64_t id = 0;  // for an append: also the value appended
  std::uint64_t invoked = 0;
  std::optional<std::uint64_t> completed;  // unknown outcome when unset (timeout, crash)
  std::vector<std::uint64_t> result;       // append: the list before it; read: the list
};

// Returns an empty string when the history is linearizable, otherwise the
// first problem found as "<rule>: <details>", the rule one of: divergent
// order (two operations place different values at one position), unknown
// value, duplicate value, real-time order (an operation misses what one
// that finished before it started had made visible: a stale read or a lost
// write), seen before invoked. Pending appends may or may not
// have taken effect; pending reads are ignored.
std::string check_linearizable(const std::vector<Op>& history);

}  // namespace minga::sim
