// A target that never returns on any input of two bytes or more: the fuzz
// harness must stop it within its per-input timeout and report a failure.
#include <cstddef>
#include <cstdint>

namespace {
volatile bool forever = true;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t size) {
  while (size >= 2 && forever) {
  }
  return 0;
}
