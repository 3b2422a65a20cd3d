#include "replication/codec.h"

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

std::string encode_messages(const std::vector<raft::Message>& messages) {
  pb::PeerMessages batch;
  for (const raft::Message& m : messages) {
    pb::RaftMessage* p = batch.add_messages();
    p->set_type(static_cast<std::uint32_t>(m.type));
    p->set_from(m.from.value);
    p->set_to(m.to.value);
    p->set_term(m.term.value);
    p->set_pre_vote(m.pre_vote);
    p->set_reject(m.reject);
    p->set_force(m.force);
    p->set_index(m.index.value);
    p->set_log_term(m.log_term.value);
    p->set_commit(m.commit.value);
    for (const raft::Entry& e : m.entries) put_entry(*p->add_entries(), e);
    p->set_hint_index(m.hint_index.value);
    p->set_hint_term(m.hint_term.value);
    p->set_read_seq(m.read_seq);
    p->set_context(m.context);
    if (m.snapshot) {
      pb::RaftSnapshot* s = p->mutable_snapshot();
      s->set_index(m.snapshot->meta.index.value);
      s->set_term(m.snapshot->meta.term.value);
      for (raft::NodeId v : m.snapshot->meta.membership.voters) s->add_voters(v.value);
      for (raft::NodeId l : m.snapshot->meta.membership.learners) s->add_learners(l.value);
      s->set_data(m.snapshot->data);
    }
  }
  return batch.SerializeAsString();
}

Result<std::vector<raft::Message>> decode_messages(std::string_view body) {
  pb::PeerMessages batch;
  if (!batch.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Error{Errc::bad_frame, "cannot decode PeerMessages"};
  }
  std::vector<raft::Message> out;
  out.reserve(static_cast<std::size_t>(batch.messages_size()));
  for (const pb::RaftMessage& p : batch.messages()) {
    if (p.type() < 1 || p.type() > 10) {
      return Error{Errc::bad_frame, "unknown Raft message type " + std::to_string(p.type())};
    }
    raft::Message m;
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
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace minga::replication
