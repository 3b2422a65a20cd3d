#include "raft/types.h"

#include "base/endian.h"
#include "raft/message.h"

namespace minga::raft {
namespace {

bool get_ids(const std::string& in, std::size_t& pos, std::set<NodeId>& out) {
  std::uint64_t n = 0;
  if (!get_u64(in, pos, n) || n > (in.size() - pos) / 8) return false;  // size checked before use
  for (std::uint64_t k = 0; k < n; ++k) {
    std::uint64_t id = 0;
    if (!get_u64(in, pos, id) || id == 0) return false;
    out.insert(NodeId{id});
  }
  return true;
}

}  // namespace

std::string encode_membership(const Membership& m) {
  std::string out;
  put_u64(out, m.voters.size());
  for (NodeId id : m.voters) put_u64(out, id.value);
  put_u64(out, m.learners.size());
  for (NodeId id : m.learners) put_u64(out, id.value);
  return out;
}

bool decode_membership(const std::string& bytes, Membership& out) {
  out = Membership{};
  std::size_t pos = 0;
  if (!get_ids(bytes, pos, out.voters) || !get_ids(bytes, pos, out.learners)) return false;
  if (pos != bytes.size()) return false;
  for (NodeId id : out.learners) {
    if (out.is_voter(id)) return false;
  }
  return true;
}

const char* message_type_name(MessageType t) {
  switch (t) {
    case MessageType::vote_request:
      return "vote_request";
    case MessageType::vote_response:
      return "vote_response";
    case MessageType::append_request:
      return "append_request";
    case MessageType::append_response:
      return "append_response";
    case MessageType::heartbeat:
      return "heartbeat";
    case MessageType::heartbeat_response:
      return "heartbeat_response";
    case MessageType::snapshot:
      return "snapshot";
    case MessageType::timeout_now:
      return "timeout_now";
    case MessageType::read_index_request:
      return "read_index_request";
    case MessageType::read_index_response:
      return "read_index_response";
  }
  return "unknown";
}

}  // namespace minga::raft
