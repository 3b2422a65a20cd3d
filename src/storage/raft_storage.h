// The durable state of one Raft server in one directory:
//   wal-*.log   the log (see storage/wal.h), one record per entry;
//   hardstate   term, vote, commit — replaced atomically;
//   snapshot    the latest snapshot, with the first WAL segment of the log
//               that follows it — replaced atomically.
// Replaying the log: records are read in order; an entry at index i
// replaces the entry at i and everything after it (so overwrites need no
// rewriting); entries at or below the snapshot index are skipped.
//
// Every failure is returned. After a failed write or fsync the storage
// refuses all further writes: what reached the disk is unknown (an fsync
// error cannot be retried), so the server must restart and recover.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "raft/ready.h"
#include "storage/codec.h"
#include "storage/file_system.h"
#include "storage/wal.h"

namespace minga::storage {

struct StorageOptions {
  WalOptions wal;
};

struct RecoveryReport {
  bool fresh = false;  // the directory was empty and got initialized
  WalRecovery wal;
};

class RaftStorage {
 public:
  // Opens (and recovers) the state in `dir`. An empty directory is
  // initialized with `bootstrap` as the membership before the first entry.
  static Result<std::unique_ptr<RaftStorage>> open(FileSystem& fs, const std::string& dir,
                                                   const raft::Membership& bootstrap,
                                                   const StorageOptions& options = {});

  const RecoveryReport& report() const { return report_; }
  // What the core starts from. Valid until the first write.
  const raft::InitialState& initial_state() const { return initial_; }

  // Ready handling: append the batch's entries, sync (one fsync for the
  // batch), then save the hard state.
  Status append(const std::vector<raft::Entry>& entries);
  Status sync();
  // Durable when this returns. The file is replaced (two more fsyncs) only
  // when the term or the vote changed: commit is volatile state in Raft
  // (a restarted server relearns it from the leader), so a commit-only
  // change is written with the next term or vote change, and a batch that
  // only moves commit costs the log's one fsync.
  Status save_hard_state(const raft::HardState& hs);
  // A snapshot from the leader that replaces the whole log (durable when
  // this returns).
  Status install_snapshot(const raft::Snapshot& s);
  // A snapshot of the local state machine (compaction): durable when this
  // returns; whole segments it covers are then deleted. The same as
  // prepare_snapshot, then commit_snapshot.
  Status save_snapshot(const raft::Snapshot& s);

  // Compaction in two steps, so that writing a large snapshot does not hold
  // up the log. prepare_snapshot writes and fsyncs `snapshot.local.tmp`; it
  // may run on another thread than the other calls (one prepare at a time).
  // commit_snapshot, on the thread of the other calls, renames it over the
  // snapshot file (index, term, membership and data switch in one step),
  // fsyncs the directory and deletes the whole segments it covers; when a
  // leader's snapshot was installed since the prepare (or a newer snapshot
  // is in place) it discards the prepared file instead.
  struct Prepared {
    raft::SnapshotMeta meta;
    std::uint64_t wal_first_segment = 0;
    std::string tmp;  // the prepared file
  };
  Result<Prepared> prepare_snapshot(const raft::Snapshot& s);
  Status commit_snapshot(const Prepared& p);

  std::size_t segment_count() const { return wal_->segments().size(); }

 private:
  RaftStorage(FileSystem& fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}
  Status load(const raft::Membership& bootstrap, const StorageOptions& options);
  Status replay(std::uint64_t segment, std::string_view payload);
  Status guard(Status st);

  FileSystem& fs_;
  std::string dir_;
  std::unique_ptr<Wal> wal_;
  mutable std::mutex snap_mu_;                        // snap_'s meta and segment, read by prepare_snapshot
  SnapshotFile snap_;                                 // data is not kept after open
  std::map<std::uint64_t, raft::Index> segment_max_;  // highest entry index written per segment
  RecoveryReport report_;
  raft::InitialState initial_;
  raft::HardState written_hs_;  // as in the hard state file
  bool failed_ = false;
};

}  // namespace minga::storage
