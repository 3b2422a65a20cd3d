// The Raft driver: runs one raft::Core over real storage, a real network and
// the wall clock, on threads of its own.
//
// Threads and what each owns:
//   raft loop  the Core, exclusively. It takes events (peer messages,
//              reads, membership changes, storage completions) from one
//              queue and the proposals, a batch at a time, from another,
//              and ticks every `tick` of wall time;
//   storage    the RaftStorage: appends, fsyncs and snapshot files, one job
//              at a time, in order;
//   snapshot   writes a local snapshot's file (the bulk of compaction) off
//              the storage thread, so the log's appends never wait behind
//              it; the storage thread then only renames it into place;
//   apply      the state machine: committed entries, snapshots, reads.
//
// Each Ready is handled in the order of docs/raft.md: the leader's early
// messages leave at once (its appends go out while its own fsync runs,
// dissertation §10.2.1); the storage thread persists the snapshot, the
// entries and the hard state with one fsync; then the loop sends the other
// messages (votes and acknowledgments promise durable state), hands the
// committed entries and read states to the apply thread, and calls
// advance(). Only one Ready is outstanding at a time, so everything that
// arrives during an fsync lands in the next one: proposals from many clients
// share one append and one fsync (group commit).
//
// A storage error stops the process (exit 1, after logging it): what reached
// the disk is unknown, and the node recovers from its disk on restart.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "raft/core.h"
#include "storage/raft_storage.h"

namespace minga::replication {

// What the driver applies entries to (the state host).
class Applier {
 public:
  virtual ~Applier() = default;
  // A committed entry of type command; returns the result for its proposer.
  virtual std::string apply(const raft::Entry& entry) = 0;
  virtual std::string snapshot() = 0;
  virtual Status restore(const std::string& data) = 0;
};

// Sends messages to peers; thread-safe; may drop them.
class Outbox {
 public:
  virtual ~Outbox() = default;
  virtual void send(std::vector<raft::Message> messages) = 0;
  virtual void tick() = 0;  // once per tick, on the raft loop
};

struct DriverOptions {
  raft::NodeId id;
  std::chrono::milliseconds tick{50};
  std::uint32_t heartbeat_ticks = 1;  // heartbeat every 50 ms
  std::uint32_t election_ticks = 6;   // election timeout randomized in [300, 600) ms
  // Snapshot when the log holds this many applied entries since the last
  // snapshot AND their commands add up to at least the last snapshot's size
  // times snapshot_log_ratio (LogCabin's snapshotRatio): a snapshot rewrites
  // the whole state, so without the second condition a growing state (records
  // only grow) costs O(state) every snapshot_entries writes and the cost of a
  // write grows with the state. With it, snapshot bytes stay at most
  // 1/ratio of the log bytes written.
  std::uint64_t snapshot_entries = 10000;
  double snapshot_log_ratio = 1.0;
  std::chrono::milliseconds request_timeout{10000};  // proposals and reads not done by then: timeout
  // A read not confirmed by then asks the leader again (a Raft message may
  // be lost, and a read request has no other retry), as etcd does after 500 ms.
  std::chrono::milliseconds read_retry{500};
  std::uint64_t seed = 1;
  // Names a node for log lines ("" when unknown).
  std::function<std::string(raft::NodeId)> name_of;
};

// A view of the core for status pages, refreshed after every loop turn.
struct DriverStatus {
  raft::RoleKind role = raft::RoleKind::follower;
  raft::Term term;
  raft::NodeId leader;
  raft::Index commit;
  raft::Index applied;
  raft::Index last_index;
  raft::Index snapshot_index;
  raft::Membership membership;
  std::map<raft::NodeId, raft::Index> match;  // leader only
  bool quorum_recent = false;                 // leader: heard from a quorum within an election timeout
  std::uint64_t elections = 0;                // times this node campaigned
  std::uint64_t leader_changes = 0;
  std::uint64_t proposals = 0;
  std::uint64_t fsyncs = 0;
  double last_fsync_ms = 0;
};

using ProposeDone = std::function<void(Result<std::string>)>;
using ReadDone = std::function<void(Status)>;

class Driver {
 public:
  // `storage` holds the recovered state; the applier gets restore() of the
  // recovered snapshot in start().
  Driver(DriverOptions options, std::unique_ptr<storage::RaftStorage> storage, Outbox& outbox, Applier& applier);
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  Status start();
  // Stops the threads; pending proposals and reads get shutting_down.
  void stop();

  // All thread-safe.
  void deliver(std::vector<raft::Message> messages);
  void propose(std::string data, ProposeDone done);
  void read_barrier(ReadDone done);
  // Membership: the index of the config entry once it is committed and
  // applied here (0 at once for an op that appends no entry, such as a
  // leadership transfer), or the core's refusal.
  void change(std::function<Result<raft::Index>(raft::Core&)> op, std::function<void(Result<raft::Index>)> done);
  DriverStatus status() const;
  // The leader this node last knew of (kNoNode when none), as of the last
  // loop turn; cheap (an atomic), for routing a write without a loop turn.
  raft::NodeId leader_hint() const { return raft::NodeId(leader_hint_.load(std::memory_order_relaxed)); }

  // fsync latency, for /metrics (milliseconds, cumulative buckets).
  std::string fsync_histogram_text() const;

 private:
  struct Pending {
    raft::Term term;
    ProposeDone done;
    std::chrono::steady_clock::time_point deadline;
  };
  struct Read {
    ReadDone done;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::steady_clock::time_point retry_at;  // ask the leader again then
  };
  struct Proposal {
    std::string data;
    ProposeDone done;
  };
  struct ApplyJob {
    raft::SnapshotPtr snapshot;
    std::vector<raft::Entry> entries;
    std::vector<std::pair<raft::Index, Read>> reads;
  };

  void post(std::function<void()> event);
  void loop();
  void take_proposals(std::vector<Proposal>& proposals);
  void fail_reads_of_another_leader();
  void on_tick();
  void handle_ready();
  void persisted(raft::Ready rd);
  void maybe_compact();
  void refresh_status();
  void storage_loop();
  void snapshot_loop();
  void apply_loop();
  void apply(ApplyJob& job);
  void serve_reads();  // apply thread: reads whose index is applied, and those past their deadline
  [[noreturn]] void fatal(const std::string& what, const Error& e);

  DriverOptions opt_;
  std::unique_ptr<storage::RaftStorage> storage_;
  Outbox& outbox_;
  Applier& applier_;
  std::unique_ptr<raft::Core> core_;

  // raft loop
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> events_;
  // Proposals wait here for the loop's next turn, all of them taken at once.
  // They wake the loop only when it waits with no persist running: during a
  // persist they could only go into the next Ready, which the end of the
  // persist starts (its completion wakes the loop), so a burst of writes
  // costs one wake-up, not one each.
  std::vector<Proposal> proposals_;
  bool proposals_wake_ = false;  // the loop waits, and no persist runs
  bool stopping_ = false;
  bool persisting_ = false;                // raft loop only (read under mu_ by the loop's wait)
  std::vector<Proposal> proposals_taken_;  // raft loop: the batch being proposed (its capacity is kept)
  std::vector<std::string> commands_;      // raft loop: the batch's commands, for the core (capacity kept)
  struct Compaction {
    raft::Index index;
    std::string data;
    double take_ms = 0;  // the apps' snapshot() on the apply thread
  };
  std::optional<Compaction> pending_compaction_;
  std::uint64_t next_read_ = 1;          // seeded at start: a stale answer from before a restart matches nothing
  std::map<std::uint64_t, Read> reads_;  // read_index context -> caller
  raft::NodeId last_leader_;
  raft::RoleKind last_role_ = raft::RoleKind::follower;
  std::thread loop_thread_;

  // proposals: inserted on the loop, completed on the apply thread
  std::mutex pending_mu_;
  std::map<raft::Index, Pending> pending_;

  // storage thread
  std::mutex storage_mu_;
  std::condition_variable storage_cv_;
  std::deque<std::function<void()>> storage_jobs_;
  bool storage_stop_ = false;
  std::thread storage_thread_;

  // snapshot thread: local snapshots to write, in order
  std::mutex snapshot_mu_;
  std::condition_variable snapshot_cv_;
  std::deque<std::pair<raft::SnapshotPtr, double>> snapshot_jobs_;  // with the take_ms
  bool snapshot_stop_ = false;
  std::thread snapshot_thread_;

  // apply thread
  std::mutex apply_mu_;
  std::condition_variable apply_cv_;
  std::deque<ApplyJob> apply_jobs_;
  bool apply_stop_ = false;
  std::thread apply_thread_;
  std::atomic<std::uint64_t> applied_{0};
  std::uint64_t last_snapshot_index_ = 0;                    // apply thread
  std::uint64_t last_snapshot_bytes_ = 0;                    // apply thread: size of the last snapshot's data
  std::uint64_t log_bytes_since_snapshot_ = 0;               // apply thread: command bytes applied since it
  std::multimap<raft::Index, Read> read_waits_;              // apply thread: reads waiting for their index
  std::vector<std::pair<raft::Index, Pending>> completing_;  // apply thread: the proposals of the job applied

  mutable std::mutex status_mu_;
  DriverStatus status_;
  std::atomic<std::uint64_t> leader_hint_{0};
  std::atomic<std::uint64_t> fsyncs_{0};
  mutable std::mutex hist_mu_;
  std::vector<std::uint64_t> fsync_buckets_;  // counts per bucket of kFsyncBucketsMs
  double fsync_sum_ms_ = 0;
};

}  // namespace minga::replication
