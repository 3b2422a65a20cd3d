// Arithmetic for the distributed calculator (requirement R2). Pure.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/number.h"
#include "base/result.h"

namespace minga::calc {

enum class Op { add, sub, mul, div };

// Null when `name` is not add|sub|mul|div.
const Op* find_op(std::string_view name);

// IEEE-754 doubles; dividing by zero is the error "division by zero"; a
// result that overflows to infinity is an error too.
Result<double> apply(Op op, double a, double b);

// The largest n accepted by sum_squares: the exact answer for 10^12 needs
// about 119 bits, so unsigned 128-bit arithmetic is exact up to here.
inline constexpr std::uint64_t kMaxSumSquaresN = 1'000'000'000'000ULL;

// 1^2 + ... + n^2 = n(n+1)(2n+1)/6, exact.
u128 sum_squares_to(std::uint64_t n);

// lo^2 + ... + hi^2 for 1 <= lo <= hi <= kMaxSumSquaresN (empty when lo > hi
// gives 0). Errors on bounds outside that range.
Result<u128> sum_squares_range(std::uint64_t lo, std::uint64_t hi);

}  // namespace minga::calc
