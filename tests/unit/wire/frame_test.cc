#include "wire/frame.h"

#include <gtest/gtest.h>

namespace minga::wire {
namespace {

using Status = Decoded::Status;

std::string frame(std::uint32_t type, std::uint64_t id, std::string_view body) {
  std::string out;
  encode(out, type, id, body);
  return out;
}

TEST(FrameCodec, RoundTripKeepsTypeIdAndBody) {
  const std::string bytes = frame(100, 0x1122334455667788ULL, "hola mundo");
  ASSERT_EQ(bytes.size(), kHeaderBytes + 10);
  auto d = decode(bytes, kDefaultMaxBodyBytes);
  ASSERT_EQ(d.status, Status::frame);
  EXPECT_EQ(d.header.type, 100u);
  EXPECT_EQ(d.header.request_id, 0x1122334455667788ULL);
  EXPECT_EQ(d.body, "hola mundo");
  EXPECT_EQ(d.consumed, bytes.size());
}

TEST(FrameCodec, HeaderLayoutIsLittleEndianAsDocumented) {
  const std::string b = frame(0x01020304, 0x05, "xy");
  EXPECT_EQ(static_cast<unsigned char>(b[0]), 0xF9);
  EXPECT_EQ(b[1], 'M');
  EXPECT_EQ(b[2], 1);
  EXPECT_EQ(b[3], 0);
  EXPECT_EQ(b[4], 2);     // body length
  EXPECT_EQ(b[8], 0x04);  // type, low byte first
  EXPECT_EQ(b[11], 0x01);
  EXPECT_EQ(b[12], 0x05);  // request id
}

TEST(FrameCodec, EmptyBodyIsAFrame) {
  auto d = decode(frame(2, 1, ""), 0);
  ASSERT_EQ(d.status, Status::frame);
  EXPECT_TRUE(d.body.empty());
}

TEST(FrameCodec, EveryPrefixOfAFrameNeedsMore) {
  const std::string bytes = frame(7, 9, "a body of some length");
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    auto d = decode(std::string_view(bytes).substr(0, cut), kDefaultMaxBodyBytes);
    ASSERT_EQ(d.status, Status::need_more) << "cut at " << cut;
    EXPECT_EQ(d.wanted, cut >= kHeaderBytes ? bytes.size() : 0u);
  }
}

TEST(FrameCodec, TwoFramesInOneBufferDecodeInOrder) {
  const std::string bytes = frame(1, 1, "first") + frame(2, 2, "second");
  auto a = decode(bytes, 100);
  ASSERT_EQ(a.status, Status::frame);
  EXPECT_EQ(a.body, "first");
  auto b = decode(std::string_view(bytes).substr(a.consumed), 100);
  ASSERT_EQ(b.status, Status::frame);
  EXPECT_EQ(b.body, "second");
  EXPECT_EQ(a.consumed + b.consumed, bytes.size());
}

TEST(FrameCodec, OversizedLengthFailsOnTheHeaderAlone) {
  std::string bytes = frame(1, 1, std::string(100, 'x'));
  auto d = decode(std::string_view(bytes).substr(0, kHeaderBytes), 99);
  ASSERT_EQ(d.status, Status::error);
  EXPECT_EQ(d.error, DecodeError::too_large);
  EXPECT_EQ(decode(bytes, 100).status, Status::frame);  // the limit is inclusive
}

TEST(FrameCodec, GarbageFailsAtTheFirstWrongByte) {
  auto d = decode("G", 100);
  ASSERT_EQ(d.status, Status::error);
  EXPECT_EQ(d.error, DecodeError::bad_magic);
  EXPECT_EQ(decode("\xF9X", 100).error, DecodeError::bad_magic);
  auto v = decode(std::string("\xF9M\x02", 3), 100);
  ASSERT_EQ(v.status, Status::error);
  EXPECT_EQ(v.error, DecodeError::unsupported_version);
  auto f = decode(std::string("\xF9M\x01\x01", 4), 100);
  ASSERT_EQ(f.status, Status::error);
  EXPECT_EQ(f.error, DecodeError::bad_flags);
}

TEST(FrameCodec, EmptyInputNeedsMore) { EXPECT_EQ(decode("", 10).status, Status::need_more); }

TEST(FrameCodec, StartsFrameOnlyForTheMagicByte) {
  EXPECT_TRUE(starts_frame(0xF9));
  EXPECT_FALSE(starts_frame('P'));
  EXPECT_FALSE(starts_frame('{'));
}

}  // namespace
}  // namespace minga::wire
