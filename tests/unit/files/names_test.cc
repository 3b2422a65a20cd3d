#include "apps/files/names.h"

#include <gtest/gtest.h>

#include <string>

namespace minga::files {
namespace {

std::string refusal(std::string_view name) {
  const Status s = validate_name(name);
  if (s.ok()) return "accepted";
  EXPECT_EQ(s.error().code, Errc::invalid_argument);
  return s.error().message;
}

TEST(FileNames, PlainAndNestedAndNonAsciiNamesAreAccepted) {
  EXPECT_TRUE(validate_name("a").ok());
  EXPECT_TRUE(validate_name("reports/2026/q4.pdf").ok());
  EXPECT_TRUE(validate_name("canción/ñandú.txt").ok());
  EXPECT_TRUE(validate_name("日本語/файл €.bin").ok());
  EXPECT_TRUE(validate_name("emoji-\xF0\x9F\x98\x80").ok());
  EXPECT_TRUE(validate_name("..hidden/a..b/.x").ok());  // dots inside a segment are fine
  EXPECT_TRUE(validate_name(std::string(kMaxNameBytes, 'x')).ok());
}

TEST(FileNames, EmptyAndTooLongAreRefused) {
  EXPECT_EQ(refusal(""), "bad file name: empty");
  EXPECT_EQ(refusal(std::string(kMaxNameBytes + 1, 'x')), "bad file name: 1025 bytes, at most 1024");
}

TEST(FileNames, PathsThatCouldEscapeAreRefused) {
  EXPECT_EQ(refusal("/etc/passwd"), "bad file name: it starts with '/'");
  EXPECT_EQ(refusal("../../etc/x"), "bad file name: '..' segment");
  EXPECT_EQ(refusal("a/../b"), "bad file name: '..' segment");
  EXPECT_EQ(refusal("a/.."), "bad file name: '..' segment");
  EXPECT_EQ(refusal("./a"), "bad file name: '.' segment");
  EXPECT_EQ(refusal("a/./b"), "bad file name: '.' segment");
  EXPECT_EQ(refusal("a//b"), "bad file name: empty segment (\"//\" or a trailing '/')");
  EXPECT_EQ(refusal("a/"), "bad file name: empty segment (\"//\" or a trailing '/')");
}

TEST(FileNames, NulAndControlCharactersAreRefused) {
  EXPECT_EQ(refusal(std::string("a\0b", 3)), "bad file name: NUL at byte 1");
  EXPECT_EQ(refusal("a\nb"), "bad file name: control character at byte 1");
  EXPECT_EQ(refusal("\tx"), "bad file name: control character at byte 0");
  EXPECT_EQ(refusal("x\x7F"), "bad file name: control character at byte 1");
  EXPECT_EQ(refusal("x\xC2\x85"), "bad file name: control character at byte 1");  // U+0085 NEL
}

TEST(FileNames, InvalidUtf8IsRefused) {
  EXPECT_EQ(refusal("a\xFF"), "bad file name: invalid UTF-8 at byte 1");
  EXPECT_EQ(refusal("\xC3"), "bad file name: invalid UTF-8 at byte 0");              // truncated
  EXPECT_EQ(refusal("\xC0\xAF"), "bad file name: invalid UTF-8 at byte 0");          // overlong '/'
  EXPECT_EQ(refusal("\xE0\x80\xAF"), "bad file name: invalid UTF-8 at byte 0");      // overlong '/'
  EXPECT_EQ(refusal("\xED\xA0\x80"), "bad file name: invalid UTF-8 at byte 0");      // surrogate
  EXPECT_EQ(refusal("\xF4\x90\x80\x80"), "bad file name: invalid UTF-8 at byte 0");  // > U+10FFFF
  EXPECT_EQ(refusal("ok\x80"), "bad file name: invalid UTF-8 at byte 2");            // lone continuation
}

}  // namespace
}  // namespace minga::files
