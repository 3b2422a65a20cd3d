#include "apps/lottery/command_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "apps/lottery/log_format.h"

namespace minga::lottery {
namespace {

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
  auto scan = scan_log(data, path_.string(), replay);
  if (!scan) return scan.error();
  recovery_.records = scan->records;
  if (data.empty()) {
    if (auto st = write_all(fd_, kLogMagic, path_); !st.ok()) return st;
    if (::fdatasync(fd_) != 0) return io_error("cannot fsync", path_, errno);
    if (!existed) {
      if (auto st = sync_dir(path_.parent_path()); !st.ok()) return st;
    }
  } else if (scan->good < data.size() || scan->good == 0) {
    // A torn tail, or a magic torn while being written: start over there.
    recovery_.torn_bytes = data.size() - scan->good;
    if (::ftruncate(fd_, static_cast<off_t>(scan->good)) != 0) return io_error("cannot truncate", path_, errno);
    if (scan->good == 0) {
      if (auto st = write_all(fd_, kLogMagic, path_); !st.ok()) return st;
    }
    if (::fdatasync(fd_) != 0) return io_error("cannot fsync", path_, errno);
  }
  if (::lseek(fd_, 0, SEEK_END) < 0) return io_error("cannot seek", path_, errno);
  writer_ = std::thread([this] { writer_loop(); });
  return ok_status();
}

void FileCommandLog::append(const pb::LotteryCommand& command, Committed committed) {
  std::string record = frame_log_record(command.SerializeAsString());
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
