// CRC-32C and the binary encodings of entries, hard state and snapshots.
#include <gtest/gtest.h>

#include "base/crc32c.h"
#include "storage/codec.h"

namespace minga::storage {
namespace {

TEST(Crc32c, MatchesTheStandardCheckValueAndExtendsIncrementally) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c("6789", crc32c("12345")), crc32c("123456789"));
}

TEST(Codec, EntryRoundTripsAndRejectsTruncationOrBadTypes) {
  raft::Entry e{raft::Term{3}, raft::Index{9}, raft::EntryType::config, "abc"};
  Writer w;
  encode_entry(w, e);
  auto back = decode_entry(w.out());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, e);
  EXPECT_FALSE(decode_entry(std::string_view(w.out()).substr(0, w.out().size() - 1)));
  std::string bad = w.out();
  bad[16] = 9;  // entry type
  EXPECT_FALSE(decode_entry(bad));
}

TEST(Codec, HugeLengthPrefixIsRefusedBeforeAllocating) {
  Writer w;
  w.u64(1);
  w.u64(1);
  w.u8(1);
  w.u64(~std::uint64_t{0});  // data length
  EXPECT_FALSE(decode_entry(w.out()));
}

TEST(Codec, HardStateRoundTripsAndAnyFlippedBitIsDetected) {
  raft::HardState hs{raft::Term{7}, raft::NodeId{2}, raft::Index{40}};
  const std::string bytes = encode_hard_state(hs);
  ASSERT_TRUE(decode_hard_state(bytes));
  EXPECT_EQ(*decode_hard_state(bytes), hs);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(decode_hard_state(bad)) << "byte " << i;
  }
}

TEST(Codec, SnapshotFileRoundTrips) {
  SnapshotFile f;
  f.snapshot.meta.index = raft::Index{12};
  f.snapshot.meta.term = raft::Term{4};
  f.snapshot.meta.membership.voters = {raft::NodeId{1}, raft::NodeId{2}};
  f.snapshot.data = std::string(1000, 'z');
  f.wal_first_segment = 6;
  auto back = decode_snapshot(encode_snapshot(f));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->snapshot.meta, f.snapshot.meta);
  EXPECT_EQ(back->snapshot.data, f.snapshot.data);
  EXPECT_EQ(back->wal_first_segment, 6u);
  EXPECT_FALSE(decode_snapshot(encode_snapshot(f).substr(0, 50)));
}

}  // namespace
}  // namespace minga::storage
