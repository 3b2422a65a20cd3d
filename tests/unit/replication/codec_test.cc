// The peer link's codec: message batches split into bounded frames, and a
// snapshot message cut into chunks and put back together.
#include "replication/codec.h"

#include <gtest/gtest.h>

#include "base/crc32c.h"
#include "proto/raft.pb.h"

namespace minga::replication {
namespace {

raft::Message append(std::uint64_t index, std::size_t bytes) {
  raft::Message m;
  m.type = raft::MessageType::append_request;
  m.from = raft::NodeId(1);
  m.to = raft::NodeId(2);
  m.term = raft::Term(3);
  m.index = raft::Index(index - 1);
  m.log_term = raft::Term(3);
  m.entries.push_back(raft::Entry{raft::Term(3), raft::Index(index), raft::EntryType::command,
                                  std::string(bytes, static_cast<char>('a' + index % 26))});
  return m;
}

TEST(ReplicationCodec, MessagesSplitIntoFramesOfAtMostTheCapInOrder) {
  std::vector<raft::Message> in;
  for (std::uint64_t i = 1; i <= 40; ++i) in.push_back(append(i, 64 << 10));
  const std::size_t cap = 1u << 20;
  auto frames = encode_message_frames(in, cap);
  ASSERT_GT(frames.size(), 2u);
  std::vector<raft::Message> out;
  for (const auto& f : frames) {
    EXPECT_LE(f.size(), cap);
    auto d = decode_messages(f);
    ASSERT_TRUE(d.ok()) << d.error().message;
    for (auto& m : d.value()) out.push_back(std::move(m));
  }
  ASSERT_EQ(out.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].index, in[i].index);
    EXPECT_EQ(out[i].entries, in[i].entries);
  }
}

TEST(ReplicationCodec, AMessageLargerThanTheCapGoesAloneInOneFrame) {
  std::vector<raft::Message> in = {append(1, 10), append(2, 2u << 20), append(3, 10)};
  auto frames = encode_message_frames(in, 1u << 20);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_GT(frames[1].size(), 2u << 20);
  auto d = decode_messages(frames[1]);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ(d.value()[0].entries, in[1].entries);
  EXPECT_TRUE(encode_message_frames({}, 1u << 20).empty());
}

TEST(ReplicationCodec, ASnapshotCutIntoChunksComesBackWholeWithChainedCrcs) {
  auto snap = std::make_shared<raft::Snapshot>();
  snap->meta.index = raft::Index(77);
  snap->meta.term = raft::Term(4);
  snap->meta.membership.voters = {raft::NodeId(1), raft::NodeId(2), raft::NodeId(3)};
  for (int i = 0; i < (5 << 19); ++i) snap->data.push_back(static_cast<char>(i * 131 % 251));
  raft::Message m;
  m.type = raft::MessageType::snapshot;
  m.from = raft::NodeId(1);
  m.to = raft::NodeId(2);
  m.term = raft::Term(4);
  m.snapshot = snap;
  const std::size_t chunk = 1u << 20;
  std::string joined;
  std::uint32_t crc = 0;
  int chunks = 0;
  for (std::size_t off = 0; off < snap->data.size(); off += chunk) {
    crc = crc32c(std::string_view(snap->data).substr(off, chunk), crc);
    const std::string body = encode_snapshot_chunk(m, off, chunk, crc);
    EXPECT_LT(body.size(), chunk + 1024);
    auto c = decode_snapshot_chunk(body);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->offset, off);
    EXPECT_EQ(c->total_bytes, snap->data.size());
    EXPECT_EQ(c->crc, crc);
    EXPECT_EQ(c->message.type, raft::MessageType::snapshot);
    EXPECT_EQ(c->message.snapshot->meta, snap->meta);
    EXPECT_TRUE(c->message.snapshot->data.empty());
    joined += c->data;
    ++chunks;
  }
  EXPECT_EQ(chunks, 3);  // 2.5 MiB in 1 MiB chunks
  EXPECT_EQ(joined, snap->data);
  EXPECT_EQ(crc, crc32c(snap->data));
}

TEST(ReplicationCodec, ChunksThatAreNotSnapshotsOrLieOutsideTheSnapshotAreRefused) {
  EXPECT_FALSE(decode_snapshot_chunk("\xff\xff garbage").ok());
  // A chunk whose message is an append.
  {
    raft::Message a = append(1, 10);
    a.snapshot = std::make_shared<raft::Snapshot>();
    a.type = raft::MessageType::append_request;
    auto c = decode_snapshot_chunk(encode_snapshot_chunk(a, 0, 10, 0));
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("does not carry a snapshot"), std::string::npos) << c.error().message;
  }
  // Data that runs past total_bytes.
  pb::SnapshotChunk bad;
  bad.mutable_message()->set_type(static_cast<std::uint32_t>(raft::MessageType::snapshot));
  bad.mutable_message()->mutable_snapshot()->set_index(5);
  bad.set_total_bytes(5);
  bad.set_offset(3);
  bad.set_data("abc");
  auto c = decode_snapshot_chunk(bad.SerializeAsString());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("past the snapshot's size"), std::string::npos) << c.error().message;
  bad.set_offset(2);
  EXPECT_TRUE(decode_snapshot_chunk(bad.SerializeAsString()).ok());
}

}  // namespace
}  // namespace minga::replication
