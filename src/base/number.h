// Strict number parsing and shortest round-trip formatting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace minga {

// Unsigned 128-bit integer (a GCC/Clang extension; __extension__ keeps
// -Wpedantic quiet).
__extension__ typedef unsigned __int128 u128;

// Accepts decimal and exponent forms ("10", "-2.5", "1e3", "+4"); rejects
// empty input, surrounding spaces, trailing garbage, hex, inf and nan.
Result<double> parse_double(std::string_view text);

// Accepts an optional '+', then decimal digits only; rejects overflow.
Result<std::uint64_t> parse_u64(std::string_view text);

// Shortest text that parses back to the same double: 15, 0.30000000000000004.
std::string format_double(double value);

// Decimal text of an unsigned 128-bit integer.
std::string format_u128(u128 value);

// The p-th percentile (0..100) of ascending `sorted`, the nearest of the
// ranks 0..n-1 (0 when empty): the benchmarks' p50/p99.
double percentile(const std::vector<double>& sorted, double p);

}  // namespace minga
