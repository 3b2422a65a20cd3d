#include "apps/files/blob_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>

#include "base/assert.h"

namespace minga::files {
namespace {

Error sys_error(const std::string& what) { return make_error(Errc::internal, what + ": " + std::strerror(errno)); }

Status make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return sys_error("mkdir " + path);
  return ok_status();
}

Status fsync_dir(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return sys_error("open " + path);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return sys_error("fsync " + path);
  return ok_status();
}

std::atomic<unsigned> tmp_counter{0};

}  // namespace

Status write_all(int fd, std::string_view data, const std::string& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("write " + path);
    done += static_cast<std::size_t>(n);
  }
  return ok_status();
}

bool valid_hash(std::string_view h) {
  if (h.size() != 64) return false;
  for (char c : h) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Error hash_mismatch(std::string_view actual, std::string_view expected) {
  return make_error(Errc::invalid_argument,
                    "hash mismatch: the bytes hash to " + std::string(actual) + ", not " + std::string(expected));
}

struct Sha256::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) { EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr); }
Sha256::~Sha256() = default;
void Sha256::update(std::string_view data) { EVP_DigestUpdate(ctx_->md, data.data(), data.size()); }
std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md, md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xF]);
  }
  return out;
}

BlobWriter::~BlobWriter() {
  if (journaled_) store_.journal_->expect(-1);
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Status BlobWriter::append(std::string_view data) {
  MINGA_ASSERT(!finished_, "the blob writer is finished");
  if (journaled_ && size_ + data.size() <= BlobJournal::kMaxBlob) {
    small_.append(data);
  } else {
    if (fd_ < 0) {
      // Too big for the journal: the bytes so far go to a temp file.
      auto fd = store_.open_temp(tmp_);
      if (!fd.ok()) return fd.error();
      fd_ = fd.value();
      if (auto st = write_all(fd_, small_, tmp_); !st.ok()) return st;
    }
    if (journaled_) {
      journaled_ = false;
      small_ = std::string();
      store_.journal_->expect(-1);
    }
    if (auto st = write_all(fd_, data, tmp_); !st.ok()) return st;
  }
  sha_.update(data);
  size_ += data.size();
  return ok_status();
}

Result<std::string> BlobWriter::finish(std::string_view expected) {
  MINGA_ASSERT(!finished_, "the blob writer is finished");
  finished_ = true;
  std::string hash = sha_.hex();
  if (!expected.empty() && hash != expected) {
    return hash_mismatch(hash, expected);
  }
  if (journaled_) {
    journaled_ = false;  // the landing ends this writer's expectation
    if (auto st = store_.land_wait(hash, small_, true); !st.ok()) return st.error();
    return hash;
  }
  const std::string sub = store_.dir_ + "/" + hash.substr(0, 2);
  if (::fsync(fd_) != 0) return sys_error("fsync " + tmp_);
  ::close(fd_);
  fd_ = -1;
  if (auto s = make_dir(sub); !s) return s.error();
  if (::rename(tmp_.c_str(), store_.path_of(hash).c_str()) != 0) return sys_error("rename " + tmp_);
  tmp_.clear();
  if (auto s = fsync_dir(sub); !s) return s.error();
  return hash;
}

namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

BlobStore::BlobStore(std::string dir, BlobJournal::SyncFn sync, std::uint64_t pack_max)
    : dir_(std::move(dir)),
      pack_max_(std::min<std::uint64_t>(pack_max, BlobJournal::kMaxBlob)),
      packs_([this](std::uint64_t seq) { return journal_->segment_path(seq); }),
      journal_(std::make_unique<BlobJournal>(dir_ + "/journal", dir_, std::move(sync),
                                             [this](std::uint64_t seq) { return packs_.holds(seq); })) {}

Result<std::uint64_t> BlobStore::recover() {
  return journal_->recover([this](const std::string& hash, std::string_view data, BlobJournal::Where where) {
    if (packs_size(data.size())) {
      // A later record of the same blob (rewritten after a repair) wins.
      packs_.put(hash, PackIndex::Entry{where.seq, where.offset, data.size(), unix_now()});
      return ok_status();
    }
    if (verify(hash).ok()) return ok_status();
    return write_durable(hash, data);
  });
}

void BlobStore::index_packed(const std::string& hash, BlobJournal::Where where, std::uint64_t length) const {
  const std::uint64_t emptied = packs_.put(hash, PackIndex::Entry{where.seq, where.offset, length, unix_now()});
  if (emptied != 0) drop_segment(emptied);
}

std::optional<Result<std::string>> BlobStore::read_packed(std::string_view hash, std::uint64_t offset,
                                                          std::size_t length) const {
  auto e = packs_.find(hash);
  if (!e) return std::nullopt;
  auto bytes = packs_.read(*e, offset, length);
  if (bytes.ok()) return bytes;
  // A compaction may have moved it and deleted its old segment meanwhile.
  auto now = packs_.find(hash);
  if (!now) return make_error(Errc::not_found, "no blob " + std::string(hash));
  if (now->seq == e->seq && now->offset == e->offset) return bytes;
  return packs_.read(*now, offset, length);
}

std::optional<Result<std::string>> BlobStore::get_packed(std::string_view hash) const {
  auto packed = read_packed(hash, 0, BlobJournal::kMaxBlob);
  if (packed && packed->ok() && sha256_hex(packed->value()) != hash)
    return make_error(Errc::internal, "corrupt blob " + std::string(hash));
  return packed;
}

void BlobStore::drop_segment(std::uint64_t seq) const {
  packs_.forget(seq);
  journal_->discard(seq);
}

std::uint64_t BlobStore::compact() const {
  std::uint64_t moved = 0;
  for (const auto& [seq, live] : packs_.live_bytes()) {
    if (!journal_->kept(seq)) continue;  // the open segment, or not yet checkpointed
    struct stat st {};
    if (::stat(journal_->segment_path(seq).c_str(), &st) != 0) continue;
    if (live * 2 >= static_cast<std::uint64_t>(st.st_size)) continue;
    const auto in = packs_.in(seq);
    // Appended without waiting for each sync: the moves of a segment share
    // the journal's fdatasyncs, and all are waited for at the end.
    std::mutex mu;
    std::condition_variable cv;
    std::size_t running = 0;
    bool failed = false;
    for (const auto& [hash, e] : in) {
      auto bytes = packs_.read(e, 0, e.length);
      if (!bytes.ok() || sha256_hex(bytes.value()) != hash) {
        // Corrupt: dropped here (missing now), fetched again by repair.
        std::uint64_t emptied = 0;
        packs_.erase(hash, std::nullopt, emptied);
        if (emptied != 0) drop_segment(emptied);
        continue;
      }
      {
        std::lock_guard lock(mu);
        ++running;
      }
      journal_->append_async(hash, bytes.value(),
                             [&, hash = hash, e = e](Result<BlobJournal::Where> where, std::string_view) {
                               std::uint64_t emptied = 0;
                               if (where.ok()) {
                                 emptied = packs_.move(hash, e, {where->seq, where->offset, e.length, e.mtime});
                                 journal_->release(where->seq);
                               }
                               if (emptied != 0) drop_segment(emptied);
                               std::lock_guard lock(mu);  // notified under the lock: `cv` outlives the call
                               if (where.ok()) {
                                 ++moved;
                               } else {
                                 failed = true;
                               }
                               if (--running == 0) cv.notify_all();
                             });
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return running == 0; });
    if (failed) return moved;  // a failing or closing journal: the next pass tries again
  }
  return moved;
}

Result<std::unique_ptr<BlobWriter>> BlobStore::begin() const {
  journal_->expect(1);
  return std::unique_ptr<BlobWriter>(new BlobWriter(*this));
}

Result<int> BlobStore::open_temp(std::string& path) const {
  if (auto s = make_dir(dir_); !s) return s.error();
  const std::string tmpdir = dir_ + "/tmp";
  if (auto s = make_dir(tmpdir); !s) return s.error();
  path = tmpdir + "/" + std::to_string(::getpid()) + "-" + std::to_string(tmp_counter.fetch_add(1));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    Error e = sys_error("open " + path);
    path.clear();
    return e;
  }
  return fd;
}

void BlobStore::land(std::string_view hash, std::string_view data, Landed done) const {
  // Bytes above the limit are refused by land_hashed, unhashed.
  if (data.size() <= BlobJournal::kMaxBlob) {
    if (std::string actual = sha256_hex(data); actual != hash) {
      done(hash_mismatch(actual, hash));
      return;
    }
  }
  land_hashed(std::string(hash), data, std::move(done));
}

void BlobStore::land_hashed(std::string hash, std::string_view data, Landed done) const {
  if (data.size() > BlobJournal::kMaxBlob) {
    done(make_error(Errc::invalid_argument,
                    "a blob landed at once holds at most " + std::to_string(BlobJournal::kMaxBlob) + " bytes"));
    return;
  }
  land_checked(std::move(hash), data, false, std::move(done));
}

void BlobStore::land_checked(std::string hash, std::string_view data, bool expected, Landed done) const {
  if (has(hash)) {
    // Most likely the same bytes, durable already: checked (a read) off the
    // caller's thread, and written again only if corrupt.
    if (expected) journal_->expect(-1);
    journal_->post([this, hash = std::move(hash), copy = std::string(data), done = std::move(done)]() mutable {
      if (verify(hash).ok()) {
        touch(hash);  // about to be referenced again: the collector's grace starts over
        done(ok_status());
        return;
      }
      (void)remove(hash);  // the corrupt copy, whether packed or a file
      append_and_place(std::move(hash), copy, false, std::move(done));
    });
    return;
  }
  append_and_place(std::move(hash), data, expected, std::move(done));
}

void BlobStore::append_and_place(std::string hash, std::string_view data, bool expected, Landed done) const {
  // The copy in the journal's batch is what is placed: the caller's bytes
  // may be gone by then.
  journal_->append_async(
      hash, data,
      [this, hash, done = std::move(done)](Result<BlobJournal::Where> where, std::string_view bytes) {
        if (!where.ok()) {
          done(where.error());
          return;
        }
        Status st = ok_status();
        if (packs_size(bytes.size())) {
          index_packed(hash, where.value(), bytes.size());
        } else {
          st = place(hash, bytes);
        }
        journal_->release(where->seq);
        done(st);
      },
      expected);
}

Status BlobStore::land_wait(const std::string& hash, std::string_view data, bool expected) const {
  std::mutex m;
  std::condition_variable cv;
  std::optional<Status> out;
  land_checked(hash, data, expected, [&](Status st) {
    std::lock_guard lock(m);  // notified under the lock: `cv` outlives the call
    out = std::move(st);
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
}

Status BlobStore::place(const std::string& hash, std::string_view data) const {
  const unsigned byte = static_cast<unsigned>(std::stoul(hash.substr(0, 2), nullptr, 16));
  const std::string sub = dir_ + "/" + hash.substr(0, 2);
  const std::string path = sub + "/" + hash;
  for (int attempt = 0;; ++attempt) {
    if (!subs_[byte].load(std::memory_order_acquire)) {
      if (auto s = make_dir(dir_); !s) return s;
      if (auto s = make_dir(sub); !s) return s;
      subs_[byte].store(true, std::memory_order_release);
    }
    std::string what;
    const int err = placement_.load(std::memory_order_relaxed) == kRename ? place_by_rename(sub, path, data, what)
                                                                          : place_by_link(sub, path, data, what);
    if (err == 0) return ok_status();
    // The directory went away behind our back: made again, once.
    if (err == ENOENT && attempt == 0) {
      subs_[byte].store(false, std::memory_order_release);
      continue;
    }
    return make_error(Errc::internal, what + ": " + std::strerror(err));
  }
}

int BlobStore::place_by_link(const std::string& sub, const std::string& path, std::string_view data,
                             std::string& what) const {
  const int fd = ::open(sub.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    if (err == EOPNOTSUPP || err == EISDIR || err == EINVAL) {
      placement_.store(kRename, std::memory_order_relaxed);  // no O_TMPFILE on this file system
      return place_by_rename(sub, path, data, what);
    }
    what = "open " + sub;
    return err;
  }
  if (!write_all(fd, data, sub).ok()) {
    const int err = errno != 0 ? errno : EIO;
    ::close(fd);
    what = "write " + sub;
    return err;
  }
  int rc = -1;
  if (placement_.load(std::memory_order_relaxed) == kLinkEmptyPath) {
    rc = ::linkat(fd, "", AT_FDCWD, path.c_str(), AT_EMPTY_PATH);
    // Without CAP_DAC_READ_SEARCH, AT_EMPTY_PATH is refused with ENOENT.
    if (rc != 0 && (errno == ENOENT || errno == EPERM)) placement_.store(kLinkProc, std::memory_order_relaxed);
  }
  if (rc != 0 && placement_.load(std::memory_order_relaxed) == kLinkProc) {
    char proc[40];
    std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    rc = ::linkat(AT_FDCWD, proc, AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW);
    if (rc != 0 && errno == ENOENT && ::access("/proc/self/fd", F_OK) != 0)
      placement_.store(kRename, std::memory_order_relaxed);  // no /proc
  }
  const int err = rc == 0 ? 0 : errno;
  ::close(fd);
  if (err == 0) return 0;
  // A file under that name already (the same bytes landed twice at once, or
  // bytes found corrupt): a rename replaces it in one step.
  if (err == EEXIST || placement_.load(std::memory_order_relaxed) == kRename)
    return place_by_rename(sub, path, data, what);
  what = "link " + path;
  return err;
}

int BlobStore::place_by_rename(const std::string& sub, const std::string& path, std::string_view data,
                               std::string& what) const {
  const std::string tmp = sub + "/.tmp-" + path.substr(path.size() - 64) + "-" + std::to_string(::getpid()) + "-" +
                          std::to_string(tmp_counter.fetch_add(1));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    what = "open " + tmp;
    return errno;
  }
  int err = 0;
  if (!write_all(fd, data, tmp).ok()) {
    err = errno != 0 ? errno : EIO;
    what = "write " + tmp;
  }
  ::close(fd);
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    what = "rename " + tmp;
  }
  if (err != 0) ::unlink(tmp.c_str());
  return err;
}

Result<int> BlobStore::open_for_read(std::string_view hash) const {
  if (!valid_hash(hash)) return make_error(Errc::invalid_argument, "bad blob hash");
  const std::string path = path_of(hash);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(Errc::not_found, "no blob " + std::string(hash));
    return sys_error("open " + path);
  }
  return fd;
}

Result<std::string> BlobStore::read(std::string_view hash, std::uint64_t offset, std::size_t length) const {
  if (auto packed = read_packed(hash, offset, length)) return std::move(*packed);
  auto opened = open_for_read(hash);
  if (!opened.ok()) return opened.error();
  const int fd = opened.value();
  const std::string path = path_of(hash);
  // No bigger than what the file holds past `offset`: a read of a whole
  // small blob asks for a chunk, and should not zero a chunk's memory.
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    const auto file_size = static_cast<std::uint64_t>(st.st_size);
    length = offset >= file_size ? 0 : static_cast<std::size_t>(std::min<std::uint64_t>(length, file_size - offset));
  }
  std::string out(length, '\0');
  std::size_t got = 0;
  while (got < length) {
    const ssize_t n = ::pread(fd, out.data() + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = sys_error("read " + path);
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

Result<std::uint64_t> BlobStore::size(std::string_view hash) const {
  if (!valid_hash(hash)) return make_error(Errc::invalid_argument, "bad blob hash");
  if (auto e = packs_.find(hash)) return e->length;
  struct stat st {};
  if (::stat(path_of(hash).c_str(), &st) != 0) {
    if (errno == ENOENT) return make_error(Errc::not_found, "no blob " + std::string(hash));
    return sys_error("stat " + path_of(hash));
  }
  return static_cast<std::uint64_t>(st.st_size);
}

Status BlobStore::verify(std::string_view hash) const {
  if (auto packed = get_packed(hash)) return packed->ok() ? ok_status() : Status(packed->error());
  auto opened = open_for_read(hash);
  if (!opened.ok()) return opened.error();
  const int fd = opened.value();
  const std::string path = path_of(hash);
  Sha256 sha;
  struct stat st {};
  const std::size_t file_size = ::fstat(fd, &st) == 0 ? static_cast<std::size_t>(st.st_size) : (1u << 20);
  std::string buf(std::clamp<std::size_t>(file_size, 1, 1u << 20), '\0');
  while (true) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = sys_error("read " + path);
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    sha.update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
  ::close(fd);
  if (sha.hex() != hash) return make_error(Errc::internal, "corrupt blob " + std::string(hash));
  return ok_status();
}

Status BlobStore::remove(std::string_view hash) const {
  if (!valid_hash(hash)) return make_error(Errc::invalid_argument, "bad blob hash");
  std::uint64_t emptied = 0;
  packs_.erase(hash, std::nullopt, emptied);
  if (emptied != 0) drop_segment(emptied);
  if (::unlink(path_of(hash).c_str()) != 0 && errno != ENOENT) return sys_error("unlink " + path_of(hash));
  return ok_status();
}

std::vector<BlobStore::Stored> BlobStore::list(std::int64_t drop_temp_before) const {
  std::vector<Stored> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator sub(dir_, ec), end; !ec && sub != end; sub.increment(ec)) {
    const std::string dirname = sub->path().filename().string();
    const bool temp = dirname == "tmp";
    if (!temp && dirname.size() != 2) continue;
    std::error_code ec2;
    for (std::filesystem::directory_iterator f(sub->path(), ec2), end2; !ec2 && f != end2; f.increment(ec2)) {
      struct stat st {};
      const std::string path = f->path().string();
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      const std::string name = f->path().filename().string();
      if (temp || name.rfind(".tmp-", 0) == 0) {
        if (st.st_mtime < drop_temp_before) ::unlink(path.c_str());
        continue;
      }
      if (valid_hash(name) && name.compare(0, 2, dirname) == 0 && !packs_.find(name))
        out.push_back({name, st.st_mtime});
    }
  }
  for (auto& [hash, e] : packs_.all()) out.push_back({std::move(hash), e.mtime});
  return out;
}

void BlobStore::touch(std::string_view hash) const {
  if (!valid_hash(hash) || packs_.touch(hash, unix_now())) return;
  ::utimensat(AT_FDCWD, path_of(hash).c_str(), nullptr, 0);
}

Status BlobStore::remove_if_unchanged(std::string_view hash, std::int64_t mtime) const {
  if (!valid_hash(hash)) return make_error(Errc::invalid_argument, "bad blob hash");
  if (packs_.find(hash)) {
    std::uint64_t emptied = 0;
    const bool dropped = packs_.erase(hash, mtime, emptied);
    if (emptied != 0) drop_segment(emptied);
    if (!dropped) return make_error(Errc::busy, "blob " + std::string(hash) + " was written again");
    ::unlink(path_of(hash).c_str());  // an older file of it, if any
    return ok_status();
  }
  struct stat st {};
  if (::stat(path_of(hash).c_str(), &st) != 0) return ok_status();
  if (st.st_mtime > mtime) return make_error(Errc::busy, "blob " + std::string(hash) + " was written again");
  return remove(hash);
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xF]);
  }
  return out;
}

std::string BlobStore::path_of(std::string_view hash) const {
  return dir_ + "/" + std::string(hash.substr(0, 2)) + "/" + std::string(hash);
}

bool BlobStore::has(std::string_view hash) const {
  struct stat st {};
  return valid_hash(hash) && (packs_.find(hash) || ::stat(path_of(hash).c_str(), &st) == 0);
}

Result<std::string> BlobStore::put(std::string_view data) {
  std::string hash = sha256_hex(data);
  if (has(hash)) return hash;
  auto w = begin();
  if (!w.ok()) return w.error();
  if (auto st = w.value()->append(data); !st.ok()) return st.error();
  return w.value()->finish(hash);
}

Status BlobStore::write_durable(const std::string& hash, std::string_view data) const {
  if (auto s = make_dir(dir_); !s) return s;
  const std::string sub = dir_ + "/" + hash.substr(0, 2);
  if (auto s = make_dir(sub); !s) return s;
  const std::string tmp =
      sub + "/.tmp-" + hash + "-" + std::to_string(::getpid()) + "-" + std::to_string(tmp_counter.fetch_add(1));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return sys_error("open " + tmp);
  Status st = write_all(fd, data, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = sys_error("fsync " + tmp);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path_of(hash).c_str()) != 0) st = sys_error("rename " + tmp);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return fsync_dir(sub);
}

Result<std::string> BlobStore::get(std::string_view hash) const {
  if (!valid_hash(hash)) return make_error(Errc::invalid_argument, "bad blob hash");
  if (auto packed = get_packed(hash)) return std::move(*packed);
  const std::string path = path_of(hash);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(Errc::not_found, "no blob " + std::string(hash));
    return sys_error("open " + path);
  }
  std::string out;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = sys_error("read " + path);
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (sha256_hex(out) != hash) return make_error(Errc::internal, "corrupt blob " + std::string(hash));
  return out;
}

}  // namespace minga::files
