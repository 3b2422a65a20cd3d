// Group commit of small blobs (docs/adr/010-blob-group-commit.md): a blob
// of at most BlobJournal::kMaxBlob bytes is made durable by appending it to
// a journal segment, DIR/journal/<seq>.log, and one fdatasync of the
// segment covers every blob appended while the previous one ran. Only then
// is the blob's own file renamed into place (without an fsync of its own);
// a segment is deleted once every blob it holds is in place and a syncfs
// made those files durable. At start, recover() writes back durably every
// blob of the segments left behind (the node stopped or crashed before
// their checkpoint), so a blob acknowledged once is never lost.
//
// Threads: append() blocks its caller until its record is durable; one
// syncer thread runs the fdatasyncs, one checkpointer thread the syncfs of
// full segments.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "base/result.h"

namespace minga::files {

class BlobJournal {
 public:
  static constexpr std::uint64_t kMaxBlob = 1u << 20;
  // A segment is sealed (a new one started) past this many bytes.
  static constexpr std::uint64_t kSegmentBytes = 64u << 20;

  // `dir` is DIR/journal; `blob_dir` the store (its file system is synced
  // at a checkpoint).
  BlobJournal(std::string dir, std::string blob_dir);
  ~BlobJournal();  // joins; leaves unfinished segments to recover()
  BlobJournal(const BlobJournal&) = delete;
  BlobJournal& operator=(const BlobJournal&) = delete;

  // Appends blob `hash` with its bytes and returns once they are durable,
  // with a ticket for release(). Many callers share one fdatasync.
  // `expected`: the caller was counted by expect(1), and no longer is.
  Result<std::uint64_t> append(std::string_view hash, std::string_view data, bool expected = false);
  // A writer that will append soon (+1) or never (-1). While some are
  // expected, a sync waits up to kLinger for them, so that one fdatasync
  // covers the puts in flight rather than the first of them.
  void expect(int delta);
  static constexpr std::chrono::microseconds kLinger{1000};
  // The blob of `ticket` is in its file (or was given up): once every blob
  // of a sealed segment is, the segment is checkpointed and deleted.
  void release(std::uint64_t ticket);

  // Replays the segments found in `dir` (before any append): calls
  // `restore(hash, data)` for each whole record whose bytes hash right (a
  // torn tail, never acknowledged, ends a segment), then syncs the file
  // system of `blob_dir` and deletes the segments. Returns the records
  // replayed.
  static Result<std::uint64_t> recover(const std::string& dir, const std::string& blob_dir,
                                       const std::function<Status(const std::string&, std::string_view)>& restore);

  struct Counters {
    std::uint64_t appends = 0;
    std::uint64_t syncs = 0;
    std::uint64_t checkpoints = 0;
  };
  Counters counters() const;

 private:
  Status open_segment_locked();
  void sync_loop();
  void checkpoint_loop();

  const std::string dir_;
  const std::string blob_dir_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;     // the syncer: something to sync
  std::condition_variable durable_cv_;  // appenders: durable_ moved
  std::condition_variable seal_cv_;     // the checkpointer
  bool stopping_ = false;
  int fd_ = -1;
  std::uint64_t seq_ = 0;            // the open segment
  std::uint64_t segment_bytes_ = 0;  // bytes in the open segment
  std::uint64_t appended_ = 0;       // bytes ever appended (all segments)
  std::uint64_t durable_ = 0;        // of which durable
  std::int64_t expected_ = 0;        // writers that will append soon
  Status sync_error_ = ok_status();  // a failed fdatasync fails every later append
  // Per segment: blobs appended and not yet released; sealed segments wait
  // here for the checkpointer.
  std::map<std::uint64_t, std::uint64_t> pending_;
  std::set<std::uint64_t> sealed_;
  Counters counters_;
  std::thread syncer_;
  std::thread checkpointer_;
};

}  // namespace minga::files
