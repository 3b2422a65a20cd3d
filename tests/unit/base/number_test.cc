#include "base/number.h"

#include <gtest/gtest.h>

namespace minga {
namespace {

TEST(ParseDouble, AcceptsDecimalAndExponentForms) {
  EXPECT_EQ(parse_double("10").value(), 10);
  EXPECT_EQ(parse_double("-2.5").value(), -2.5);
  EXPECT_EQ(parse_double("1e3").value(), 1000);
  EXPECT_EQ(parse_double("+4").value(), 4);
  EXPECT_EQ(parse_double(".5").value(), 0.5);
  EXPECT_EQ(parse_double("0.1").value(), 0.1);
}

TEST(ParseDouble, RejectsEverythingElse) {
  for (const char* bad :
       {"", " 1", "1 ", "10abc", "abc", "0x10", "inf", "nan", "-inf", "1e", "--1", "+", "1,5", "1e999"}) {
    auto r = parse_double(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, Errc::invalid_argument);
    }
  }
}

TEST(ParseU64, StrictDigits) {
  EXPECT_EQ(parse_u64("0").value(), 0u);
  EXPECT_EQ(parse_u64("18446744073709551615").value(), UINT64_MAX);
  EXPECT_FALSE(parse_u64("18446744073709551616").ok());
  EXPECT_FALSE(parse_u64("-1").ok());
  EXPECT_FALSE(parse_u64("1.5").ok());
  EXPECT_FALSE(parse_u64("").ok());
}

TEST(FormatDouble, ShortestRoundTrip) {
  EXPECT_EQ(format_double(15), "15");
  EXPECT_EQ(format_double(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(format_double(-2.5), "-2.5");
  EXPECT_EQ(format_double(-0.0), "0");
  EXPECT_EQ(format_double(1e21), "1e+21");
  EXPECT_EQ(format_double(100000), "100000");
  EXPECT_EQ(format_double(-1e15), "-1000000000000000");
  EXPECT_EQ(format_double(1e300), "1e+300");
}

TEST(FormatU128, BeyondSixtyFourBits) {
  EXPECT_EQ(format_u128(0), "0");
  const u128 big = static_cast<u128>(UINT64_MAX) * 1000 + 7;
  EXPECT_EQ(format_u128(big), "18446744073709551615007");
}

}  // namespace
}  // namespace minga
