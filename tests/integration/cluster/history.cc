#include "history.h"

#include <algorithm>
#include <map>
#include <sstream>

namespace minga::testing {
namespace {

std::string describe(const HistoryOp& op) {
  std::string s = op.kind == HistoryOp::Kind::append ? "append of " + std::to_string(op.value) : "read";
  return s + " by client " + std::to_string(op.client) + " on node " + std::to_string(op.node) + " [" +
         std::to_string(op.invoked) + ", " +
         (op.outcome == HistoryOp::Outcome::unknown ? std::string("?") : std::to_string(op.completed)) + "]";
}

Violation fail(Violation::Rule rule, std::string detail) { return Violation{rule, std::move(detail)}; }

// The digests of every prefix of `list`: out[k] is that of its first k values.
std::vector<std::uint64_t> prefix_digests(const std::vector<std::uint64_t>& list) {
  std::vector<std::uint64_t> out{kEmptyDigest};
  out.reserve(list.size() + 1);
  for (auto v : list) out.push_back(extend_digest(out.back(), v));
  return out;
}

bool is_prefix(const HistoryOp& read, const std::vector<std::uint64_t>& digests) {
  return read.length < digests.size() && digests[read.length] == read.digest;
}

}  // namespace

std::uint64_t extend_digest(std::uint64_t digest, std::uint64_t value) {
  // splitmix64's finalizer over the running digest and the value.
  std::uint64_t z = digest ^ (value + 0x9e3779b97f4a7c15ULL + (digest << 6) + (digest >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t list_digest(const std::vector<std::uint64_t>& list) {
  std::uint64_t d = kEmptyDigest;
  for (auto v : list) d = extend_digest(d, v);
  return d;
}

const char* rule_name(Violation::Rule rule) {
  switch (rule) {
    case Violation::Rule::acked_at_index:
      return "acked_at_index";
    case Violation::Rule::read_prefix:
      return "read_prefix";
    case Violation::Rule::real_time:
      return "real_time";
    case Violation::Rule::duplicate:
      return "duplicate";
    case Violation::Rule::never_sent:
      break;
  }
  return "never_sent";
}

std::optional<Violation> check_history(const std::vector<HistoryOp>& history,
                                       const std::vector<std::uint64_t>& final_list) {
  using Kind = HistoryOp::Kind;
  using Outcome = HistoryOp::Outcome;
  using Rule = Violation::Rule;
  // duplicate: each value once; `position` is 1-based.
  std::map<std::uint64_t, std::size_t> position;
  for (std::size_t i = 0; i < final_list.size(); ++i) {
    if (auto [it, fresh] = position.emplace(final_list[i], i + 1); !fresh) {
      return fail(Rule::duplicate, "value " + std::to_string(final_list[i]) + " is at positions " +
                                       std::to_string(it->second) + " and " + std::to_string(i + 1));
    }
  }
  // never_sent: each value in the list is an append that may have happened.
  std::map<std::uint64_t, const HistoryOp*> appends;
  for (const HistoryOp& op : history) {
    if (op.kind == Kind::append) appends.emplace(op.value, &op);
  }
  for (const auto& [value, pos] : position) {
    auto it = appends.find(value);
    if (it == appends.end()) {
      return fail(Rule::never_sent,
                  "value " + std::to_string(value) + " at position " + std::to_string(pos) + " was never sent");
    }
    if (it->second->outcome == Outcome::refused) {
      return fail(Rule::never_sent, "value " + std::to_string(value) + " at position " + std::to_string(pos) +
                                        " is from a refused " + describe(*it->second));
    }
  }
  // acked_at_index and read_prefix.
  const std::vector<std::uint64_t> digests = prefix_digests(final_list);
  for (const HistoryOp& op : history) {
    if (op.outcome != Outcome::ok) continue;
    if (op.kind == Kind::append) {
      if (op.index == 0 || op.index > final_list.size() || final_list[op.index - 1] != op.value) {
        const auto at = position.find(op.value);
        return fail(Rule::acked_at_index, describe(op) + " was acknowledged at index " + std::to_string(op.index) +
                                              " but the value is " +
                                              (at == position.end() ? std::string("not in the final list")
                                                                    : "at position " + std::to_string(at->second)));
      }
    } else if (!is_prefix(op, digests)) {
      return fail(Rule::read_prefix, describe(op) + " of " + std::to_string(op.length) +
                                         " records is not a prefix of the final " + std::to_string(final_list.size()) +
                                         (op.length > final_list.size() ? " (it is longer)" : " (another digest)"));
    }
  }
  // real_time.
  struct Point {
    const HistoryOp* op;
    std::size_t before, visible;
  };
  std::vector<Point> points;
  for (const HistoryOp& op : history) {
    if (op.kind == Kind::read) {
      if (op.outcome == Outcome::ok) points.push_back({&op, op.length, op.length});
    } else if (op.outcome != Outcome::refused) {
      if (auto it = position.find(op.value); it != position.end()) points.push_back({&op, it->second - 1, it->second});
    }
  }
  std::vector<const Point*> done;
  for (const Point& p : points) {
    if (p.op->outcome == Outcome::ok) done.push_back(&p);
  }
  std::sort(done.begin(), done.end(),
            [](const Point* a, const Point* b) { return a->op->completed < b->op->completed; });
  std::vector<const Point*> most(done.size());  // most[i]: the largest `visible` among done[0..i]
  for (std::size_t i = 0; i < done.size(); ++i) {
    most[i] = i > 0 && most[i - 1]->visible >= done[i]->visible ? most[i - 1] : done[i];
  }
  for (const Point& y : points) {
    auto it = std::lower_bound(done.begin(), done.end(), y.op->invoked,
                               [](const Point* p, std::int64_t t) { return p->op->completed < t; });
    if (it == done.begin()) continue;
    const Point* x = most[static_cast<std::size_t>(it - done.begin()) - 1];
    if (x->visible > y.before) {
      return fail(Rule::real_time, describe(*x->op) + " made " + std::to_string(x->visible) +
                                       " records visible and completed before " + describe(*y.op) +
                                       " was invoked, which saw only " + std::to_string(y.before) +
                                       " before it (a stale read or a lost write)");
    }
  }
  return std::nullopt;
}

std::string format_history(const std::vector<HistoryOp>& history, const std::vector<std::uint64_t>& final_list) {
  const std::vector<std::uint64_t> digests = prefix_digests(final_list);
  std::ostringstream out;
  out << "# final list (" << final_list.size() << " records):";
  for (auto v : final_list) out << ' ' << v;
  out << "\n# client node kind value invoked completed outcome result\n";
  for (const HistoryOp& op : history) {
    out << op.client << ' ' << op.node << ' '
        << (op.kind == HistoryOp::Kind::append ? "append " + std::to_string(op.value) : std::string("read -")) << ' '
        << op.invoked << ' ' << op.completed << ' '
        << (op.outcome == HistoryOp::Outcome::ok        ? "ok"
            : op.outcome == HistoryOp::Outcome::unknown ? "unknown"
                                                        : "refused");
    if (op.outcome == HistoryOp::Outcome::ok) {
      if (op.kind == HistoryOp::Kind::append) {
        out << " index=" << op.index;
      } else {
        out << " length=" << op.length << " digest=" << op.digest
            << (is_prefix(op, digests) ? " prefix" : " NOT-A-PREFIX");
      }
    }
    out << '\n';
  }
  return out.str();
}

}  // namespace minga::testing
