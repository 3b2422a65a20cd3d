#include "wire/frame.h"

#include <cstring>

namespace minga::wire {
namespace {

template <class T>
T load_le(const char* p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

template <class T>
void store_le(char* p, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

}  // namespace

const char* to_string(DecodeError e) {
  switch (e) {
    case DecodeError::bad_magic:
      return "bad magic";
    case DecodeError::unsupported_version:
      return "unsupported protocol version";
    case DecodeError::bad_flags:
      return "reserved flags set";
    case DecodeError::too_large:
      return "frame too large";
  }
  return "unknown";
}

Decoded decode(std::string_view input, std::size_t max_body_bytes) {
  Decoded d;
  auto fail = [&d](DecodeError e) {
    d.status = Decoded::Status::error;
    d.error = e;
    return d;
  };
  // Validate what has arrived so far, byte by byte, so garbage fails early.
  if (!input.empty() && static_cast<unsigned char>(input[0]) != kMagic0) return fail(DecodeError::bad_magic);
  if (input.size() > 1 && static_cast<unsigned char>(input[1]) != kMagic1) return fail(DecodeError::bad_magic);
  if (input.size() > 2 && static_cast<std::uint8_t>(input[2]) != kVersion)
    return fail(DecodeError::unsupported_version);
  if (input.size() > 3 && input[3] != 0) return fail(DecodeError::bad_flags);
  if (input.size() < kHeaderBytes) return d;  // need_more, wanted unknown

  const char* p = input.data();
  d.header.body_bytes = load_le<std::uint32_t>(p + 4);
  d.header.type = load_le<std::uint32_t>(p + 8);
  d.header.request_id = load_le<std::uint64_t>(p + 12);
  if (d.header.body_bytes > max_body_bytes) return fail(DecodeError::too_large);

  const std::size_t total = kHeaderBytes + d.header.body_bytes;
  if (input.size() < total) {
    d.wanted = total;
    return d;
  }
  d.status = Decoded::Status::frame;
  d.body = input.substr(kHeaderBytes, d.header.body_bytes);
  d.consumed = total;
  return d;
}

void encode_header(char* out, std::uint32_t type, std::uint64_t request_id, std::uint32_t body_bytes) {
  out[0] = static_cast<char>(kMagic0);
  out[1] = static_cast<char>(kMagic1);
  out[2] = static_cast<char>(kVersion);
  out[3] = 0;
  store_le<std::uint32_t>(out + 4, body_bytes);
  store_le<std::uint32_t>(out + 8, type);
  store_le<std::uint64_t>(out + 12, request_id);
}

void encode(std::string& out, std::uint32_t type, std::uint64_t request_id, std::string_view body) {
  const std::size_t at = out.size();
  out.resize(at + kHeaderBytes);
  encode_header(out.data() + at, type, request_id, static_cast<std::uint32_t>(body.size()));
  out.append(body);
}

}  // namespace minga::wire
