#include "sim/network.h"

#include <algorithm>

namespace minga::sim {

void Network::enqueue(std::uint64_t at, raft::Message m) {
  queue_.push_back(InFlight{at, seq_++, std::move(m)});
  std::push_heap(queue_.begin(), queue_.end(), Later{});
}

void Network::send(std::uint64_t now, raft::Message m) {
  ++sent_;
  if (rng_.chance(faults_.drop_per_mille, 1000)) {
    ++dropped_;
    return;
  }
  auto delay = [&] {
    if (rng_.chance(faults_.long_delay_per_mille, 1000)) return rng_.uniform(5, 40);
    return rng_.uniform(faults_.min_delay_steps, faults_.max_delay_steps);
  };
  if (rng_.chance(faults_.duplicate_per_mille, 1000)) {
    ++duplicated_;
    enqueue(now + delay(), m);
  }
  enqueue(now + delay(), std::move(m));
}

std::vector<raft::Message> Network::due(std::uint64_t now) {
  std::vector<raft::Message> out;
  while (!queue_.empty() && queue_.front().at <= now) {
    std::pop_heap(queue_.begin(), queue_.end(), Later{});
    InFlight f = std::move(queue_.back());
    queue_.pop_back();
    if (is_cut(f.m.from.value, f.m.to.value)) continue;
    out.push_back(std::move(f.m));
  }
  return out;
}

}  // namespace minga::sim
