#include "base/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace minga {
namespace {

TEST(Crc32c, KnownVectors) {
  // RFC 3720 B.4 and the common check value.
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
}

TEST(Crc32c, ExtendsAcrossPieces) {
  const std::string s = "the quick brown fox jumps over the lazy dog, twice over";
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    EXPECT_EQ(crc32c(s.substr(cut), crc32c(s.substr(0, cut))), crc32c(s)) << cut;
  }
}

TEST(Crc32c, OneFlippedBitChangesIt) {
  std::string s(100, 'a');
  const auto good = crc32c(s);
  s[57] ^= 0x04;
  EXPECT_NE(crc32c(s), good);
}

}  // namespace
}  // namespace minga
