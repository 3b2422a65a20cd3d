// The simulated network: every message gets a delivery step drawn from the
// run's generator; messages may be dropped, duplicated, delayed far enough
// to be reordered, and cut by partitions (one-way or both ways) at delivery.
#pragma once

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "base/random.h"
#include "raft/message.h"

namespace minga::sim {

struct NetworkFaults {
  std::uint64_t drop_per_mille = 0;
  std::uint64_t duplicate_per_mille = 0;
  std::uint64_t long_delay_per_mille = 0;  // delayed 5..40 steps: reordering
  std::uint64_t min_delay_steps = 1;
  std::uint64_t max_delay_steps = 3;
};

class Network {
 public:
  explicit Network(Random& rng) : rng_(rng) {}

  void set_faults(const NetworkFaults& f) { faults_ = f; }
  const NetworkFaults& faults() const { return faults_; }
  void send(std::uint64_t now, raft::Message m);
  // Messages due at `now`, in a deterministic order; cut links drop theirs.
  std::vector<raft::Message> due(std::uint64_t now);

  void cut(std::uint64_t from, std::uint64_t to) { cut_.insert({from, to}); }
  bool is_cut(std::uint64_t from, std::uint64_t to) const { return cut_.count({from, to}) != 0; }
  void heal() { cut_.clear(); }

  std::uint64_t sent() const { return sent_; }
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t duplicated() const { return duplicated_; }

 private:
  struct InFlight {
    std::uint64_t at;
    std::uint64_t seq;
    raft::Message m;
  };
  struct Later {
    bool operator()(const InFlight& a, const InFlight& b) const { return a.at != b.at ? a.at > b.at : a.seq > b.seq; }
  };
  void enqueue(std::uint64_t at, raft::Message m);

  Random& rng_;
  NetworkFaults faults_;
  std::vector<InFlight> queue_;  // a heap ordered by Later
  std::set<std::pair<std::uint64_t, std::uint64_t>> cut_;
  std::uint64_t seq_ = 0;
  std::uint64_t sent_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t duplicated_ = 0;
};

}  // namespace minga::sim
