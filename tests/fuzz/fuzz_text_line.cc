// Feeds arbitrary lines to the text-mode parser (PING, ECHO, JSON commands).
// It must answer every input with a command or a typed error, never crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wire/text_line.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto r = minga::wire::parse_text_line(line);
  if (!r.ok() && r.error().message.empty()) std::abort();  // every error explains itself
  return 0;
}
