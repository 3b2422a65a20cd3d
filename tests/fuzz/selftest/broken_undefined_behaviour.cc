// A target with undefined behaviour on every input (signed overflow) and no
// crash: the fuzz harness must report it as a failure.
#include <climits>
#include <cstddef>
#include <cstdint>

namespace {
volatile int large = INT_MAX;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t size) {
  const int overflow = large + static_cast<int>(size % 2) + 1;
  return overflow == 0 ? 1 : 0;
}
