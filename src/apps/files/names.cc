#include "apps/files/names.h"

#include <cstdint>
#include <string>

namespace minga::files {
namespace {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  const std::uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  std::uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  const std::uint8_t b1 = byte(i + 1);
  if (b1 < lo || b1 > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return len;
}

Status bad(std::string message) { return make_error(Errc::invalid_argument, "bad file name: " + message); }

}  // namespace

Status validate_name(std::string_view name) {
  if (name.empty()) return bad("empty");
  if (name.size() > kMaxNameBytes) {
    return bad(std::to_string(name.size()) + " bytes, at most " + std::to_string(kMaxNameBytes));
  }
  if (name.front() == '/') return bad("it starts with '/'");
  for (std::size_t i = 0; i < name.size();) {
    const auto c = static_cast<std::uint8_t>(name[i]);
    if (c == 0) return bad("NUL at byte " + std::to_string(i));
    if (c < 0x20 || c == 0x7F) return bad("control character at byte " + std::to_string(i));
    const std::size_t len = utf8_length(name, i);
    if (len == 0) return bad("invalid UTF-8 at byte " + std::to_string(i));
    // C1 controls U+0080..U+009F are C2 80..C2 9F.
    if (len == 2 && c == 0xC2 && static_cast<std::uint8_t>(name[i + 1]) < 0xA0) {
      return bad("control character at byte " + std::to_string(i));
    }
    i += len;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = name.find('/', start);
    const std::string_view segment =
        name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty()) return bad("empty segment (\"//\" or a trailing '/')");
    if (segment == "." || segment == "..") return bad("'" + std::string(segment) + "' segment");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return ok_status();
}

}  // namespace minga::files
