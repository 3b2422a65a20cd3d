// Invariant assertions. They stay on in release builds: a broken invariant in
// a distributed system is better a loud crash than silent divergence.
#pragma once

namespace minga::detail {
[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const char* msg);
}

#define MINGA_ASSERT(cond, msg)                                                \
  do {                                                                         \
    if (!(cond)) ::minga::detail::assert_fail(#cond, __FILE__, __LINE__, msg); \
  } while (0)
