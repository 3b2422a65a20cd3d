#include "replication/codec.h"

#include <algorithm>

#include "proto/raft.pb.h"

namespace minga::replication {
namespace {

void put_entry(pb::RaftEntry& out, const raft::Entry& e) {
  out.set_term(e.term.value);
  out.set_index(e.index.value);
  out.set_type(static_cast<std::uint32_t>(e.type));
  out.set_data(e.data);
}

Status get_entry(const pb::RaftEntry& in, raft::Entry& e) {
  if (in.type() < 1 || in.type() > 3) {
    return Error{Errc::bad_frame, "unknown entry type " + std::to_string(in.type())};
  }
  e.term = raft::Term(in.term());
  e.index = raft::Index(in.index());
  e.type = static_cast<raft::EntryType>(in.type());
  e.data = in.data();
  return ok_status();
}

}  // namespace

raft::NodeId node_number(std::string_view name) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return raft::NodeId(h == 0 ? 1 : h);
}

namespace {

void put_message(pb::RaftMessage& p, const raft::Message& m, bool with_snapshot_data) {
  p.set_type(static_cast<std::uint32_t>(m.type));
  p.set_from(m.from.value);
  p.set_to(m.to.value);
  p.set_term(m.term.value);
  p.set_pre_vote(m.pre_vote);
  p.set_reject(m.reject);
  p.set_force(m.force);
  p.set_index(m.index.value);
  p.set_log_term(m.log_term.value);
  p.set_commit(m.commit.value);
  for (const raft::Entry& e : m.entries) put_entry(*p.add_entries(), e);
  p.set_hint_index(m.hint_index.value);
  p.set_hint_term(m.hint_term.value);
  p.set_read_seq(m.read_seq);
  p.set_context(m.context);
  if (m.snapshot) {
    pb::RaftSnapshot* s = p.mutable_snapshot();
    s->set_index(m.snapshot->meta.index.value);
    s->set_term(m.snapshot->meta.term.value);
    for (raft::NodeId v : m.snapshot->meta.membership.voters) s->add_voters(v.value);
    for (raft::NodeId l : m.snapshot->meta.membership.learners) s->add_learners(l.value);
    if (with_snapshot_data) s->set_data(m.snapshot->data);
  }
}

Status get_message(const pb::RaftMessage& p, raft::Message& m) {
  if (p.type() < 1 || p.type() > 10) {
    return Error{Errc::bad_frame, "unknown Raft message type " + std::to_string(p.type())};
  }
  m.type = static_cast<raft::MessageType>(p.type());
  m.from = raft::NodeId(p.from());
  m.to = raft::NodeId(p.to());
  m.term = raft::Term(p.term());
  m.pre_vote = p.pre_vote();
  m.reject = p.reject();
  m.force = p.force();
  m.index = raft::Index(p.index());
  m.log_term = raft::Term(p.log_term());
  m.commit = raft::Index(p.commit());
  m.entries.resize(static_cast<std::size_t>(p.entries_size()));
  for (int i = 0; i < p.entries_size(); ++i) {
    if (auto st = get_entry(p.entries(i), m.entries[static_cast<std::size_t>(i)]); !st.ok()) return st.error();
  }
  m.hint_index = raft::Index(p.hint_index());
  m.hint_term = raft::Term(p.hint_term());
  m.read_seq = p.read_seq();
  m.context = p.context();
  if (p.has_snapshot()) {
    auto s = std::make_shared<raft::Snapshot>();
    s->meta.index = raft::Index(p.snapshot().index());
    s->meta.term = raft::Term(p.snapshot().term());
    for (std::uint64_t v : p.snapshot().voters()) s->meta.membership.voters.insert(raft::NodeId(v));
    for (std::uint64_t l : p.snapshot().learners()) s->meta.membership.learners.insert(raft::NodeId(l));
    s->data = p.snapshot().data();
    m.snapshot = std::move(s);
  }
  return ok_status();
}

}  // namespace

std::string encode_messages(const std::vector<raft::Message>& messages) {
  pb::PeerMessages batch;
  for (const raft::Message& m : messages) put_message(*batch.add_messages(), m, true);
  return batch.SerializeAsString();
}

std::vector<std::string> encode_message_frames(const std::vector<raft::Message>& messages, std::size_t max_bytes) {
  std::vector<std::string> out;
  pb::PeerMessages batch;
  std::size_t bytes = 0;
  for (const raft::Message& m : messages) {
    pb::RaftMessage one;
    put_message(one, m, true);
    const std::size_t size = one.ByteSizeLong() + 8;  // + the field's tag and length
    if (batch.messages_size() > 0 && bytes + size > max_bytes) {
      out.push_back(batch.SerializeAsString());
      batch.Clear();
      bytes = 0;
    }
    *batch.add_messages() = std::move(one);
    bytes += size;
  }
  if (batch.messages_size() > 0) out.push_back(batch.SerializeAsString());
  return out;
}

Result<std::vector<raft::Message>> decode_messages(std::string_view body) {
  pb::PeerMessages batch;
  if (!batch.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Error{Errc::bad_frame, "cannot decode PeerMessages"};
  }
  std::vector<raft::Message> out;
  out.resize(static_cast<std::size_t>(batch.messages_size()));
  for (int i = 0; i < batch.messages_size(); ++i) {
    if (auto st = get_message(batch.messages(i), out[static_cast<std::size_t>(i)]); !st.ok()) return st.error();
  }
  return out;
}

std::string encode_snapshot_chunk(const raft::Message& m, std::size_t offset, std::size_t len, std::uint32_t crc) {
  pb::SnapshotChunk c;
  put_message(*c.mutable_message(), m, false);
  const std::string& data = m.snapshot->data;
  c.set_total_bytes(data.size());
  c.set_offset(offset);
  c.set_data(data.data() + offset, std::min(len, data.size() - offset));
  c.set_crc(crc);
  return c.SerializeAsString();
}

Result<SnapshotChunk> decode_snapshot_chunk(std::string_view body) {
  pb::SnapshotChunk c;
  if (!c.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Error{Errc::bad_frame, "cannot decode SnapshotChunk"};
  }
  SnapshotChunk out;
  if (auto st = get_message(c.message(), out.message); !st.ok()) return st.error();
  if (out.message.type != raft::MessageType::snapshot || !out.message.snapshot) {
    return Error{Errc::bad_frame, "a snapshot chunk that does not carry a snapshot message"};
  }
  if (c.offset() > c.total_bytes() || c.data().size() > c.total_bytes() - c.offset()) {
    return Error{Errc::bad_frame, "a snapshot chunk past the snapshot's size"};
  }
  out.total_bytes = c.total_bytes();
  out.offset = c.offset();
  out.crc = c.crc();
  out.data = std::move(*c.mutable_data());
  return out;
}

}  // namespace minga::replication
