#include "storage/raft_storage.h"

namespace minga::storage {
namespace {

constexpr std::uint8_t kEntryRecord = 1;
constexpr std::uint64_t kMaxHardStateBytes = 4096;
constexpr std::uint64_t kMaxSnapshotBytes = std::uint64_t{4} << 30;
constexpr const char* kSnapshotFile = "snapshot";
constexpr const char* kHardStateFile = "hardstate";

Error corrupt(const std::string& what) { return Error{Errc::internal, "storage is corrupt: " + what}; }

}  // namespace

Result<std::unique_ptr<RaftStorage>> RaftStorage::open(FileSystem& fs, const std::string& dir,
                                                       const raft::Membership& bootstrap,
                                                       const StorageOptions& options) {
  std::unique_ptr<RaftStorage> s(new RaftStorage(fs, dir));
  if (auto st = s->load(bootstrap, options); !st) return st.error();
  return s;
}

Status RaftStorage::load(const raft::Membership& bootstrap, const StorageOptions& options) {
  if (auto st = fs_.create_dir(dir_); !st) return st;
  auto names = fs_.list(dir_);
  if (!names) return names.error();
  bool has_snapshot = false, has_hard_state = false, has_wal = false;
  for (const auto& name : names.value()) {
    has_snapshot |= name == kSnapshotFile;
    has_hard_state |= name == kHardStateFile;
    has_wal |= name.rfind("wal-", 0) == 0;
    if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") {
      // An atomic replacement that a crash interrupted; the old file stands.
      if (auto st = fs_.remove(dir_ + "/" + name); !st) return st;
    }
  }
  if (!has_snapshot) {
    if (has_wal || has_hard_state) return corrupt("the snapshot file is missing");
    snap_.snapshot.meta = raft::SnapshotMeta{raft::Index{0}, raft::Term{0}, bootstrap};
    snap_.wal_first_segment = 1;
    if (auto st = write_atomically(fs_, dir_, kSnapshotFile, encode_snapshot(snap_)); !st) return st;
    report_.fresh = true;
  } else {
    auto bytes = fs_.read(dir_ + "/" + kSnapshotFile, kMaxSnapshotBytes);
    if (!bytes) return bytes.error();
    auto file = decode_snapshot(bytes.value());
    if (!file) return corrupt("the snapshot file does not decode");
    snap_ = std::move(*file);
  }
  if (has_hard_state) {
    auto bytes = fs_.read(dir_ + "/" + kHardStateFile, kMaxHardStateBytes);
    if (!bytes) return bytes.error();
    auto hs = decode_hard_state(bytes.value());
    if (!hs) return corrupt("the hard state file does not decode");
    initial_.hard_state = *hs;
  }
  written_hs_ = initial_.hard_state;
  initial_.snapshot = snap_.snapshot.meta;
  if (snap_.snapshot.meta.index > raft::Index{0}) {
    initial_.snapshot_data = std::make_shared<const raft::Snapshot>(std::move(snap_.snapshot));
    snap_.snapshot = raft::Snapshot{initial_.snapshot, {}};
  }
  auto wal = Wal::open(
      fs_, dir_, snap_.wal_first_segment, options.wal,
      [this](std::uint64_t segment, std::string_view payload) { return replay(segment, payload); }, report_.wal);
  if (!wal) return wal.error();
  wal_ = std::move(wal.value());
  // Each write left a valid log, so the replayed one must be valid too.
  raft::Term prev = initial_.snapshot.term;
  for (const auto& e : initial_.entries) {
    if (e.term < prev) return corrupt("log terms go back at index " + std::to_string(e.index.value));
    prev = e.term;
  }
  return ok_status();
}

Status RaftStorage::replay(std::uint64_t segment, std::string_view payload) {
  if (payload.empty() || static_cast<std::uint8_t>(payload[0]) != kEntryRecord) {
    return corrupt("unknown WAL record in segment " + std::to_string(segment));
  }
  auto e = decode_entry(payload.substr(1));
  if (!e) return corrupt("malformed entry record in segment " + std::to_string(segment));
  raft::Index& top = segment_max_[segment];
  top = raft::max_index(top, e->index);
  const raft::SnapshotMeta& base = initial_.snapshot;
  auto& entries = initial_.entries;
  if (e->index <= base.index) {
    // Covered by the snapshot, but it still replaced everything after it
    // when it was written: what follows the snapshot so far is stale
    // (found by the simulator: skipping it resurrected an overwritten
    // suffix after a compaction).
    entries.clear();
    return ok_status();
  }
  const raft::Index last = base.index + entries.size();
  if (e->index > last.next()) return corrupt("the log has a gap before index " + std::to_string(e->index.value));
  entries.resize(e->index.value - base.index.value - 1);
  entries.push_back(std::move(*e));
  return ok_status();
}

Status RaftStorage::guard(Status st) {
  if (!st) failed_ = true;
  return st;
}

Status RaftStorage::append(const std::vector<raft::Entry>& entries) {
  if (failed_) return Status::fail(Errc::internal, "storage failed earlier; restart to recover");
  if (entries.empty()) return ok_status();
  std::vector<std::string> payloads;
  payloads.reserve(entries.size());
  for (const auto& e : entries) {
    Writer w;
    w.u8(kEntryRecord);
    encode_entry(w, e);
    payloads.push_back(std::move(w.out()));
  }
  auto seq = wal_->append(payloads);
  if (!seq) return guard(seq.error());
  raft::Index& top = segment_max_[seq.value()];
  for (const auto& e : entries) top = raft::max_index(top, e.index);
  return ok_status();
}

Status RaftStorage::sync() {
  if (failed_) return Status::fail(Errc::internal, "storage failed earlier; restart to recover");
  return guard(wal_->sync());
}

Status RaftStorage::save_hard_state(const raft::HardState& hs) {
  if (failed_) return Status::fail(Errc::internal, "storage failed earlier; restart to recover");
  if (hs.term == written_hs_.term && hs.vote == written_hs_.vote) return ok_status();
  if (auto st = guard(write_atomically(fs_, dir_, kHardStateFile, encode_hard_state(hs))); !st) return st;
  written_hs_ = hs;
  return ok_status();
}

Status RaftStorage::install_snapshot(const raft::Snapshot& s) {
  if (failed_) return Status::fail(Errc::internal, "storage failed earlier; restart to recover");
  // The log after the snapshot starts in a fresh segment; the snapshot file
  // names it, so one atomic rename switches from the old log to the new.
  auto seq = wal_->rotate();
  if (!seq) return guard(seq.error());
  SnapshotFile file{s, seq.value()};
  if (auto st = guard(write_atomically(fs_, dir_, kSnapshotFile, encode_snapshot(file))); !st) return st;
  {
    std::lock_guard lock(snap_mu_);
    snap_ = SnapshotFile{raft::Snapshot{s.meta, {}}, seq.value()};
  }
  if (auto st = guard(wal_->remove_below(seq.value())); !st) return st;
  segment_max_.erase(segment_max_.begin(), segment_max_.lower_bound(seq.value()));
  return ok_status();
}

Status RaftStorage::save_snapshot(const raft::Snapshot& s) {
  if (failed_) return Status::fail(Errc::internal, "storage failed earlier; restart to recover");
  auto p = prepare_snapshot(s);
  if (!p) return guard(p.error());
  return commit_snapshot(p.value());
}

Result<RaftStorage::Prepared> RaftStorage::prepare_snapshot(const raft::Snapshot& s) {
  Prepared p;
  p.meta = s.meta;
  {
    std::lock_guard lock(snap_mu_);
    p.wal_first_segment = snap_.wal_first_segment;
  }
  p.tmp = dir_ + "/" + kSnapshotFile + ".local.tmp";
  const std::string bytes = encode_snapshot(SnapshotFile{s, p.wal_first_segment});
  auto f = fs_.open(p.tmp, FileSystem::Open::truncate);
  if (!f) return f.error();
  if (auto st = f.value()->append(bytes); !st) return st.error();
  if (auto st = f.value()->sync(); !st) return st.error();
  return p;
}

Status RaftStorage::commit_snapshot(const Prepared& p) {
  if (failed_) return Status::fail(Errc::internal, "storage failed earlier; restart to recover");
  {
    std::lock_guard lock(snap_mu_);
    if (snap_.wal_first_segment != p.wal_first_segment || snap_.snapshot.meta.index >= p.meta.index) {
      // A leader's snapshot replaced the log since: this one is stale.
      return guard(fs_.remove(p.tmp));
    }
  }
  if (auto st = guard(fs_.rename(p.tmp, dir_ + "/" + kSnapshotFile)); !st) return st;
  if (auto st = guard(fs_.sync_dir(dir_)); !st) return st;
  {
    std::lock_guard lock(snap_mu_);
    snap_.snapshot.meta = p.meta;
  }
  // Whole segments whose every entry the snapshot covers go, oldest first.
  std::uint64_t keep_from = wal_->active_segment();
  for (std::uint64_t seq : wal_->segments()) {
    auto it = segment_max_.find(seq);
    if (seq == wal_->active_segment() || (it != segment_max_.end() && it->second > p.meta.index)) {
      keep_from = seq;
      break;
    }
  }
  if (auto st = guard(wal_->remove_below(keep_from)); !st) return st;
  segment_max_.erase(segment_max_.begin(), segment_max_.lower_bound(keep_from));
  return ok_status();
}

}  // namespace minga::storage
