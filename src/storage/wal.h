// A write-ahead log of records in numbered segment files.
//
// Segment file `wal-<seq, 16 hex digits>.log`: a 16-byte header ("MWAL",
// u32 version, u64 seq), then records: u32 payload length, u32 CRC-32C of
// (length bytes + payload), payload. Appends are buffered by the OS; sync()
// makes every record appended so far durable with one fdatasync (group
// commit). A segment is made durable before the next one is created, so a
// torn record can only be found at the end of the last segment, with
// nothing whole after it: recovery reports it and truncates the file there.
// Anything bad elsewhere, or a bad record followed by a whole one, is
// corruption of synced data and fails the open (nothing is cut).
//
// The active segment keeps zeros written ahead of its records (up to
// zero_ahead_bytes, refilled at half), so that a sync overwrites allocated
// blocks and commits no file-system metadata (ADR 012). A record is never
// all zeros (the CRC of a zero length is not zero), so an all-zero rest of
// the last segment is its end, not a torn record; rotating cuts the zeros
// off (durably) before the next segment starts.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "storage/file_system.h"

namespace minga::storage {

struct WalOptions {
  std::uint64_t segment_bytes = 8 << 20;     // rotate once a segment is this large
  std::uint64_t max_file_bytes = 1 << 30;    // refuse to read larger files
  std::uint64_t zero_ahead_bytes = 1 << 20;  // zeros kept written ahead of the records (0: none)
};

struct TornTail {
  std::string segment;
  std::uint64_t offset = 0;   // where the file was cut
  std::uint64_t dropped = 0;  // bytes dropped
  std::string reason;
};

struct WalRecovery {
  std::uint64_t segments = 0;
  std::uint64_t records = 0;
  std::vector<TornTail> torn;  // at most one (the last segment's tail)
};

class Wal {
 public:
  using Visit = std::function<Status(std::uint64_t segment, std::string_view payload)>;

  // Replays the records of segments numbered first_segment and above, in
  // order, then deletes older segments. An empty log starts at
  // max(first_segment, 1).
  static Result<std::unique_ptr<Wal>> open(FileSystem& fs, const std::string& dir, std::uint64_t first_segment,
                                           const WalOptions& options, const Visit& visit, WalRecovery& report);

  // Appends records (not durable until sync). Returns the segment used.
  Result<std::uint64_t> append(const std::vector<std::string>& payloads);
  Status sync();
  // Makes the current segment durable and starts a new, empty one.
  Result<std::uint64_t> rotate();
  // Deletes segments numbered below `seq` (never the active one).
  Status remove_below(std::uint64_t seq);

  std::uint64_t active_segment() const { return active_seq_; }
  const std::vector<std::uint64_t>& segments() const { return segments_; }

 private:
  Wal(FileSystem& fs, std::string dir, WalOptions options) : fs_(fs), dir_(std::move(dir)), opt_(options) {}
  std::string path(std::uint64_t seq) const;
  Status create_segment(std::uint64_t seq);
  Status replay_segment(std::uint64_t seq, bool last, const Visit& visit, WalRecovery& report);
  Status keep_zeros_ahead();

  FileSystem& fs_;
  std::string dir_;
  WalOptions opt_;
  std::vector<std::uint64_t> segments_;  // ascending, contiguous, the active one last
  std::uint64_t active_seq_ = 0;
  std::uint64_t active_bytes_ = 0;
  std::uint64_t zeroed_ = 0;  // the active segment is written (records or zeros) up to here
  std::unique_ptr<File> active_;
};

std::string wal_segment_name(std::uint64_t seq);

}  // namespace minga::storage
