// Little-endian binary encoding of what storage writes: log entries, the
// hard state and snapshots. Decoders check every length before using it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "raft/types.h"

namespace minga::storage {

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v);
  void u64(std::uint64_t v);
  void bytes(std::string_view b);  // u64 length, then the bytes
  std::string& out() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u8(std::uint8_t& v);
  bool u32(std::uint32_t& v);
  bool u64(std::uint64_t& v);
  bool bytes(std::string& b);
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

// The hard state and snapshot files are sealed: magic, crc32c(body), body.
// unseal() returns the body, or nullopt for another magic or a bad checksum.
inline constexpr std::string_view kHardStateMagic = "MHS1";
inline constexpr std::string_view kSnapshotMagic = "MSN1";
std::string seal(std::string_view magic, const std::string& body);
std::optional<std::string_view> unseal(std::string_view magic, std::string_view bytes);

void encode_entry(Writer& w, const raft::Entry& e);
std::optional<raft::Entry> decode_entry(std::string_view bytes);

std::string encode_hard_state(const raft::HardState& hs);
std::optional<raft::HardState> decode_hard_state(std::string_view bytes);

// A snapshot file also records the first WAL segment that belongs to the
// log after it (segments before it hold a log the snapshot replaced).
struct SnapshotFile {
  raft::Snapshot snapshot;
  std::uint64_t wal_first_segment = 0;
};
std::string encode_snapshot(const SnapshotFile& s);
std::optional<SnapshotFile> decode_snapshot(std::string_view bytes);

}  // namespace minga::storage
