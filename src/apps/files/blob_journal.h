// Group commit of small blobs (docs/adr/010-blob-group-commit.md): a blob
// of at most BlobJournal::kMaxBlob bytes is made durable by appending it to
// a journal segment, DIR/journal/<seq>.log, and one fdatasync of the
// segment covers every blob appended while the previous one ran. Only then
// is the blob's own file put in place (without an fsync of its own); a
// segment is deleted once every blob it holds is in place and a syncfs
// made those files durable. At start, recover() writes back durably every
// blob of the segments left behind (the node stopped or crashed before
// their checkpoint), so a blob acknowledged once is never lost.
//
// A segment may also stay as the permanent home of the small blobs in it
// (packs, docs/adr/011-blob-packs.md): while `retained(seq)` says so, its
// checkpoint keeps it, and discard(seq) deletes it once nothing in it is
// wanted any more.
//
// Threads: append_async() only copies its record into memory and never
// blocks on the disk; one syncer thread writes each batch of records with
// one write and covers it with one fdatasync, then runs the callbacks of
// the synced batch itself (indexing or placing the blobs, answering the
// requests: nothing that waits), while the next batch gathers; one
// completion thread runs the callbacks of failed batches and the jobs
// posted to it; one checkpointer thread runs the syncfs of full segments;
// one preparer thread writes zeros ahead of the records of the open
// segment (kPrepareBytes at a time) and syncs them, so that a batch's
// fdatasync overwrites allocated blocks and commits no metadata.
// append() is the blocking form, for callers that may wait (never from a
// callback).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.h"

namespace minga::files {

class BlobJournal {
 public:
  static constexpr std::uint64_t kMaxBlob = 1u << 20;
  // A segment is sealed (a new one started) past this many bytes.
  static constexpr std::uint64_t kSegmentBytes = 64u << 20;
  // Records waiting for their sync, at most (a stalled disk refuses more
  // with busy rather than holding every incoming blob in memory).
  static constexpr std::uint64_t kMaxBufferedBytes = 256u << 20;
  // Zeros written ahead of the open segment's records, at a time; a new
  // step starts once less than half of one is left.
  static constexpr std::uint64_t kPrepareBytes = 4u << 20;
  // Makes a segment's written bytes durable; fdatasync(2) unless a test
  // injects a failing one. Returns 0 or -1 with errno set.
  using SyncFn = std::function<int(int fd)>;

  // Whether segment `seq` still holds blobs in use (kept past its
  // checkpoint); called holding the journal's lock.
  using Retained = std::function<bool(std::uint64_t seq)>;

  // `dir` is DIR/journal; `blob_dir` the store (its file system is synced
  // at a checkpoint). Without `retained`, no segment is kept.
  BlobJournal(std::string dir, std::string blob_dir, SyncFn sync = nullptr, Retained retained = nullptr);
  // Stops taking appends, runs the callbacks still due (those not synced
  // fail with shutting_down), joins; leaves unfinished segments to recover().
  ~BlobJournal();
  BlobJournal(const BlobJournal&) = delete;
  BlobJournal& operator=(const BlobJournal&) = delete;

  // Where a durable record's bytes are: segment `seq` (the ticket for
  // release()) from byte `offset`.
  struct Where {
    std::uint64_t seq = 0;
    std::uint64_t offset = 0;
  };
  // The outcome of an append: where the record is once durable, or why it
  // is not; `data` is the blob's bytes as journaled (valid during the call
  // only).
  using Done = std::function<void(Result<Where> where, std::string_view data)>;
  // Appends blob `hash` with its bytes (copied: the caller may drop them on
  // return) without blocking. `done` runs exactly once: on the syncer
  // thread after the fdatasync covering the record (on the completion
  // thread if it failed), or at
  // once on the caller's thread if the journal refuses the record (closing,
  // failed, or busy with kMaxBufferedBytes waiting). `expected`: the caller
  // was counted by expect(1), and no longer is.
  void append_async(std::string_view hash, std::string_view data, Done done, bool expected = false);
  // The same, returning once the record is durable (or refused).
  Result<Where> append(std::string_view hash, std::string_view data, bool expected = false);
  // Runs `job` on the completion thread, after the failures already due
  // (for work that must not run on an I/O thread: checking a blob already
  // on disk). Jobs posted while the journal closes still run.
  void post(std::function<void()> job);
  // A writer that will append soon (+1) or never (-1). While some are
  // expected, a sync waits up to kLinger for them, so that one fdatasync
  // covers the puts in flight rather than the first of them.
  void expect(int delta);
  static constexpr std::chrono::microseconds kLinger{1000};
  // The blob of segment `seq` is in its file, in the pack index, or was
  // given up: once every blob of a sealed segment is, the segment is
  // checkpointed, and deleted unless retained.
  void release(std::uint64_t seq);
  // Segment `seq`, kept at its checkpoint, is no longer retained: deleted
  // now (nothing if it was not kept: its checkpoint will decide).
  void discard(std::uint64_t seq);
  // Whether segment `seq` was kept at a checkpoint or by recover() (sealed,
  // its placed files durable, only retained blobs wanted from it).
  bool kept(std::uint64_t seq) const;
  // The path of segment `seq`, for reading the blobs it keeps.
  std::string segment_path(std::uint64_t seq) const;

  // Replays the segments found in `dir` (before any append): calls
  // `restore(hash, data, where)` for each whole record whose bytes hash
  // right (a torn tail, never acknowledged, ends a segment; a whole record
  // whose bytes do not is skipped), then syncs the file system of
  // `blob_dir` and deletes the segments not retained; the others are kept.
  // Returns the records replayed.
  using Restore = std::function<Status(const std::string& hash, std::string_view data, Where where)>;
  Result<std::uint64_t> recover(const Restore& restore);

  struct Counters {
    std::uint64_t appends = 0;
    std::uint64_t syncs = 0;
    std::uint64_t checkpoints = 0;
  };
  Counters counters() const;

 private:
  // A record waiting for its sync: where its blob's bytes are in the batch.
  struct Waiting {
    std::size_t offset = 0;
    std::size_t length = 0;
    Done done;
  };
  // Records written and synced together.
  struct Batch {
    std::string bytes;
    std::vector<Waiting> waiting;
  };

  Status open_segment();
  // Hands `batch` to the completion thread, to fail its records with
  // `error` (holding mu_).
  void fail_locked(Batch batch, Error error);
  void sync_loop();
  void complete_loop();
  void checkpoint_loop();
  void prepare_loop();
  // Before the syncer writes up to byte `end` of the open segment: waits
  // while the preparer writes zeros there, and asks for more ahead.
  void before_write(std::uint64_t end);

  const std::string dir_;
  const std::string blob_dir_;
  const SyncFn sync_;
  const Retained retained_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;      // the syncer: something to sync
  std::condition_variable complete_cv_;  // the completion thread: jobs
  std::condition_variable seal_cv_;      // the checkpointer
  std::condition_variable prepare_cv_;   // the preparer: zeros wanted; the syncer: zeros written
  bool stopping_ = false;
  bool syncer_done_ = false;
  Batch buffer_;                            // appended, not yet written
  std::int64_t expected_ = 0;               // writers that will append soon
  Status sync_error_ = ok_status();         // a failed fdatasync fails every later append
  std::deque<std::function<void()>> jobs_;  // for the completion thread
  // Per segment: blobs appended and not yet released; sealed segments wait
  // here for the checkpointer.
  std::map<std::uint64_t, std::uint64_t> pending_;
  std::set<std::uint64_t> sealed_;
  std::set<std::uint64_t> kept_;  // checkpointed, and retained then
  // The open segment's bytes known to be allocated and synced (its records,
  // then zeros), the segment the preparer is writing zeros to (0: none),
  // and whether the syncer asked for more.
  std::uint64_t prepared_ = 0;
  std::uint64_t preparing_seq_ = 0;
  bool prepare_wanted_ = false;
  Counters counters_;
  // The syncer's own (no lock; seq_ is changed holding mu_, for the
  // preparer): the open segment.
  int fd_ = -1;
  std::uint64_t seq_ = 0;
  std::uint64_t segment_bytes_ = 0;
  std::thread syncer_;
  std::thread completer_;
  std::thread checkpointer_;
  std::thread preparer_;
};

}  // namespace minga::files
