// Raft messages on the wire: raft::Message <-> pb::PeerMessages
// (proto/raft.proto). Pure; the decoder refuses what the core could not
// take apart from its own checks (unknown message or entry types).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "raft/message.h"

namespace minga::replication {

// Encodes messages bound for one peer into one PEER_MESSAGES body.
std::string encode_messages(const std::vector<raft::Message>& messages);
// The same in several bodies of at most `max_bytes` each (a single message
// larger than that goes alone), in order. Snapshot messages are sent as
// chunks instead (encode_snapshot_chunk).
std::vector<std::string> encode_message_frames(const std::vector<raft::Message>& messages, std::size_t max_bytes);
// Decodes a PEER_MESSAGES body. Errors name what was wrong.
Result<std::vector<raft::Message>> decode_messages(std::string_view body);

// One PEER_SNAPSHOT_CHUNK: bytes [offset, offset + len) of the snapshot
// message `m`'s data (fewer at the end), with `crc`: the CRC-32C of the
// data up to the chunk's end.
std::string encode_snapshot_chunk(const raft::Message& m, std::size_t offset, std::size_t len, std::uint32_t crc);
struct SnapshotChunk {
  raft::Message message;  // the snapshot message; its snapshot's data is empty
  std::uint64_t total_bytes = 0;
  std::uint64_t offset = 0;
  std::uint32_t crc = 0;
  std::string data;
};
// Checks that the chunk lies within total_bytes.
Result<SnapshotChunk> decode_snapshot_chunk(std::string_view body);
// Node ids in Raft are numbers; people name nodes ("n1"). The number is a
// 64-bit FNV-1a hash of the name, never 0 (0 means "nobody").
raft::NodeId node_number(std::string_view name);

}  // namespace minga::replication
