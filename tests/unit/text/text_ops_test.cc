#include "apps/text/text_ops.h"

#include <gtest/gtest.h>

namespace minga::text {
namespace {

TEST(TextOps, UppercaseIsUnicodeAware) {
  EXPECT_EQ(uppercase("hola mundo").value(), "HOLA MUNDO");
  EXPECT_EQ(uppercase("ñandú canción").value(), "ÑANDÚ CANCIÓN");
  EXPECT_EQ(uppercase("straße").value(), "STRASSE");
  EXPECT_EQ(uppercase("καλημέρα").value(), "ΚΑΛΗΜΈΡΑ");  // root locale keeps the tonos
  EXPECT_EQ(uppercase("").value(), "");
}

TEST(TextOps, ReverseKeepsCharactersWhole) {
  EXPECT_EQ(reverse("canción").value(), "nóicnac");
  EXPECT_EQ(reverse("abc").value(), "cba");
  // "é" written as e + combining acute stays one character.
  EXPECT_EQ(reverse("ae\xCC\x81z").value(),
            "ze\xCC\x81"
            "a");
  EXPECT_EQ(reverse("a\r\nb").value(), "b\r\na");
  EXPECT_EQ(reverse("").value(), "");
}

TEST(TextOps, WordCountSplitsOnAnyWhiteSpace) {
  EXPECT_EQ(word_count("hola mundo").value(), 2u);
  EXPECT_EQ(word_count("  uno\tdos\n tres  ").value(), 3u);
  EXPECT_EQ(word_count("").value(), 0u);
  EXPECT_EQ(word_count("   ").value(), 0u);
  EXPECT_EQ(word_count("año\xE2\x80\x83nuevo").value(), 2u);  // U+2003 EM SPACE
}

TEST(TextOps, InvalidUtf8IsAClearError) {
  for (std::string_view bad : {"\xFF", "abc\xC3", "\xC0\xAF", "\xED\xA0\x80"}) {
    EXPECT_FALSE(valid_utf8(bad));
    auto u = uppercase(bad);
    ASSERT_FALSE(u.ok());
    EXPECT_EQ(u.error().message, "invalid UTF-8 in text");
    EXPECT_FALSE(reverse(bad).ok());
    EXPECT_FALSE(word_count(bad).ok());
  }
  EXPECT_TRUE(valid_utf8("ñandú"));
}

}  // namespace
}  // namespace minga::text
