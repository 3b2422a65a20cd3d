#include "apps/files/pack_index.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace minga::files {

struct PackIndex::Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

PackIndex::PackIndex(std::function<std::string(std::uint64_t)> segment_path) : segment_path_(std::move(segment_path)) {}

std::size_t PackIndex::KeyHash::operator()(const Key& k) const {
  std::size_t h = 0;
  std::memcpy(&h, k.data(), sizeof h);  // already uniform: a SHA-256
  return h;
}

std::optional<PackIndex::Key> PackIndex::key_of(std::string_view hash) {
  if (hash.size() != 64) return std::nullopt;
  Key k{};
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = hex_digit(hash[2 * i]), lo = hex_digit(hash[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    k[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return k;
}

std::uint64_t PackIndex::leave_locked(const Entry& e) {
  auto it = segments_.find(e.seq);
  if (it == segments_.end()) return 0;
  it->second.blobs -= 1;
  it->second.bytes -= e.length;
  if (it->second.blobs != 0) return 0;
  segments_.erase(it);
  return e.seq;
}

std::uint64_t PackIndex::put(std::string_view hash, const Entry& e) {
  const auto key = key_of(hash);
  if (!key) return 0;
  std::lock_guard lock(mu_);
  auto [it, added] = blobs_.try_emplace(*key, e);
  auto& seg = segments_[e.seq];
  seg.blobs += 1;
  seg.bytes += e.length;
  if (added) return 0;
  const Entry old = it->second;
  it->second = e;
  return leave_locked(old);  // never e.seq: it holds `e` now
}

std::uint64_t PackIndex::move(std::string_view hash, const Entry& from, const Entry& to) {
  const auto key = key_of(hash);
  if (!key) return 0;
  std::lock_guard lock(mu_);
  auto it = blobs_.find(*key);
  if (it == blobs_.end() || it->second.seq != from.seq || it->second.offset != from.offset) return 0;
  Entry moved = to;
  moved.mtime = it->second.mtime;  // a move is not a write: the grace period goes on
  it->second = moved;
  auto& seg = segments_[to.seq];
  seg.blobs += 1;
  seg.bytes += to.length;
  return leave_locked(from);
}

std::optional<PackIndex::Entry> PackIndex::find(std::string_view hash) const {
  const auto key = key_of(hash);
  if (!key) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = blobs_.find(*key);
  if (it == blobs_.end()) return std::nullopt;
  return it->second;
}

bool PackIndex::erase(std::string_view hash, std::optional<std::int64_t> not_after, std::uint64_t& emptied) {
  emptied = 0;
  const auto key = key_of(hash);
  if (!key) return false;
  std::lock_guard lock(mu_);
  auto it = blobs_.find(*key);
  if (it == blobs_.end()) return false;
  if (not_after && it->second.mtime > *not_after) return false;
  const Entry old = it->second;
  blobs_.erase(it);
  emptied = leave_locked(old);
  return true;
}

bool PackIndex::touch(std::string_view hash, std::int64_t mtime) {
  const auto key = key_of(hash);
  if (!key) return false;
  std::lock_guard lock(mu_);
  auto it = blobs_.find(*key);
  if (it == blobs_.end()) return false;
  it->second.mtime = mtime;
  return true;
}

bool PackIndex::holds(std::uint64_t seq) const {
  std::lock_guard lock(mu_);
  return segments_.count(seq) != 0;
}

std::size_t PackIndex::count() const {
  std::lock_guard lock(mu_);
  return blobs_.size();
}

std::size_t PackIndex::segment_count() const {
  std::lock_guard lock(mu_);
  return segments_.size();
}

std::string PackIndex::hex_of(const Key& k) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(64, '0');
  for (std::size_t i = 0; i < 32; ++i) {
    hex[2 * i] = kHex[k[i] >> 4];
    hex[2 * i + 1] = kHex[k[i] & 0xF];
  }
  return hex;
}

template <class Keep>
std::vector<std::pair<std::string, PackIndex::Entry>> PackIndex::select_locked(Keep keep) const {
  std::vector<std::pair<std::string, Entry>> out;
  for (const auto& [k, e] : blobs_) {
    if (keep(e)) out.emplace_back(hex_of(k), e);
  }
  return out;
}

std::vector<std::pair<std::string, PackIndex::Entry>> PackIndex::all() const {
  std::lock_guard lock(mu_);
  return select_locked([](const Entry&) { return true; });
}

std::vector<std::pair<std::string, PackIndex::Entry>> PackIndex::in(std::uint64_t seq) const {
  std::lock_guard lock(mu_);
  return select_locked([seq](const Entry& e) { return e.seq == seq; });
}

std::map<std::uint64_t, std::uint64_t> PackIndex::live_bytes() const {
  std::lock_guard lock(mu_);
  std::map<std::uint64_t, std::uint64_t> out;
  for (const auto& [seq, s] : segments_) out[seq] = s.bytes;
  return out;
}

Result<std::string> PackIndex::read(const Entry& e, std::uint64_t offset, std::size_t length) const {
  if (offset >= e.length) return std::string();
  length = static_cast<std::size_t>(std::min<std::uint64_t>(length, e.length - offset));
  std::shared_ptr<Fd> fd;
  const std::string path = segment_path_(e.seq);
  {
    std::lock_guard lock(mu_);
    auto& slot = fds_[e.seq];
    if (!slot) {
      auto opened = std::make_shared<Fd>();
      opened->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (opened->fd < 0) {
        const int err = errno;
        fds_.erase(e.seq);
        return make_error(Errc::internal, "open " + path + ": " + std::strerror(err));
      }
      slot = std::move(opened);
    }
    fd = slot;
  }
  std::string out(length, '\0');
  std::size_t got = 0;
  while (got < length) {
    const ssize_t n = ::pread(fd->fd, out.data() + got, length - got, static_cast<off_t>(e.offset + offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(Errc::internal, "read " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

void PackIndex::forget(std::uint64_t seq) {
  std::lock_guard lock(mu_);
  fds_.erase(seq);
}

}  // namespace minga::files
