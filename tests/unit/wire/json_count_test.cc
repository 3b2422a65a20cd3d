// The count field `n` of a JSON command: a JSON number or a string, kept as
// its text so that values beyond 2^53 stay exact.
#include <gtest/gtest.h>

#include "wire/json_command.h"

namespace minga::wire {
namespace {

TEST(JsonCount, AnIntegerOrAStringGivesTheSameText) {
  auto number = parse_json_command(R"({"op":"sum_squares","n":9})");
  ASSERT_TRUE(number.ok()) << number.error().message;
  EXPECT_TRUE(number->has_n());
  EXPECT_EQ(number->n(), "9");
  auto text = parse_json_command(R"({"op":"sumsq","n":"9"})");
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(text->n(), "9");
}

TEST(JsonCount, DigitsBeyondTwoToTheFiftyThirdAreKept) {
  auto r = parse_json_command(R"({"op":"sumsq","n":9007199254740993})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->n(), "9007199254740993");  // a double would give ...992
}

TEST(JsonCount, OtherNumberFormsAreKeptForTheOperationToRefuse) {
  EXPECT_EQ(parse_json_command(R"({"op":"sumsq","n":-1})")->n(), "-1");
  EXPECT_EQ(parse_json_command(R"({"op":"sumsq","n":1e3})")->n(), "1e3");
  EXPECT_EQ(parse_json_command(R"({"op":"sumsq","n":2.5})")->n(), "2.5");
}

TEST(JsonCount, NonNumbersAreRefusedByName) {
  auto b = parse_json_command(R"({"op":"sumsq","n":true})");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().message, R"(invalid JSON command: field "n" must be a number or a string)");
  auto loose = parse_json_command(R"({"op":"sumsq","n":01})");
  ASSERT_FALSE(loose.ok());
  EXPECT_EQ(loose.error().message, "invalid JSON command: leading zero in a number at byte 18");
  auto repeated = parse_json_command(R"({"op":"sumsq","n":1,"n":"2"})");
  ASSERT_FALSE(repeated.ok());
  EXPECT_EQ(repeated.error().message, R"(invalid JSON command: repeated field "n")");
}

}  // namespace
}  // namespace minga::wire
