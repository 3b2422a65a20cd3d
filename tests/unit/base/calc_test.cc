#include "apps/calc/calc_ops.h"

#include <gtest/gtest.h>

namespace minga::calc {
namespace {

TEST(Calc, BasicOperations) {
  EXPECT_EQ(apply(Op::add, 10, 5).value(), 15);
  EXPECT_EQ(apply(Op::sub, 10, 5).value(), 5);
  EXPECT_EQ(apply(Op::mul, -2.5, 4).value(), -10);
  EXPECT_EQ(apply(Op::div, 10, 4).value(), 2.5);
  EXPECT_EQ(apply(Op::add, 0.1, 0.2).value(), 0.1 + 0.2);
}

TEST(Calc, DivisionByZeroIsAnError) {
  auto r = apply(Op::div, 1, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::division_by_zero);
  EXPECT_EQ(r.error().message, "division by zero");
}

TEST(Calc, OverflowIsAnError) { EXPECT_FALSE(apply(Op::mul, 1e300, 1e300).ok()); }

TEST(SumSquares, ExactOverTheWholeRange) {
  EXPECT_EQ(format_u128(sum_squares_range(1, 3).value()), "14");
  EXPECT_EQ(format_u128(sum_squares_range(4, 6).value()), "77");
  EXPECT_EQ(format_u128(sum_squares_range(7, 9).value()), "194");
  EXPECT_EQ(format_u128(sum_squares_to(9)), "285");
  EXPECT_EQ(format_u128(sum_squares_to(0)), "0");
  // n(n+1)(2n+1)/6 for n = 10^12, computed by hand.
  EXPECT_EQ(format_u128(sum_squares_to(kMaxSumSquaresN)), "333333333333833333333333500000000000");
  EXPECT_FALSE(sum_squares_range(1, kMaxSumSquaresN + 1).ok());
  EXPECT_EQ(format_u128(sum_squares_range(5, 4).value()), "0");
  EXPECT_FALSE(sum_squares_range(0, 4).ok());
}

}  // namespace
}  // namespace minga::calc
