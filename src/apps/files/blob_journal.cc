#include "apps/files/blob_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "apps/files/blob_store.h"
#include "base/assert.h"
#include "base/endian.h"
#include "base/log.h"

namespace minga::files {
namespace {

// A record: "MBJ1", the data's length (8 bytes, little-endian), the 64 hex
// digits of its SHA-256, the data.
constexpr char kMagic[4] = {'M', 'B', 'J', '1'};
constexpr std::size_t kHeader = 4 + 8 + 64;

Error sys_error(const std::string& what) { return make_error(Errc::internal, what + ": " + std::strerror(errno)); }

Status sync_dir(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("open " + path);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return sys_error("fsync " + path);
  return ok_status();
}

// Every blob file and directory entry written on the store's file system
// durable: one flush, whatever the number of files.
Status sync_file_system(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("open " + path);
  const int rc = ::syncfs(fd);
  ::close(fd);
  if (rc != 0) return sys_error("syncfs " + path);
  return ok_status();
}

std::string segment_path(const std::string& dir, std::uint64_t seq) {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.log", static_cast<unsigned long long>(seq));
  return dir + "/" + name;
}

// The segments in `dir`, oldest first.
std::vector<std::uint64_t> segments(const std::string& dir) {
  std::vector<std::uint64_t> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() != 24 || name.compare(20, 4, ".log") != 0) continue;
    if (!std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; })) continue;
    out.push_back(std::stoull(name.substr(0, 20)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool read_exact(int fd, std::uint64_t offset, std::size_t length, std::string& out) {
  out.resize(length);
  std::size_t got = 0;
  while (got < length) {
    const ssize_t n = ::pread(fd, out.data() + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

BlobJournal::BlobJournal(std::string dir, std::string blob_dir) : dir_(std::move(dir)), blob_dir_(std::move(blob_dir)) {
  syncer_ = std::thread([this] { sync_loop(); });
  checkpointer_ = std::thread([this] { checkpoint_loop(); });
}

BlobJournal::~BlobJournal() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  durable_cv_.notify_all();
  seal_cv_.notify_all();
  syncer_.join();
  checkpointer_.join();
  if (fd_ >= 0) ::close(fd_);
}

Status BlobJournal::open_segment_locked() {
  if (seq_ == 0) {
    if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) return sys_error("mkdir " + dir_);
    const auto old = segments(dir_);
    seq_ = old.empty() ? 0 : old.back();
  }
  const std::uint64_t next = seq_ + 1;
  const std::string path = segment_path(dir_, next);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return sys_error("open " + path);
  if (auto st = sync_dir(dir_); !st.ok()) {
    ::close(fd);
    return st;
  }
  fd_ = fd;
  seq_ = next;
  segment_bytes_ = 0;
  return ok_status();
}

void BlobJournal::expect(int delta) {
  std::lock_guard lock(mu_);
  expected_ += delta;
  if (delta < 0) work_cv_.notify_one();
}

Result<std::uint64_t> BlobJournal::append(std::string_view hash, std::string_view data, bool expected) {
  MINGA_ASSERT(hash.size() == 64, "a blob hash has 64 hex digits");
  std::string record(kMagic, 4);
  put_u64(record, data.size());
  record.append(hash);
  record.append(data);
  std::unique_lock lock(mu_);
  if (expected) --expected_;
  if (stopping_) return Error{Errc::shutting_down, "the blob store is closing"};
  if (!sync_error_.ok()) return sync_error_.error();
  if (fd_ < 0) {
    if (auto st = open_segment_locked(); !st.ok()) return st.error();
  }
  // O_APPEND, under the lock: records never interleave. A short write (a
  // full disk) is cut off again, so that the records after it stay
  // readable; if even that fails, the journal takes no more appends.
  if (auto st = write_all(fd_, record, segment_path(dir_, seq_)); !st.ok()) {
    if (::ftruncate(fd_, static_cast<off_t>(segment_bytes_)) != 0) {
      sync_error_ = sys_error("ftruncate " + segment_path(dir_, seq_));
      durable_cv_.notify_all();
    }
    return st.error();
  }
  const std::uint64_t ticket = seq_;
  ++pending_[ticket];
  ++counters_.appends;
  segment_bytes_ += record.size();
  appended_ += record.size();
  const std::uint64_t mine = appended_;
  work_cv_.notify_one();
  durable_cv_.wait(lock, [&] { return durable_ >= mine || !sync_error_.ok() || stopping_; });
  if (durable_ >= mine) return ticket;
  if (--pending_[ticket] == 0) seal_cv_.notify_all();
  if (!sync_error_.ok()) return sync_error_.error();
  return Error{Errc::shutting_down, "the blob store is closing"};
}

void BlobJournal::release(std::uint64_t ticket) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(ticket);
  if (it != pending_.end() && it->second > 0 && --it->second == 0) seal_cv_.notify_all();
}

void BlobJournal::sync_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || (appended_ > durable_ && sync_error_.ok()); });
    if (stopping_) return;
    // Writers on their way (uploads whose put or commit is coming) join
    // this sync if they arrive within the linger.
    const auto linger_end = std::chrono::steady_clock::now() + kLinger;
    while (expected_ > 0 && !stopping_ && work_cv_.wait_until(lock, linger_end) != std::cv_status::timeout) {
    }
    if (stopping_) return;
    // Everything appended so far is in the open segment's file: one
    // fdatasync covers it. A full segment is sealed here, so that later
    // appends go to the next one.
    const std::uint64_t target = appended_;
    const int fd = fd_;
    const std::uint64_t seq = seq_;
    const bool seal = segment_bytes_ >= kSegmentBytes;
    if (seal) fd_ = -1;  // the next append opens the next segment
    lock.unlock();
    const int rc = ::fdatasync(fd);
    const int err = errno;
    if (seal) ::close(fd);
    lock.lock();
    ++counters_.syncs;
    if (rc != 0) {
      errno = err;
      sync_error_ = sys_error("fdatasync " + segment_path(dir_, seq));
      log::error("files_journal", "fail", {{"reason", sync_error_.error().message}});
    } else {
      durable_ = std::max(durable_, target);
    }
    if (seal) {
      sealed_.insert(seq);
      seal_cv_.notify_all();
    }
    durable_cv_.notify_all();
  }
}

void BlobJournal::checkpoint_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    std::uint64_t seq = 0;
    seal_cv_.wait(lock, [&] {
      if (stopping_) return true;
      for (const auto s : sealed_) {
        if (pending_[s] == 0) {
          seq = s;
          return true;
        }
      }
      return false;
    });
    if (stopping_) return;
    lock.unlock();
    // Every blob of the segment is in its file: make those files durable,
    // then the segment is no longer needed. A failed sync keeps it for
    // recovery at the next start.
    Status st = sync_file_system(blob_dir_);
    if (st.ok()) {
      ::unlink(segment_path(dir_, seq).c_str());
      st = sync_dir(dir_);
    }
    if (!st.ok())
      log::warn("files_journal", "fail", {{"segment", std::to_string(seq)}, {"reason", st.error().message}});
    lock.lock();
    sealed_.erase(seq);
    pending_.erase(seq);
    ++counters_.checkpoints;
  }
}

BlobJournal::Counters BlobJournal::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

Result<std::uint64_t> BlobJournal::recover(const std::string& dir, const std::string& blob_dir,
                                           const std::function<Status(const std::string&, std::string_view)>& restore) {
  const auto found = segments(dir);
  std::uint64_t replayed = 0;
  for (const auto seq : found) {
    const std::string path = segment_path(dir, seq);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sys_error("open " + path);
    std::uint64_t offset = 0;
    std::string header, data;
    Status st = ok_status();
    while (read_exact(fd, offset, kHeader, header) && std::memcmp(header.data(), kMagic, 4) == 0) {
      std::size_t pos = 4;
      std::uint64_t length = 0;
      get_u64(header, pos, length);
      const std::string hash = header.substr(12, 64);
      if (length > kMaxBlob || !valid_hash(hash) || !read_exact(fd, offset + kHeader, length, data)) break;
      if (sha256_hex(data) != hash) break;
      st = restore(hash, data);
      if (!st.ok()) break;
      ++replayed;
      offset += kHeader + length;
    }
    ::close(fd);
    if (!st.ok()) return st.error();
  }
  if (found.empty()) return replayed;
  if (auto st = sync_file_system(blob_dir); !st.ok()) return st.error();
  for (const auto seq : found) ::unlink(segment_path(dir, seq).c_str());
  if (auto st = sync_dir(dir); !st.ok()) return st.error();
  return replayed;
}

}  // namespace minga::files
