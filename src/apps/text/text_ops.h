// Text operations on UTF-8, handled as text (code points and grapheme
// clusters), not bytes. Pure functions; safe to call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace minga::text {

// False when `s` is not well-formed UTF-8 (overlongs, surrogates and code
// points above U+10FFFF are rejected).
bool valid_utf8(std::string_view s);

// Full Unicode upper-casing (root locale): "ñandú" -> "ÑANDÚ", "ß" -> "SS".
Result<std::string> uppercase(std::string_view s);

// Reverses user-perceived characters (grapheme clusters), so combining marks
// stay on their base letter: "canción" -> "nóicnac".
Result<std::string> reverse(std::string_view s);

// Number of maximal runs of non-white-space code points (Unicode White_Space).
Result<std::uint64_t> word_count(std::string_view s);

}  // namespace minga::text
