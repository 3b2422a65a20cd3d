#include "base/json.h"

#include <gtest/gtest.h>

namespace minga::json {
namespace {

TEST(Json, EscapesStringsAndControlCharacters) { EXPECT_EQ(quote("a\"b\\c\n\x01ñ"), "\"a\\\"b\\\\c\\n\\u0001ñ\""); }

TEST(Json, ObjectKeepsInsertionOrderAndTypes) {
  const std::string s =
      Object().add("ok", true).add("n", 15.0).add("i", std::int64_t{-3}).add("s", "x").add_raw("parts", "[1,2]").str();
  EXPECT_EQ(s, R"({"ok":true,"n":15,"i":-3,"s":"x","parts":[1,2]})");
  EXPECT_EQ(Object().str(), "{}");
}

}  // namespace
}  // namespace minga::json
