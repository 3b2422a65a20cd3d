#include "raft/progress.h"

#include "base/assert.h"

namespace minga::raft {

void Inflights::add(Index last, std::size_t bytes) {
  MINGA_ASSERT(q_.empty() || q_.back().first < last, "inflight messages must be in index order");
  q_.emplace_back(last, bytes);
  bytes_ += bytes;
}

void Inflights::free_to(Index acked) {
  while (!q_.empty() && q_.front().first <= acked) free_first();
}

void Inflights::free_first() {
  if (q_.empty()) return;
  bytes_ -= q_.front().second;
  q_.pop_front();
}

void Inflights::reset() {
  q_.clear();
  bytes_ = 0;
}

bool Progress::paused() const {
  switch (state) {
    case State::probe:
      return probe_sent;
    case State::replicate:
      return inflights.full();
    case State::snapshot:
      return true;
  }
  return true;
}

bool Progress::maybe_update(Index n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;
  }
  next = max_index(next, n.next());
  return updated;
}

bool Progress::maybe_decrease_to(Index rejected, Index hint) {
  if (state == State::replicate) {
    if (rejected <= match) return false;  // stale: already matched beyond it
    next = match.next();
    return true;
  }
  if (next.prev() != rejected) return false;  // stale: not the probe we sent last
  next = max_index(min_index(rejected, hint.next()), match.next());
  probe_sent = false;
  return true;
}

void Progress::sent_entries(Index last, std::size_t count, std::size_t bytes) {
  if (state == State::replicate) {
    if (count > 0) {
      next = last.next();
      inflights.add(last, bytes);
    }
  } else if (state == State::probe) {
    probe_sent = true;
  }
}

void Progress::become_probe() {
  next = state == State::snapshot ? max_index(match.next(), pending_snapshot.next()) : match.next();
  state = State::probe;
  probe_sent = false;
  pending_snapshot = Index{0};
  inflights.reset();
}

void Progress::become_replicate() {
  state = State::replicate;
  next = match.next();
  probe_sent = false;
  inflights.reset();
}

void Progress::become_snapshot(Index snapshot_index) {
  state = State::snapshot;
  pending_snapshot = snapshot_index;
  snapshot_ticks = 0;
  probe_sent = false;
  inflights.reset();
}

const char* progress_state_name(Progress::State s) {
  switch (s) {
    case Progress::State::probe:
      return "probe";
    case Progress::State::replicate:
      return "replicate";
    case Progress::State::snapshot:
      return "snapshot";
  }
  return "unknown";
}

}  // namespace minga::raft
