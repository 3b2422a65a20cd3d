// Feeds arbitrary bytes to what a peer link hands the node: the
// PEER_MESSAGES decoder, and then whatever decodes, addressed to a server of
// a three-voter cluster, into the real Raft core, with every Ready handled
// (no disk). The core must refuse malformed messages and never trip an
// invariant assertion (those stay on in every build). Whatever decodes must
// encode back to a batch that decodes to the same messages.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "raft/core.h"
#include "replication/codec.h"

namespace {

using namespace minga;

void check(bool cond) {
  if (!cond) std::abort();
}

bool same(const raft::Message& a, const raft::Message& b) {
  return a.type == b.type && a.from == b.from && a.to == b.to && a.term == b.term && a.pre_vote == b.pre_vote &&
         a.reject == b.reject && a.force == b.force && a.index == b.index && a.log_term == b.log_term &&
         a.commit == b.commit && a.entries == b.entries && a.hint_index == b.hint_index && a.hint_term == b.hint_term &&
         a.read_seq == b.read_seq && a.context == b.context && (a.snapshot == nullptr) == (b.snapshot == nullptr) &&
         (a.snapshot == nullptr || (a.snapshot->meta == b.snapshot->meta && a.snapshot->data == b.snapshot->data));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto msgs = replication::decode_messages(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!msgs.ok()) return 0;
  auto again = replication::decode_messages(replication::encode_messages(msgs.value()));
  check(again.ok() && again->size() == msgs->size());
  for (std::size_t i = 0; i < msgs->size(); ++i) check(same(msgs.value()[i], again.value()[i]));

  raft::Config cfg;
  cfg.id = raft::NodeId(1);
  raft::InitialState init;
  init.snapshot.membership.voters = {raft::NodeId(1), raft::NodeId(2), raft::NodeId(3)};
  raft::Core core(cfg, init);
  for (int t = 0; t < 25; ++t) core.tick();  // some inputs meet a candidate or a leader
  for (auto& m : msgs.value()) {
    m.to = raft::NodeId(1);
    (void)core.step(m);
    while (core.has_ready()) {
      (void)core.ready();
      core.advance();
    }
  }
  return 0;
}
