// File names of the files app (docs/adr/006-files.md): UTF-8, `/`
// separators, at most 1024 bytes. A name is only a catalogue key; blobs are
// stored by hash, never by name, so no name reaches the file system.
#pragma once

#include <cstddef>
#include <string_view>

#include "base/result.h"

namespace minga::files {

inline constexpr std::size_t kMaxNameBytes = 1024;

// ok, or invalid_argument with a message saying what is wrong: empty, longer
// than kMaxNameBytes, a leading `/`, an empty, `.` or `..` segment, a NUL or
// other control character, or bytes that are not valid UTF-8.
Status validate_name(std::string_view name);

}  // namespace minga::files
