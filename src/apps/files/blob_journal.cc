#include "apps/files/blob_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "apps/files/blob_store.h"
#include "base/assert.h"
#include "base/endian.h"
#include "base/log.h"
#include "base/thread_name.h"

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

std::string segment_file(const std::string& dir, std::uint64_t seq) {
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

// Writes all of `data` at `offset` of `fd`.
bool pwrite_all(int fd, std::string_view data, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
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

BlobJournal::BlobJournal(std::string dir, std::string blob_dir, SyncFn sync, Retained retained)
    : dir_(std::move(dir)),
      blob_dir_(std::move(blob_dir)),
      sync_(sync ? std::move(sync) : SyncFn([](int fd) { return ::fdatasync(fd); })),
      retained_(retained ? std::move(retained) : Retained([](std::uint64_t) { return false; })) {
  syncer_ = named_thread("journal-sync", [this] { sync_loop(); });
  completer_ = named_thread("journal-done", [this] { complete_loop(); });
  checkpointer_ = named_thread("journal-ckpt", [this] { checkpoint_loop(); });
  preparer_ = named_thread("journal-prep", [this] { prepare_loop(); });
}

BlobJournal::~BlobJournal() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  seal_cv_.notify_all();
  prepare_cv_.notify_all();
  // The syncer fails what it has not written; the completion thread runs
  // every callback and job due, then returns.
  syncer_.join();
  completer_.join();
  checkpointer_.join();
  preparer_.join();
  if (fd_ >= 0) ::close(fd_);
}

Status BlobJournal::open_segment() {
  if (seq_ == 0) {
    for (const std::string* d : {&blob_dir_, &dir_}) {
      if (::mkdir(d->c_str(), 0755) != 0 && errno != EEXIST) return sys_error("mkdir " + *d);
    }
    const auto old = segments(dir_);
    seq_ = old.empty() ? 0 : old.back();
  }
  const std::uint64_t next = seq_ + 1;
  const std::string path = segment_file(dir_, next);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return sys_error("open " + path);
  if (auto st = sync_dir(dir_); !st.ok()) {
    ::close(fd);
    return st;
  }
  fd_ = fd;
  segment_bytes_ = 0;
  std::lock_guard lock(mu_);
  seq_ = next;
  prepared_ = 0;
  return ok_status();
}

void BlobJournal::before_write(std::uint64_t end) {
  std::unique_lock lock(mu_);
  // Never where the preparer is writing zeros.
  prepare_cv_.wait(lock, [&] { return preparing_seq_ != seq_ || end <= prepared_; });
  if (end > prepared_) prepared_ = end;  // past the zeros: the file grows, and this sync commits it
  if (prepared_ - end < kPrepareBytes / 2 && preparing_seq_ == 0 && prepared_ < kSegmentBytes) {
    prepare_wanted_ = true;
    prepare_cv_.notify_all();
  }
}

void BlobJournal::prepare_loop() {
  static const std::string zeros(1u << 20, '\0');
  std::unique_lock lock(mu_);
  for (;;) {
    prepare_cv_.wait(lock, [&] { return stopping_ || prepare_wanted_; });
    if (stopping_) return;
    prepare_wanted_ = false;
    const std::uint64_t seq = seq_, from = prepared_;
    if (seq == 0) continue;
    preparing_seq_ = seq;
    lock.unlock();
    // Its own descriptor: the syncer may close its own meanwhile (a seal).
    const std::string path = segment_file(dir_, seq);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0;
    for (std::uint64_t at = from; ok && at < from + kPrepareBytes; at += zeros.size()) ok = pwrite_all(fd, zeros, at);
    ok = ok && ::fdatasync(fd) == 0;
    if (fd >= 0) ::close(fd);
    lock.lock();
    if (ok && seq_ == seq && prepared_ == from) prepared_ = from + kPrepareBytes;
    preparing_seq_ = 0;
    prepare_cv_.notify_all();
  }
}

void BlobJournal::expect(int delta) {
  std::lock_guard lock(mu_);
  expected_ += delta;
  if (delta < 0) work_cv_.notify_one();
}

void BlobJournal::append_async(std::string_view hash, std::string_view data, Done done, bool expected) {
  MINGA_ASSERT(hash.size() == 64, "a blob hash has 64 hex digits");
  // recover() reads no longer record: a bigger blob takes the direct path.
  MINGA_ASSERT(data.size() <= kMaxBlob, "a journaled blob holds at most kMaxBlob bytes");
  std::unique_lock lock(mu_);
  if (expected) --expected_;
  std::optional<Error> refused;
  if (stopping_) {
    refused = Error{Errc::shutting_down, "the blob store is closing"};
  } else if (!sync_error_.ok()) {
    refused = sync_error_.error();
  } else if (buffer_.bytes.size() > kMaxBufferedBytes) {
    refused = Error{Errc::busy, "the blob journal has too many blobs waiting for the disk"};
  }
  if (refused) {
    if (expected) work_cv_.notify_one();  // the linger need not wait for this writer
    lock.unlock();
    done(*refused, data);
    return;
  }
  if (buffer_.bytes.empty()) buffer_.bytes.reserve(std::max<std::size_t>(256u << 10, kHeader + data.size()));
  buffer_.bytes.append(kMagic, 4);
  put_u64(buffer_.bytes, data.size());
  buffer_.bytes.append(hash);
  const std::size_t offset = buffer_.bytes.size();
  buffer_.bytes.append(data);
  buffer_.waiting.push_back(Waiting{offset, data.size(), std::move(done)});
  lock.unlock();
  work_cv_.notify_one();
}

Result<BlobJournal::Where> BlobJournal::append(std::string_view hash, std::string_view data, bool expected) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<Result<Where>> out;
  append_async(
      hash, data,
      [&](Result<Where> ticket, std::string_view) {
        // Notified under the lock: the waiter cannot return (and destroy
        // `cv`) before this call is done with it.
        std::lock_guard lock(m);
        out = std::move(ticket);
        cv.notify_one();
      },
      expected);
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
}

void BlobJournal::post(std::function<void()> job) {
  std::lock_guard lock(mu_);
  jobs_.push_back(std::move(job));
  complete_cv_.notify_one();
}

void BlobJournal::release(std::uint64_t seq) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(seq);
  // Only a sealed segment waits for its checkpoint (the open one is not
  // woken for at every batch).
  if (it != pending_.end() && it->second > 0 && --it->second == 0 && sealed_.count(seq) != 0) seal_cv_.notify_all();
}

void BlobJournal::discard(std::uint64_t seq) {
  {
    std::lock_guard lock(mu_);
    if (kept_.erase(seq) == 0) return;
  }
  ::unlink(segment_path(seq).c_str());
  if (auto st = sync_dir(dir_); !st.ok())
    log::warn("files_journal", "fail", {{"segment", std::to_string(seq)}, {"reason", st.error().message}});
}

bool BlobJournal::kept(std::uint64_t seq) const {
  std::lock_guard lock(mu_);
  return kept_.count(seq) != 0;
}

std::string BlobJournal::segment_path(std::uint64_t seq) const { return segment_file(dir_, seq); }

void BlobJournal::fail_locked(Batch batch, Error error) {
  auto shared = std::make_shared<Batch>(std::move(batch));
  jobs_.push_back([shared, error = std::move(error)] {
    const std::string_view bytes(shared->bytes);
    for (auto& w : shared->waiting) w.done(error, bytes.substr(w.offset, w.length));
  });
  complete_cv_.notify_one();
}

void BlobJournal::sync_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !buffer_.waiting.empty(); });
    // Writers on their way (uploads whose put or commit is coming) join
    // this sync if they arrive within the linger.
    const auto linger_end = std::chrono::steady_clock::now() + kLinger;
    while (expected_ > 0 && !stopping_ && work_cv_.wait_until(lock, linger_end) != std::cv_status::timeout) {
    }
    if (stopping_) {
      // Never written: not durable, not acknowledged.
      if (!buffer_.waiting.empty())
        fail_locked(std::exchange(buffer_, Batch{}), Error{Errc::shutting_down, "the blob store is closing"});
      syncer_done_ = true;
      complete_cv_.notify_all();
      return;
    }
    // Everything appended so far, in one write to the open segment, and one
    // fdatasync covers it. The segment state is this thread's alone.
    Batch batch = std::exchange(buffer_, Batch{});
    lock.unlock();
    const std::size_t records = batch.waiting.size();
    Status written = fd_ < 0 ? open_segment() : ok_status();
    const std::uint64_t start = segment_bytes_;
    if (written.ok()) {
      before_write(start + batch.bytes.size());
      if (!pwrite_all(fd_, batch.bytes, start)) written = sys_error("write " + segment_file(dir_, seq_));
    }
    // A short write (a full disk) is cut off again, so that the records
    // after it stay readable; if even that fails, the journal takes no more
    // appends.
    bool fatal = !written.ok() && fd_ >= 0 && ::ftruncate(fd_, static_cast<off_t>(start)) != 0;
    if (fatal) written = sys_error("ftruncate " + segment_file(dir_, seq_));
    if (!written.ok()) {
      std::lock_guard cut(mu_);
      prepared_ = std::min(prepared_, start);  // the zeros went with the cut
    }
    bool synced = false;
    const bool tried = written.ok();
    if (tried) {
      segment_bytes_ += batch.bytes.size();
      if (sync_(fd_) == 0) {
        synced = true;
      } else {
        fatal = true;
        written = sys_error("fdatasync " + segment_file(dir_, seq_));
      }
    }
    // A full segment is sealed: the next batch opens the next one.
    const std::uint64_t seq = seq_;
    const bool seal = synced && segment_bytes_ >= kSegmentBytes;
    if (seal) {
      ::close(fd_);
      fd_ = -1;
    }
    lock.lock();
    if (tried) ++counters_.syncs;
    if (synced) {
      counters_.appends += records;
      pending_[seq] += records;
      if (seal) {
        sealed_.insert(seq);
        seal_cv_.notify_all();
      }
      // The callbacks of a synced batch run here: they only index or place
      // a blob and answer (no waiting), and running them here saves a
      // wake-up per batch; appends meanwhile make the next batch.
      lock.unlock();
      const std::string_view bytes(batch.bytes);
      for (auto& w : batch.waiting) w.done(Where{seq, start + w.offset}, bytes.substr(w.offset, w.length));
      lock.lock();
      continue;
    }
    fail_locked(std::move(batch), written.error());
    if (fatal) {
      // The page cache may have dropped the dirty pages: a later sync could
      // falsely succeed. What was appended meanwhile fails too, and so does
      // every later append.
      sync_error_ = written;
      log::error("files_journal", "fail", {{"reason", written.error().message}});
      if (!buffer_.waiting.empty()) fail_locked(std::exchange(buffer_, Batch{}), written.error());
    }
  }
}

void BlobJournal::complete_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    complete_cv_.wait(lock, [&] { return !jobs_.empty() || syncer_done_; });
    if (jobs_.empty()) return;
    auto due = std::exchange(jobs_, {});
    lock.unlock();
    for (auto& job : due) job();
    lock.lock();
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
    // Every blob of the segment is in its file or indexed in it: make those
    // files durable, then the segment is needed only if it keeps blobs. A
    // failed sync keeps it for recovery at the next start.
    Status st = sync_file_system(blob_dir_);
    lock.lock();
    sealed_.erase(seq);
    pending_.erase(seq);
    ++counters_.checkpoints;
    // Decided under the lock: a discard() of this segment comes after.
    const bool keep = st.ok() && retained_(seq);
    if (keep) kept_.insert(seq);
    lock.unlock();
    if (st.ok() && !keep) {
      ::unlink(segment_path(seq).c_str());
      st = sync_dir(dir_);
    }
    if (!st.ok())
      log::warn("files_journal", "fail", {{"segment", std::to_string(seq)}, {"reason", st.error().message}});
    lock.lock();
  }
}

BlobJournal::Counters BlobJournal::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

Result<std::uint64_t> BlobJournal::recover(const Restore& restore) {
  const std::string& dir = dir_;
  const auto found = segments(dir);
  std::uint64_t replayed = 0;
  for (const auto seq : found) {
    const std::string path = segment_file(dir, seq);
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
      // A whole record with wrong bytes (a flipped byte in a kept segment)
      // is skipped: the records after it are still found by its length.
      if (sha256_hex(data) == hash) {
        st = restore(hash, data, Where{seq, offset + kHeader});
        if (!st.ok()) break;
        ++replayed;
      } else {
        log::warn("files_journal", "fail",
                  {{"segment", std::to_string(seq)}, {"offset", std::to_string(offset)}, {"reason", "corrupt record"}});
      }
      offset += kHeader + length;
    }
    ::close(fd);
    if (!st.ok()) return st.error();
  }
  if (found.empty()) return replayed;
  if (auto st = sync_file_system(blob_dir_); !st.ok()) return st.error();
  std::lock_guard lock(mu_);
  for (const auto seq : found) {
    if (retained_(seq)) {
      kept_.insert(seq);
    } else {
      ::unlink(segment_path(seq).c_str());
    }
  }
  if (auto st = sync_dir(dir); !st.ok()) return st.error();
  return replayed;
}

}  // namespace minga::files
