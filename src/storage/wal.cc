#include "storage/wal.h"

#include <algorithm>
#include <cstdio>

#include "base/crc32c.h"
#include "storage/codec.h"

namespace minga::storage {
namespace {

constexpr std::string_view kMagic = "MWAL";
constexpr std::uint32_t kVersion = 1;
constexpr std::uint64_t kHeaderBytes = 16;
constexpr std::uint64_t kFrameBytes = 8;

std::string header(std::uint64_t seq) {
  Writer w;
  w.out().append(kMagic);
  w.u32(kVersion);
  w.u64(seq);
  return std::move(w.out());
}

std::uint32_t frame_crc(std::uint32_t length, std::string_view payload) {
  Writer w;
  w.u32(length);
  return crc32c(payload, crc32c(w.out()));
}

// Why the bytes at `at` are not one whole record, or nullptr when they are
// (then `payload` is its payload).
const char* check_frame(std::string_view bytes, std::size_t at, std::string_view& payload) {
  if (bytes.size() - at < kFrameBytes) return "partial record header";
  Reader r(bytes.substr(at, kFrameBytes));
  std::uint32_t length = 0, crc = 0;
  (void)r.u32(length);
  (void)r.u32(crc);
  if (length > bytes.size() - at - kFrameBytes) return "record longer than the file";
  payload = bytes.substr(at + kFrameBytes, length);
  if (frame_crc(length, payload) != crc) return "checksum mismatch";
  return nullptr;
}

// The offset of the first whole record after the bad one at `bad`, or npos.
// Tried first where the bad record's length says the next one starts (a
// flipped payload bit leaves the length intact), then at every byte.
std::size_t next_whole_frame(std::string_view bytes, std::size_t bad) {
  std::string_view payload;
  if (bytes.size() - bad >= kFrameBytes) {
    Reader r(bytes.substr(bad, 4));
    std::uint32_t length = 0;
    (void)r.u32(length);
    const std::uint64_t claimed = bad + kFrameBytes + std::uint64_t{length};
    if (claimed < bytes.size() && check_frame(bytes, claimed, payload) == nullptr) return claimed;
  }
  // None starts in an all-zero rest (the zeros written ahead): its length
  // would be 0, whose CRC is not 0.
  std::size_t end = bytes.size();
  while (end > bad && bytes[end - 1] == '\0') --end;
  for (std::size_t at = bad + 1; at < end; ++at) {
    if (check_frame(bytes, at, payload) == nullptr) return at;
  }
  return std::string_view::npos;
}

bool all_zero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == '\0'; });
}

bool parse_name(const std::string& name, std::uint64_t& seq) {
  if (name.size() != 24 || name.rfind("wal-", 0) != 0 || name.substr(20) != ".log") return false;
  seq = 0;
  for (char c : name.substr(4, 16)) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    seq = seq * 16 + static_cast<std::uint64_t>(d);
  }
  return true;
}

}  // namespace

std::string wal_segment_name(std::uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "wal-%016llx.log", static_cast<unsigned long long>(seq));
  return buf;
}

std::string Wal::path(std::uint64_t seq) const { return dir_ + "/" + wal_segment_name(seq); }

Result<std::unique_ptr<Wal>> Wal::open(FileSystem& fs, const std::string& dir, std::uint64_t first_segment,
                                       const WalOptions& options, const Visit& visit, WalRecovery& report) {
  std::unique_ptr<Wal> wal(new Wal(fs, dir, options));
  auto names = fs.list(dir);
  if (!names) return names.error();
  std::vector<std::uint64_t> found;
  for (const auto& name : names.value()) {
    std::uint64_t seq = 0;
    if (parse_name(name, seq)) found.push_back(seq);  // list() is sorted; fixed-width names sort by seq
  }
  std::vector<std::uint64_t> live;
  for (auto seq : found) {
    if (seq >= first_segment) live.push_back(seq);
  }
  for (std::size_t i = 1; i < live.size(); ++i) {
    if (live[i] != live[i - 1] + 1) {
      return Error{Errc::internal, "WAL segment " + wal_segment_name(live[i - 1] + 1) + " is missing"};
    }
  }
  for (std::size_t i = 0; i < live.size(); ++i) {
    if (auto st = wal->replay_segment(live[i], i + 1 == live.size(), visit, report); !st) return st.error();
  }
  report.segments = wal->segments_.size();
  // Older segments hold a log that a snapshot replaced.
  for (auto seq : found) {
    if (seq < first_segment) {
      if (auto st = fs.remove(wal->path(seq)); !st) return st.error();
    }
  }
  if (wal->segments_.empty()) {
    if (auto st = wal->create_segment(std::max<std::uint64_t>(first_segment, 1)); !st) return st.error();
  } else {
    wal->active_seq_ = wal->segments_.back();
    auto f = fs.open(wal->path(wal->active_seq_), FileSystem::Open::append);
    if (!f) return f.error();
    wal->active_ = std::move(f.value());
    wal->zeroed_ = wal->active_bytes_;
    if (auto st = wal->keep_zeros_ahead(); !st) return st.error();
    if (auto st = wal->active_->sync(); !st) return st.error();
  }
  if (auto st = fs.sync_dir(dir); !st) return st.error();
  return wal;
}

Status Wal::replay_segment(std::uint64_t seq, bool last, const Visit& visit, WalRecovery& report) {
  const std::string p = path(seq);
  auto data = fs_.read(p, opt_.max_file_bytes);
  if (!data) return data.error();
  const std::string_view bytes = data.value();
  auto torn = [&](std::uint64_t offset, const std::string& why) -> Status {
    auto corrupt = [&](const std::string& more) {
      return Status::fail(Errc::internal,
                          "corrupt WAL segment " + p + " at offset " + std::to_string(offset) + ": " + why + more);
    };
    if (!last) return corrupt("");
    // A crash tears only the unsynced tail, after which nothing whole can
    // follow. A whole record after the bad one means synced data is
    // damaged: cutting there could drop acknowledged entries or votes.
    if (offset >= kHeaderBytes) {
      if (auto next = next_whole_frame(bytes, offset); next != std::string_view::npos) {
        return corrupt(", and a whole record follows at offset " + std::to_string(next) +
                       ": the damage is in synced data, not a torn write; the segment is left as it is");
      }
    }
    report.torn.push_back(TornTail{wal_segment_name(seq), offset, bytes.size() - offset, why});
    if (offset < kHeaderBytes) {
      // Not even the header made it: the segment was being created, and
      // the previous one (whose size active_bytes_ holds) stays active.
      return fs_.remove(p);
    }
    active_bytes_ = offset;
    if (auto st = fs_.truncate(p, offset); !st) return st;
    auto f = fs_.open(p, FileSystem::Open::append);
    if (!f) return f.error();
    return f.value()->sync();
  };
  if (bytes.size() < kHeaderBytes || bytes.substr(0, kHeaderBytes) != header(seq)) {
    if (auto st = torn(0, "bad segment header"); !st) return st;
    return ok_status();
  }
  segments_.push_back(seq);
  std::uint64_t off = kHeaderBytes;
  while (off < bytes.size()) {
    std::string_view payload;
    if (const char* why = check_frame(bytes, off, payload)) {
      if (!last || !all_zero(bytes.substr(off))) return torn(off, why);
      // The zeros written ahead: the end of the log. Cut them, so that
      // appends go on here (the open writes new ones ahead).
      if (auto st = fs_.truncate(p, off); !st) return st;
      break;
    }
    if (auto st = visit(seq, payload); !st) return st;
    ++report.records;
    off += kFrameBytes + payload.size();
  }
  active_bytes_ = off;  // the last segment replayed becomes the active one
  return ok_status();
}

Status Wal::create_segment(std::uint64_t seq) {
  auto f = fs_.open(path(seq), FileSystem::Open::truncate);
  if (!f) return f.error();
  if (auto st = f.value()->append(header(seq)); !st) return st;
  active_ = std::move(f.value());
  active_seq_ = seq;
  active_bytes_ = kHeaderBytes;
  zeroed_ = kHeaderBytes;
  if (auto st = keep_zeros_ahead(); !st) return st;
  if (auto st = active_->sync(); !st) return st;
  if (auto st = fs_.sync_dir(dir_); !st) return st;
  segments_.push_back(seq);
  return ok_status();
}

// Refills the zeros ahead once less than half of zero_ahead_bytes is left,
// up to zero_ahead_bytes past the records but not past segment_bytes (a
// full segment rotates). Durable with the next sync.
Status Wal::keep_zeros_ahead() {
  if (opt_.zero_ahead_bytes == 0 || active_bytes_ >= opt_.segment_bytes) return ok_status();
  if (zeroed_ >= active_bytes_ + opt_.zero_ahead_bytes / 2) return ok_status();
  const std::uint64_t to = std::min(active_bytes_ + opt_.zero_ahead_bytes, opt_.segment_bytes);
  if (to <= zeroed_) return ok_status();
  if (auto st = active_->zero_ahead(to); !st) return st;
  zeroed_ = to;
  return ok_status();
}

Result<std::uint64_t> Wal::append(const std::vector<std::string>& payloads) {
  if (active_bytes_ >= opt_.segment_bytes) {
    auto r = rotate();
    if (!r) return r;
  }
  Writer w;
  for (const auto& p : payloads) {
    const auto length = static_cast<std::uint32_t>(p.size());
    w.u32(length);
    w.u32(frame_crc(length, p));
    w.out().append(p);
  }
  if (auto st = active_->append(w.out()); !st) return st.error();
  active_bytes_ += w.out().size();
  zeroed_ = std::max(zeroed_, active_bytes_);
  if (auto st = keep_zeros_ahead(); !st) return st.error();
  return active_seq_;
}

Status Wal::sync() { return active_->sync(); }

Result<std::uint64_t> Wal::rotate() {
  // Zeros left ahead are cut first: only the last segment may end in them.
  // The sync makes the new size durable (fdatasync commits a size change).
  if (zeroed_ > active_bytes_) {
    if (auto st = fs_.truncate(path(active_seq_), active_bytes_); !st) return st.error();
    zeroed_ = active_bytes_;
  }
  if (auto st = active_->sync(); !st) return st.error();
  if (auto st = create_segment(active_seq_ + 1); !st) return st.error();
  return active_seq_;
}

Status Wal::remove_below(std::uint64_t seq) {
  bool removed = false;
  while (!segments_.empty() && segments_.front() < seq && segments_.front() != active_seq_) {
    if (auto st = fs_.remove(path(segments_.front())); !st) return st;
    segments_.erase(segments_.begin());
    removed = true;
  }
  return removed ? fs_.sync_dir(dir_) : ok_status();
}

}  // namespace minga::storage
