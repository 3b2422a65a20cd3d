#include "storage/codec.h"

#include "base/crc32c.h"

namespace minga::storage {

std::string seal(std::string_view magic, const std::string& body) {
  Writer w;
  w.out().append(magic);
  w.u32(crc32c(body));
  w.out().append(body);
  return std::move(w.out());
}

std::optional<std::string_view> unseal(std::string_view magic, std::string_view bytes) {
  if (bytes.size() < magic.size() + 4 || bytes.substr(0, magic.size()) != magic) return std::nullopt;
  Reader r(bytes.substr(magic.size(), 4));
  std::uint32_t crc = 0;
  (void)r.u32(crc);
  const std::string_view body = bytes.substr(magic.size() + 4);
  if (crc32c(body) != crc) return std::nullopt;
  return body;
}

void Writer::u32(std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void Writer::u64(std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void Writer::bytes(std::string_view b) {
  u64(b.size());
  out_.append(b);
}

bool Reader::u8(std::uint8_t& v) {
  if (in_.empty()) return false;
  v = static_cast<std::uint8_t>(in_[0]);
  in_.remove_prefix(1);
  return true;
}

bool Reader::u32(std::uint32_t& v) {
  if (in_.size() < 4) return false;
  v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in_[i])) << (8 * i);
  in_.remove_prefix(4);
  return true;
}

bool Reader::u64(std::uint64_t& v) {
  if (in_.size() < 8) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[i])) << (8 * i);
  in_.remove_prefix(8);
  return true;
}

bool Reader::bytes(std::string& b) {
  std::uint64_t n = 0;
  if (!u64(n) || n > in_.size()) return false;  // checked before allocating
  b.assign(in_.substr(0, n));
  in_.remove_prefix(n);
  return true;
}

void encode_entry(Writer& w, const raft::Entry& e) {
  w.u64(e.term.value);
  w.u64(e.index.value);
  w.u8(static_cast<std::uint8_t>(e.type));
  w.bytes(e.data);
}

std::optional<raft::Entry> decode_entry(std::string_view bytes) {
  Reader r(bytes);
  raft::Entry e;
  std::uint8_t type = 0;
  if (!r.u64(e.term.value) || !r.u64(e.index.value) || !r.u8(type) || !r.bytes(e.data) || !r.done()) {
    return std::nullopt;
  }
  if (type < 1 || type > 3 || e.index == raft::Index{0} || e.term == raft::Term{0}) return std::nullopt;
  e.type = static_cast<raft::EntryType>(type);
  return e;
}

std::string encode_hard_state(const raft::HardState& hs) {
  Writer w;
  w.u64(hs.term.value);
  w.u64(hs.vote.value);
  w.u64(hs.commit.value);
  return seal(kHardStateMagic, w.out());
}

std::optional<raft::HardState> decode_hard_state(std::string_view bytes) {
  auto body = unseal(kHardStateMagic, bytes);
  if (!body) return std::nullopt;
  Reader r(*body);
  raft::HardState hs;
  if (!r.u64(hs.term.value) || !r.u64(hs.vote.value) || !r.u64(hs.commit.value) || !r.done()) return std::nullopt;
  return hs;
}

std::string encode_snapshot(const SnapshotFile& s) {
  Writer w;
  w.u64(s.snapshot.meta.index.value);
  w.u64(s.snapshot.meta.term.value);
  w.bytes(raft::encode_membership(s.snapshot.meta.membership));
  w.u64(s.wal_first_segment);
  w.bytes(s.snapshot.data);
  return seal(kSnapshotMagic, w.out());
}

std::optional<SnapshotFile> decode_snapshot(std::string_view bytes) {
  auto body = unseal(kSnapshotMagic, bytes);
  if (!body) return std::nullopt;
  Reader r(*body);
  SnapshotFile s;
  std::string membership;
  if (!r.u64(s.snapshot.meta.index.value) || !r.u64(s.snapshot.meta.term.value) || !r.bytes(membership) ||
      !r.u64(s.wal_first_segment) || !r.bytes(s.snapshot.data) || !r.done()) {
    return std::nullopt;
  }
  if (!raft::decode_membership(membership, s.snapshot.meta.membership)) return std::nullopt;
  return s;
}

}  // namespace minga::storage
