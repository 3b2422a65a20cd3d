// Little-endian integers in byte strings: the fixed-width fields of minga's
// own encodings (frames, log records, membership and model encodings).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace minga {

inline void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

inline void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads 4 bytes at `p`.
inline std::uint32_t load_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// Reads 8 bytes at `in[pos]` and advances `pos`; false (nothing read) when
// fewer than 8 bytes are left.
inline bool get_u64(std::string_view in, std::size_t& pos, std::uint64_t& v) {
  if (pos > in.size() || in.size() - pos < 8) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[pos + i])) << (8 * i);
  pos += 8;
  return true;
}

}  // namespace minga
