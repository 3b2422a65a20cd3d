// A small, synchronous driver for scenario tests: nodes persist instantly to
// memory, messages go through one FIFO queue that tests can filter, and
// nothing happens unless a test ticks or stabilizes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "raft/core.h"

namespace minga::raft::test {

inline Term T(std::uint64_t t) { return Term{t}; }
inline Index I(std::uint64_t i) { return Index{i}; }
inline NodeId N(std::uint64_t n) { return NodeId{n}; }

Config config(std::uint64_t id);
Membership voters(std::vector<std::uint64_t> ids);
// Entries 1..n with the given terms (noop entries, as a leader writes them).
std::vector<Entry> log_with_terms(const std::vector<std::uint64_t>& terms);
InitialState state(const std::vector<std::uint64_t>& voter_ids, std::uint64_t term = 0, std::vector<Entry> entries = {},
                   std::uint64_t vote = 0, std::uint64_t commit = 0);

// Takes every Ready (advancing after each) and returns the messages, early
// ones first.
std::vector<Message> drain(Core& c);
std::vector<Message> of_type(const std::vector<Message>& ms, MessageType t);
Message make(MessageType type, std::uint64_t from, std::uint64_t to, std::uint64_t term);
// Tick until the node campaigns (at most two election timeouts).
void tick_until_campaign(Core& c);

// In-memory durable state of one node, written from Ready batches.
struct MemStore {
  HardState hs;
  SnapshotMeta snap;
  SnapshotPtr snap_data;
  std::vector<Entry> entries;  // after snap.index
  InitialState initial() const;
  void persist(const Ready& rd);
};

class Cluster {
 public:
  using Tweak = std::function<void(Config&)>;
  explicit Cluster(std::size_t n, Tweak tweak = {});
  // Nodes with ids 1..states.size() starting from the given states.
  explicit Cluster(std::vector<InitialState> states, Tweak tweak = {});

  Core& at(std::uint64_t id) { return *nodes_.at(id).core; }
  std::vector<std::uint64_t> ids() const;
  // Add a node that is not yet a member (it starts with an empty membership).
  void add_node(std::uint64_t id);
  void tick(std::uint64_t id, int times = 1);
  void tick_all(int times = 1);
  // Handle every Ready and deliver every message until nothing moves.
  void stabilize();
  // Make `id` campaign and run the election to the end.
  void elect(std::uint64_t id);
  void restart(std::uint64_t id);
  // What a driver does after taking a state machine snapshot at `index`.
  bool compact(std::uint64_t id, Index index, std::string data);

  // Message filters: a dropped message is lost.
  void isolate(std::uint64_t id);
  void cut(std::uint64_t a, std::uint64_t b);  // both directions
  void cut_one_way(std::uint64_t from, std::uint64_t to);
  void heal();
  // Extra filter, may be empty: returns true to drop; may also edit the message.
  std::function<bool(Message&)> drop_if;

  std::vector<std::string> applied_commands(std::uint64_t id) const;
  std::vector<ReadState> take_reads(std::uint64_t id);
  const MemStore& store(std::uint64_t id) const { return nodes_.at(id).store; }
  std::size_t delivered(MessageType t) const;
  std::uint64_t leader() const;  // the id of a node that thinks it leads, 0 if none

 private:
  struct Node {
    std::unique_ptr<Core> core;
    MemStore store;
    std::vector<Entry> applied;
    std::vector<ReadState> reads;
    std::uint64_t seed_bump = 0;
  };
  bool handle_ready(Node& n);
  bool deliverable(Message& m) const;

  Tweak tweak_;
  std::map<std::uint64_t, Node> nodes_;
  std::vector<Message> queue_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, bool> cut_;
  std::map<MessageType, std::size_t> delivered_;
};

}  // namespace minga::raft::test
