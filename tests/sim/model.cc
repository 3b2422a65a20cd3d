#include "sim/model.h"

#include <algorithm>
#include <map>

#include "base/endian.h"

namespace minga::sim {
namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}

std::string describe(const Op& op) {
  return std::string(op.kind == Op::Kind::append ? "append " : "read ") + std::to_string(op.id);
}

}  // namespace

std::string encode_append(std::uint64_t op) {
  std::string out;
  put_u64(out, op);
  return out;
}

std::optional<std::uint64_t> decode_append(const std::string& bytes) {
  std::size_t pos = 0;
  std::uint64_t v = 0;
  if (!get_u64(bytes, pos, v) || pos != bytes.size()) return std::nullopt;
  return v;
}

std::uint64_t entry_hash(const raft::Entry& e) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : e.data) h = (h ^ c) * 0x100000001b3ULL;
  h = mix(h, e.term.value);
  h = mix(h, e.index.value);
  return mix(h, static_cast<std::uint64_t>(e.type));
}

void ListMachine::apply(const raft::Entry& e) {
  hash_ = mix(hash_, entry_hash(e));
  applied_ = e.index;
  if (e.type != raft::EntryType::command) return;
  if (auto op = decode_append(e.data)) list_.push_back(*op);
}

std::string ListMachine::snapshot() const {
  std::string out;
  put_u64(out, applied_.value);
  put_u64(out, hash_);
  put_u64(out, list_.size());
  for (auto v : list_) put_u64(out, v);
  return out;
}

bool ListMachine::restore(const std::string& bytes, raft::Index index) {
  std::size_t pos = 0;
  std::uint64_t applied = 0, hash = 0, n = 0;
  if (!get_u64(bytes, pos, applied) || !get_u64(bytes, pos, hash) || !get_u64(bytes, pos, n)) return false;
  if (applied != index.value || n != (bytes.size() - pos) / 8 || (bytes.size() - pos) % 8 != 0) return false;
  std::vector<std::uint64_t> list(n);
  for (auto& v : list) (void)get_u64(bytes, pos, v);
  list_ = std::move(list);
  hash_ = hash;
  applied_ = index;
  return true;
}

std::string check_linearizable(const std::vector<Op>& history) {
  // 1. Every observation is a prefix of the longest one.
  const std::vector<std::uint64_t>* longest = nullptr;
  std::size_t longest_len = 0;
  auto observed_len = [](const Op& op) { return op.result.size() + (op.kind == Op::Kind::append ? 1 : 0); };
  for (const Op& op : history) {
    if (op.completed && observed_len(op) > longest_len) {
      longest = &op.result;
      longest_len = observed_len(op);
    }
  }
  std::vector<std::uint64_t> order;
  if (longest != nullptr) order = *longest;
  for (const Op& op : history) {
    if (op.completed && op.kind == Op::Kind::append && observed_len(op) == longest_len && order.size() < longest_len) {
      order.push_back(op.id);
    }
  }
  for (const Op& op : history) {
    if (!op.completed) continue;
    for (std::size_t i = 0; i < op.result.size(); ++i) {
      if (op.result[i] != order[i]) {
        return "divergent order: " + describe(op) + " saw value " + std::to_string(op.result[i]) + " at position " +
               std::to_string(i) + " where another operation saw " + std::to_string(order[i]);
      }
    }
    if (op.kind == Op::Kind::append && order[op.result.size()] != op.id) {
      return "divergent order: " + describe(op) + " took effect at position " + std::to_string(op.result.size()) +
             " where another operation saw " + std::to_string(order[op.result.size()]);
    }
  }
  // 2. Each value in the order is an append of the history, once.
  std::map<std::uint64_t, const Op*> appends;
  for (const Op& op : history) {
    if (op.kind == Op::Kind::append) appends.emplace(op.id, &op);
  }
  std::map<std::uint64_t, std::size_t> position;
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (appends.count(order[i]) == 0) return "unknown value: value " + std::to_string(order[i]) + " was never appended";
    if (!position.emplace(order[i], i).second)
      return "duplicate value: value " + std::to_string(order[i]) + " appears twice";
  }
  // 3. Real time. For every operation: `seen` = how many appends precede
  // it, `effect` = how many appends a later operation must see.
  struct Point {
    const Op* op;
    std::size_t seen, effect;
  };
  std::vector<Point> points;
  for (const Op& op : history) {
    if (op.kind == Op::Kind::read) {
      if (op.completed) points.push_back({&op, op.result.size(), op.result.size()});
    } else if (auto it = position.find(op.id); it != position.end()) {
      points.push_back({&op, it->second, it->second + 1});
    }
  }
  // (a) An append is seen only by operations that finish after it started
  // (checked first: it is the more precise diagnosis when both apply).
  for (const Point& p : points) {
    if (p.op->kind != Op::Kind::append) continue;
    for (const Point& q : points) {
      if (q.op->completed && q.seen > p.seen && *q.op->completed < p.op->invoked) {
        return "seen before invoked: " + describe(*q.op) + " saw " + describe(*p.op) + " before it was invoked";
      }
    }
  }
  // (b) A completed before B was invoked => effect(A) <= seen(B).
  std::vector<std::pair<std::uint64_t, std::size_t>> done;  // (completed, effect)
  for (const Point& p : points) {
    if (p.op->completed) done.emplace_back(*p.op->completed, p.effect);
  }
  std::sort(done.begin(), done.end());
  std::vector<std::size_t> max_effect(done.size());
  for (std::size_t i = 0; i < done.size(); ++i) max_effect[i] = std::max(i ? max_effect[i - 1] : 0, done[i].second);
  for (const Point& p : points) {
    auto it = std::lower_bound(done.begin(), done.end(), std::make_pair(p.op->invoked, std::size_t{0}));
    if (it == done.begin()) continue;
    const std::size_t need = max_effect[static_cast<std::size_t>(it - done.begin()) - 1];
    if (need > p.seen) {
      return "real-time order: " + describe(*p.op) + " saw " + std::to_string(p.seen) +
             " appends but an operation that finished before " + "it started had already made " + std::to_string(need) +
             " visible (stale or lost write)";
    }
  }
  return {};
}

}  // namespace minga::sim
