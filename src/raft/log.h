// The in-memory view of one server's log: a snapshot base, the entries after
// it, the commit and apply positions, and how much of it is durable.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "raft/types.h"

namespace minga::raft {

class RaftLog {
 public:
  RaftLog(const SnapshotMeta& snapshot, std::vector<Entry> entries, Index commit);

  const SnapshotMeta& snapshot() const { return snap_; }
  Index first_index() const { return snap_.index + 1; }
  Index last_index() const { return snap_.index + entries_.size(); }
  Term last_term() const;
  // The term of entry i; nullopt when i is compacted away or beyond the end.
  std::optional<Term> term_at(Index i) const;
  bool matches(Index i, Term t) const;
  // True when a log ending at (last, term) is at least as up to date as ours.
  bool is_up_to_date(Index last, Term term) const;
  // Requires first_index() <= i <= last_index().
  const Entry& at(Index i) const;
  // Entries [lo, hi] (hi clamped to the end), stopping before max_bytes but
  // always holding at least one entry. Requires lo >= first_index().
  std::vector<Entry> slice(Index lo, Index hi, std::size_t max_bytes) const;

  Index committed() const { return committed_; }
  Index applied() const { return applied_; }

  // Follower path: append `entries` that follow (prev, prev_term), replacing
  // a conflicting suffix. Returns the index of the last entry the message
  // vouched for, or nullopt when our log does not contain (prev, prev_term).
  std::optional<Index> maybe_append(Index prev, Term prev_term, Index leader_commit, const std::vector<Entry>& entries);
  // Leader path: `e.index` must be last_index() + 1.
  void append(Entry e);
  // The largest index <= `index` whose term is <= `term`, with that term
  // (term 0 when it is unknown because it was compacted).
  std::pair<Index, Term> find_conflict_by_term(Index index, Term term) const;
  // Never decreases the commit index. Requires i <= last_index().
  void commit_to(Index i);

  // Replace everything with a snapshot from the leader (index > committed).
  void restore(const SnapshotMeta& meta);
  // Drop entries up to meta.index, which the state machine has applied.
  void compact(const SnapshotMeta& meta);

  // The membership in force: the latest config entry in the log (committed
  // or not), or the snapshot's.
  const Membership& membership() const;
  Index membership_index() const;
  Membership membership_at(Index i) const;

  // Durability bookkeeping for Ready/advance.
  std::vector<Entry> unstable_entries() const;
  void mark_emitted() { persisting_ = last_index(); }
  void mark_persisted() { stable_ = persisting_; }
  Index stable_index() const { return stable_; }
  // Entries to apply: (applied, limit]. mark_applying/applied bracket a Ready.
  std::vector<Entry> entries_to_apply(Index limit) const;
  void mark_applying(Index i) { applying_ = i; }
  void mark_applied() { applied_ = max_index(applied_, applying_); }

 private:
  void truncate_after(Index i);
  void note_config(const Entry& e);

  SnapshotMeta snap_;
  std::vector<Entry> entries_;  // entries_[k].index == snap_.index + 1 + k
  Index committed_;
  Index applied_;
  Index applying_;
  Index stable_;
  Index persisting_;
  std::vector<std::pair<Index, Membership>> configs_;  // config entries after the snapshot
};

}  // namespace minga::raft
