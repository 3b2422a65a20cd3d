#include "apps/calc/calc_ops.h"

#include <cmath>
#include <string>

namespace minga::calc {

const Op* find_op(std::string_view name) {
  static constexpr Op kOps[] = {Op::add, Op::sub, Op::mul, Op::div};
  if (name == "add") return &kOps[0];
  if (name == "sub") return &kOps[1];
  if (name == "mul") return &kOps[2];
  if (name == "div") return &kOps[3];
  return nullptr;
}

Result<double> apply(Op op, double a, double b) {
  double r = 0;
  switch (op) {
    case Op::add:
      r = a + b;
      break;
    case Op::sub:
      r = a - b;
      break;
    case Op::mul:
      r = a * b;
      break;
    case Op::div:
      if (b == 0) return Error{Errc::division_by_zero, "division by zero"};
      r = a / b;
      break;
  }
  if (!std::isfinite(r)) return Error{Errc::invalid_argument, "result out of range"};
  return r;
}

u128 sum_squares_to(std::uint64_t n) {
  // One of n, n+1 is even and one of n, n+1, 2n+1 is divisible by 3; divide
  // those factors first so intermediate products stay exact and small.
  u128 x = n, y = static_cast<u128>(n) + 1, z = 2 * static_cast<u128>(n) + 1;
  if (x % 2 == 0)
    x /= 2;
  else
    y /= 2;
  if (x % 3 == 0)
    x /= 3;
  else if (y % 3 == 0)
    y /= 3;
  else
    z /= 3;
  return x * y * z;
}

Result<u128> sum_squares_range(std::uint64_t lo, std::uint64_t hi) {
  if (hi > kMaxSumSquaresN) {
    return Error{Errc::invalid_argument, "n is above the maximum of " + std::to_string(kMaxSumSquaresN)};
  }
  if (lo > hi) return static_cast<u128>(0);
  if (lo == 0) return Error{Errc::invalid_argument, "a range of squares starts at 1"};
  return sum_squares_to(hi) - sum_squares_to(lo - 1);
}

}  // namespace minga::calc
