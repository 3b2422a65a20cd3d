// Raft messages on the wire: raft::Message <-> pb::PeerMessages
// (proto/raft.proto). Pure; the decoder refuses what the core could not
// take apart from its own checks (unknown message or entry types).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "raft/message.h"

namespace minga::replication {

// Encodes messages bound for one peer into one PEER_MESSAGES body.
std::string encode_messages(const std::vector<raft::Message>& messages);
// Decodes a PEER_MESSAGES body. Errors name what was wrong.
Result<std::vector<raft::Message>> decode_messages(std::string_view body);

// Node ids in Raft are numbers; people name nodes ("n1"). The number is a
// 64-bit FNV-1a hash of the name, never 0 (0 means "nobody").
raft::NodeId node_number(std::string_view name);

}  // namespace minga::replication
