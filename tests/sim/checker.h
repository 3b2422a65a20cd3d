// Safety checkers run by the simulator after every event:
//   - election safety: at most one leader per term;
//   - log matching: an (index, term) pair names one entry, with one
//     predecessor term, on every node;
//   - committed entries never change or disappear: every node's committed
//     prefix agrees, and every leader of a later term holds them (leader
//     completeness);
//   - state machine safety: every node applies the same entry, with the same
//     resulting state, at each index, in order;
//   - each server votes for at most one candidate per term, across crashes
//     (checked on the wire: the grants it sends and its own vote requests);
//   - commit safety: when an entry commits, no node lacking it could win an
//     election (its log, in memory or on disk, is less up to date than
//     those of a quorum) -- the invariant behind leader completeness, checked
//     at once rather than when a bad leader finally appears;
//   - a node's commit index never decreases (within one incarnation; after a
//     restart it resumes from its durable hard state);
//   - a node applies indexes in order, without gaps, and a snapshot it
//     installs ends with the entry committed at its index.
// A violation is reported as "<rule>: <what happened>"; tests match the rule.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "raft/core.h"

namespace minga::sim {

// The terms of a durable log: what a node would restart with if it crashed
// now.
struct LogView {
  raft::Index snap_index;
  raft::Term snap_term;
  std::vector<raft::Term> terms;  // of the entries after snap_index

  raft::Index last_index() const { return snap_index + terms.size(); }
  raft::Term last_term() const { return terms.empty() ? snap_term : terms.back(); }
  // Holds entry (i, t), or a snapshot covering i.
  bool holds(raft::Index i, raft::Term t) const;
  void reset(const raft::SnapshotMeta& snap);
  void append(const std::vector<raft::Entry>& entries);
  void compact(const raft::SnapshotMeta& snap);
};

struct NodeView {
  const raft::Core* core = nullptr;  // null while the node is down
  const LogView* durable = nullptr;
};

class Checker {
 public:
  explicit Checker(std::size_t nodes);

  // A node is about to persist `entries`; `prev_term` is its term at the
  // index before the first one.
  void on_entries(std::uint64_t node, const std::vector<raft::Entry>& entries, raft::Term prev_term);
  void on_apply(std::uint64_t node, const raft::Entry& e, std::uint64_t state_hash);
  void on_install(std::uint64_t node, const raft::SnapshotMeta& meta, std::uint64_t state_hash);
  void on_restart(std::uint64_t node, const raft::Core& core, std::uint64_t state_hash);
  // `node` is now a new server with an empty disk: what the old one did
  // (its votes, its applied prefix) no longer binds it.
  void on_replace(std::uint64_t node);
  // Every message a node sends.
  void on_send(const raft::Message& m);
  // `nodes[i]` describes node i+1.
  void after_event(const std::vector<NodeView>& nodes);

  bool ok() const { return violation_.empty(); }
  const std::string& violation() const { return violation_; }
  std::uint64_t max_committed() const { return committed_.size(); }
  std::uint64_t max_term() const { return leader_of_term_.empty() ? 0 : leader_of_term_.rbegin()->first; }

 private:
  struct Committed {
    std::uint64_t term = 0;
    std::uint64_t hash = 0;
    std::uint64_t seen_in_term = 0;  // a leader elected after this term must hold it
  };
  struct Applied {
    std::uint64_t entry_hash = 0;
    std::uint64_t state_hash = 0;
  };
  struct PerNode {
    raft::Index last_commit;
    raft::Index checked_commit;
    raft::Index next_apply{1};
  };

  void fail(std::string what);
  void check_commits(std::uint64_t node, const raft::Core& c);
  void check_leader(std::uint64_t node, const raft::Core& c);
  void check_commit_safety(std::uint64_t node, const std::vector<NodeView>& nodes);
  void check_state(std::uint64_t node, raft::Index index, std::uint64_t state_hash);
  void record_vote(std::uint64_t voter, std::uint64_t term, std::uint64_t candidate);

  std::vector<PerNode> nodes_;
  std::map<std::uint64_t, std::uint64_t> leader_of_term_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> votes_;  // (voter, term) -> candidate
  // (index, term) -> (entry hash, previous term)
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::pair<std::uint64_t, std::uint64_t>> entries_;
  std::vector<Committed> committed_;                          // by index - 1
  std::map<std::uint64_t, std::uint64_t> committed_by_term_;  // term seen -> highest index
  std::vector<Applied> applied_;                              // by index - 1
  std::string violation_;
};

}  // namespace minga::sim
