#include "apps/lottery/command_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/crc32c.h"
#include "base/endian.h"

namespace minga::lottery {
namespace {

constexpr std::string_view kMagic = "MLOTLOG1";

Error io_error(const std::string& what, const std::filesystem::path& path, int err) {
  return Error{Errc::internal, what + " " + path.string() + ": " + std::strerror(err)};
}

Status write_all(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok_status();
}

Status sync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("cannot fsync directory", dir, err);
  return ok_status();
}

// The size of the whole, valid record at `data[at]` (parsed into `out`), or 0
// when the bytes there are not one: short, zero or oversized length, bad CRC
// or an unparsable payload. The writer never writes an empty command, so a
// zero length (a hole the file system left after a crash) is invalid too.
std::size_t record_at(std::string_view data, std::size_t at, pb::LotteryCommand& out) {
  if (at + 8 > data.size()) return 0;
  const std::uint32_t len = load_u32(data.data() + at);
  const std::uint32_t crc = load_u32(data.data() + at + 4);
  if (len == 0 || len > FileCommandLog::kMaxRecordBytes || len > data.size() - at - 8) return 0;
  const std::string_view payload = data.substr(at + 8, len);
  if (crc32c(payload) != crc) return 0;
  if (!out.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return 0;
  return 8 + static_cast<std::size_t>(len);
}

// The offset of the first valid record after the bad one at `bad`, or npos.
// Tried first where the bad record says the next one starts (a flipped
// payload bit leaves the length intact), then at every byte.
std::size_t next_valid_record(std::string_view data, std::size_t bad) {
  pb::LotteryCommand scratch;
  if (bad + 8 <= data.size()) {
    const std::size_t claimed = bad + 8 + std::size_t{load_u32(data.data() + bad)};
    if (record_at(data, claimed, scratch) > 0) return claimed;
  }
  for (std::size_t at = bad + 1; at + 8 <= data.size(); ++at) {
    if (record_at(data, at, scratch) > 0) return at;
  }
  return std::string_view::npos;
}

}  // namespace

FileCommandLog::FileCommandLog(std::filesystem::path path, std::size_t queue_capacity)
    : path_(std::move(path)), capacity_(queue_capacity) {}

FileCommandLog::~FileCommandLog() { close(); }

Status FileCommandLog::open(const Replay& replay) {
  const bool existed = std::filesystem::exists(path_);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return io_error("cannot open", path_, errno);

  // Read the whole file; the log is bounded by the lottery's size.
  std::string data;
  {
    char buf[1 << 16];
    while (true) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        return io_error("cannot read", path_, errno);
      }
      if (n == 0) break;
      data.append(buf, static_cast<std::size_t>(n));
    }
  }
  std::size_t good = 0;
  if (data.empty()) {
    if (auto st = write_all(fd_, kMagic, path_); !st.ok()) return st;
    if (::fdatasync(fd_) != 0) return io_error("cannot fsync", path_, errno);
    if (!existed) {
      if (auto st = sync_dir(path_.parent_path()); !st.ok()) return st;
    }
    good = kMagic.size();
  } else if (data.size() < kMagic.size() && kMagic.substr(0, data.size()) == data) {
    good = 0;  // torn while writing the magic: start over below
  } else if (data.compare(0, kMagic.size(), kMagic) != 0) {
    return Error{Errc::internal, path_.string() + " is not a lottery log (bad magic); refusing to touch it"};
  } else {
    good = kMagic.size();
    pb::LotteryCommand command;
    while (const std::size_t n = record_at(data, good, command)) {
      replay(command);
      ++recovery_.records;
      good += n;
    }
    if (good < data.size()) {
      if (auto st = check_torn_tail(data, good); !st.ok()) return st;
    }
  }
  if (good < data.size() || good == 0) {
    recovery_.torn_bytes = data.size() - good;
    if (::ftruncate(fd_, static_cast<off_t>(good)) != 0) return io_error("cannot truncate", path_, errno);
    if (good == 0) {
      if (auto st = write_all(fd_, kMagic, path_); !st.ok()) return st;
    }
    if (::fdatasync(fd_) != 0) return io_error("cannot fsync", path_, errno);
  }
  if (::lseek(fd_, 0, SEEK_END) < 0) return io_error("cannot seek", path_, errno);
  writer_ = std::thread([this] { writer_loop(); });
  return ok_status();
}

// A bad record with nothing valid after it is a write cut short by a crash:
// never acknowledged, safe to cut off. A bad record followed by a valid one
// is damage to acknowledged data; cutting there would silently drop every
// later batch, so the log is left as it is and the node does not start.
Status FileCommandLog::check_torn_tail(std::string_view data, std::size_t bad) const {
  const std::size_t next = next_valid_record(data, bad);
  if (next == std::string_view::npos) return ok_status();
  const std::string at = std::to_string(bad);
  return Error{Errc::internal, path_.string() + " is damaged: the record at byte " + at +
                                   " is corrupt but a valid record follows at byte " + std::to_string(next) +
                                   "; nothing was changed. Keep a copy, then restore the file, or cut it with "
                                   "`truncate -s " +
                                   at + "` to keep only the " + std::to_string(recovery_.records) +
                                   " records before the damage"};
}

void FileCommandLog::append(const pb::LotteryCommand& command, Committed committed) {
  std::string record;
  const std::string payload = command.SerializeAsString();
  record.reserve(8 + payload.size());
  put_u32(record, static_cast<std::uint32_t>(payload.size()));
  put_u32(record, crc32c(payload));
  record += payload;
  {
    std::unique_lock lock(mu_);
    if (failed_) {
      lock.unlock();
      committed(Error{Errc::internal, failure_});
      return;
    }
    if (closing_ || fd_ < 0) {
      lock.unlock();
      committed(Error{Errc::shutting_down, "the lottery log is closed"});
      return;
    }
    if (queue_.size() >= capacity_) {
      lock.unlock();
      committed(Error{Errc::busy, "the lottery log queue is full; retry later"});
      return;
    }
    queue_.push_back(Pending{std::move(record), std::move(committed)});
  }
  cv_.notify_one();
}

void FileCommandLog::writer_loop() {
  std::deque<Pending> batch;
  std::string buffer;
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing and drained
      batch.swap(queue_);
      if (failed_) {
        const Error e{Errc::internal, failure_};
        lock.unlock();
        for (auto& p : batch) p.committed(e);
        batch.clear();
        continue;
      }
    }
    buffer.clear();
    for (const auto& p : batch) buffer += p.record;
    Status st = write_all(fd_, buffer, path_);
    if (st.ok() && ::fdatasync(fd_) != 0) st = io_error("cannot fsync", path_, errno);
    if (!st.ok()) {
      // What reached the disk is unknown: refuse everything from now on
      // rather than acknowledge a command that may be lost.
      std::lock_guard lock(mu_);
      failed_ = true;
      failure_ = st.error().message;
    } else {
      ++syncs_;
    }
    for (auto& p : batch) p.committed(st);
    batch.clear();
  }
}

void FileCommandLog::close() {
  {
    std::lock_guard lock(mu_);
    if (closing_ && !writer_.joinable() && fd_ < 0) return;
    closing_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace minga::lottery
