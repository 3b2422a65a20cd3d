// Where lottery commands become durable before they are applied.
//
// This is the lottery's one seam to storage: on a single node it is a local
// append-only file with group commit; in a cluster it becomes the replicated
// log (propose, then apply on commit) without the app changing.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.h"
#include "proto/lottery.pb.h"

namespace minga::lottery {

class CommandLog {
 public:
  using Replay = std::function<void(const pb::LotteryCommand&)>;
  // Runs once the command is durable (or could not be made so), in log
  // order, on the log's own thread.
  using Committed = std::function<void(Status)>;

  virtual ~CommandLog() = default;
  // Opens the log and replays every durable command in order. On an error
  // (the log is unreadable or damaged) `replay` may have seen a prefix of
  // the commands; the caller must not serve from that state.
  virtual Status open(const Replay& replay) = 0;
  // Queues `command`; Errc::busy at once (through `committed`) when the
  // queue is full.
  virtual void append(const pb::LotteryCommand& command, Committed committed) = 0;
  // Makes everything queued durable, then stops. Idempotent.
  virtual void close() = 0;
};

struct RecoveryReport {
  std::uint64_t records = 0;
  std::uint64_t torn_bytes = 0;  // bytes of a torn or corrupt tail, cut off
};

// An append-only file of records `[u32 length][u32 crc32c][protobuf]` after
// an 8-byte magic. A writer thread takes every queued command, writes them
// with one write() and makes them durable with one fdatasync (group commit).
// On open, a torn tail (a bad record with no valid record after it) is
// detected, reported and truncated; a bad record with a valid one after it is
// damage, and open() fails without changing the file.
class FileCommandLog final : public CommandLog {
 public:
  static constexpr std::size_t kDefaultQueueCapacity = 65536;

  explicit FileCommandLog(std::filesystem::path path, std::size_t queue_capacity = kDefaultQueueCapacity);
  ~FileCommandLog() override;

  Status open(const Replay& replay) override;
  void append(const pb::LotteryCommand& command, Committed committed) override;
  void close() override;

  const RecoveryReport& recovery() const { return recovery_; }
  std::uint64_t syncs() const { return syncs_; }

 private:
  struct Pending {
    std::string record;
    Committed committed;
  };
  void writer_loop();

  std::filesystem::path path_;
  std::size_t capacity_;
  int fd_ = -1;
  RecoveryReport recovery_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool closing_ = false;
  bool failed_ = false;
  std::string failure_;
  std::uint64_t syncs_ = 0;
  std::thread writer_;
};

}  // namespace minga::lottery
