// The binary frame codec. Pure: bytes in, frames out; no sockets, no clocks.
//
// Frame layout (little-endian), 20-byte header then the body:
//   offset size field
//        0    2 magic        0xF9 0x4D   (0xF9 never starts a UTF-8 text line)
//        2    1 version      1
//        3    1 flags        0 (reserved; a non-zero value is a bad frame)
//        4    4 body_bytes   length of the body that follows
//        8    4 type         message type (pb::MessageType and app ranges)
//       12    8 request_id   chosen by the requester, echoed in the answer
// The body is a Protocol Buffers message of the named type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace minga::wire {

inline constexpr unsigned char kMagic0 = 0xF9;
inline constexpr unsigned char kMagic1 = 0x4D;
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderBytes = 20;
inline constexpr std::size_t kDefaultMaxBodyBytes = 4u << 20;  // 4 MiB

// True when `first_byte` opens a binary frame; anything else is text mode.
inline bool starts_frame(unsigned char first_byte) { return first_byte == kMagic0; }

struct FrameHeader {
  std::uint32_t type = 0;
  std::uint64_t request_id = 0;
  std::uint32_t body_bytes = 0;
};

// Stable numbers; they map onto pb::ErrorCode (bad_frame = 1, too_large = 2,
// unsupported_version = 13).
enum class DecodeError : std::uint8_t { bad_magic, unsupported_version, bad_flags, too_large };
const char* to_string(DecodeError e);

struct Decoded {
  enum class Status : std::uint8_t { frame, need_more, error };
  Status status = Status::need_more;
  FrameHeader header;
  std::string_view body;     // valid while the input buffer is unchanged
  std::size_t consumed = 0;  // bytes of input the frame occupies
  DecodeError error{};
  // For need_more: the total bytes the frame needs (0 = header unknown yet).
  std::size_t wanted = 0;
};

// Decodes the frame at the start of `input`. Checks the header, including
// `body_bytes <= max_body_bytes`, before the caller allocates anything for
// the body, and fails on the header alone when it is invalid.
Decoded decode(std::string_view input, std::size_t max_body_bytes);

// Appends one encoded frame to `out`.
void encode(std::string& out, std::uint32_t type, std::uint64_t request_id, std::string_view body);
// Writes just the header for a body of `body_bytes` into `out` (20 bytes).
void encode_header(char* out, std::uint32_t type, std::uint64_t request_id, std::uint32_t body_bytes);

}  // namespace minga::wire
