#include "sim/checker.h"

#include <algorithm>

#include "sim/model.h"

namespace minga::sim {
namespace {
std::string num(std::uint64_t v) { return std::to_string(v); }
}  // namespace

bool LogView::holds(raft::Index i, raft::Term t) const {
  if (i <= snap_index) return true;
  return i <= last_index() && terms[i.value - snap_index.value - 1] == t;
}

void LogView::reset(const raft::SnapshotMeta& snap) {
  snap_index = snap.index;
  snap_term = snap.term;
  terms.clear();
}

void LogView::append(const std::vector<raft::Entry>& entries) {
  if (entries.empty()) return;
  terms.resize(entries.front().index.value - snap_index.value - 1);
  for (const auto& e : entries) terms.push_back(e.term);
}

void LogView::compact(const raft::SnapshotMeta& snap) {
  const std::size_t drop = snap.index.value - snap_index.value;
  terms.erase(terms.begin(), terms.begin() + static_cast<std::ptrdiff_t>(std::min(drop, terms.size())));
  snap_index = snap.index;
  snap_term = snap.term;
}

Checker::Checker(std::size_t nodes) : nodes_(nodes) {}

void Checker::fail(std::string what) {
  if (violation_.empty()) violation_ = std::move(what);
}

void Checker::on_entries(std::uint64_t node, const std::vector<raft::Entry>& entries, raft::Term prev_term) {
  raft::Term prev = prev_term;
  for (const raft::Entry& e : entries) {
    const std::pair<std::uint64_t, std::uint64_t> value{entry_hash(e), prev.value};
    auto [it, inserted] = entries_.emplace(std::make_pair(e.index.value, e.term.value), value);
    if (!inserted && it->second != value) {
      fail("log matching: node " + num(node) + " holds an entry at index " + num(e.index.value) + " of term " +
           num(e.term.value) + " that differs from another node's (content or preceding term)");
    }
    prev = e.term;
  }
}

void Checker::check_state(std::uint64_t node, raft::Index index, std::uint64_t state_hash) {
  if (index == raft::Index{0} || applied_.size() < index.value) return;
  const Applied& a = applied_[index.value - 1];
  if (a.entry_hash != 0 && a.state_hash != state_hash) {
    fail("state machine safety: node " + num(node) + " holds a different state at index " + num(index.value) +
         " than other nodes reached");
  }
}

void Checker::on_apply(std::uint64_t node, const raft::Entry& e, std::uint64_t state_hash) {
  PerNode& p = nodes_[node - 1];
  if (e.index != p.next_apply) {
    fail("apply order: node " + num(node) + " applied index " + num(e.index.value) + " but " + num(p.next_apply.value) +
         " was next");
  }
  p.next_apply = e.index.next();
  if (applied_.size() < e.index.value) applied_.resize(e.index.value);
  Applied& a = applied_[e.index.value - 1];
  const std::uint64_t h = entry_hash(e) | 1;  // never 0: 0 marks "not applied yet"
  if (a.entry_hash == 0) {
    a = Applied{h, state_hash};
  } else if (a.entry_hash != h || a.state_hash != state_hash) {
    fail("state machine safety: node " + num(node) + " applied a different entry at index " + num(e.index.value) +
         " (term " + num(e.term.value) + ") than another node");
  }
}

void Checker::on_install(std::uint64_t node, const raft::SnapshotMeta& meta, std::uint64_t state_hash) {
  nodes_[node - 1].next_apply = meta.index.next();
  check_state(node, meta.index, state_hash);
  if (committed_.size() >= meta.index.value) {
    const Committed& cm = committed_[meta.index.value - 1];
    if (cm.term != 0 && cm.term != meta.term.value) {
      fail("bad snapshot: node " + num(node) + " installed a snapshot ending at index " + num(meta.index.value) +
           " of term " + num(meta.term.value) + ", but the entry committed there is of term " + num(cm.term));
    }
  }
}

void Checker::on_replace(std::uint64_t node) {
  nodes_[node - 1] = PerNode{};
  std::erase_if(votes_, [node](const auto& v) { return v.first.first == node; });
}

void Checker::on_restart(std::uint64_t node, const raft::Core& core, std::uint64_t state_hash) {
  PerNode& p = nodes_[node - 1];
  const raft::Index snap = core.log().snapshot().index;
  p.last_commit = core.log().committed();
  p.checked_commit = snap;
  p.next_apply = snap.next();
  check_state(node, snap, state_hash);
}

void Checker::record_vote(std::uint64_t voter, std::uint64_t term, std::uint64_t candidate) {
  auto [it, inserted] = votes_.emplace(std::make_pair(voter, term), candidate);
  if (!inserted && it->second != candidate) {
    fail("double vote: node " + num(voter) + " voted for both " + num(it->second) + " and " + num(candidate) +
         " in term " + num(term));
  }
}

// A vote counts once someone can rely on it: a grant sent to a candidate,
// or a candidate's request (its vote for itself) sent to the others.
void Checker::on_send(const raft::Message& m) {
  if (m.pre_vote) return;
  if (m.type == raft::MessageType::vote_response && !m.reject) record_vote(m.from.value, m.term.value, m.to.value);
  if (m.type == raft::MessageType::vote_request) record_vote(m.from.value, m.term.value, m.from.value);
}

void Checker::after_event(const std::vector<NodeView>& nodes) {
  for (std::size_t i = 0; i < nodes.size() && ok(); ++i) {
    const raft::Core* c = nodes[i].core;
    if (c == nullptr) continue;
    const std::uint64_t node = i + 1;
    if (c->is_leader()) {
      auto [it, inserted] = leader_of_term_.emplace(c->term().value, node);
      if (!inserted && it->second != node) {
        fail("election safety: nodes " + num(it->second) + " and " + num(node) + " both lead term " +
             num(c->term().value));
      }
    }
    const std::size_t before = committed_.size();
    check_commits(node, *c);
    if (committed_.size() > before && ok()) check_commit_safety(node, nodes);
    if (c->is_leader()) check_leader(node, *c);
  }
}

namespace {
struct Tip {
  raft::Index index;
  raft::Term term;
  // Raft's "at least as up to date" (§5.4.1).
  bool at_least(const Tip& o) const { return term > o.term || (term == o.term && index >= o.index); }
};
}  // namespace

// Node `committer` just made the newest committed entry known. Every log a
// node may campaign with (in memory now, or its durable one after a crash)
// either holds that entry or must be refused by more than a minority.
void Checker::check_commit_safety(std::uint64_t committer, const std::vector<NodeView>& nodes) {
  const raft::Index c{committed_.size()};
  const raft::Term t{committed_.back().term};
  const raft::Membership& mem = nodes[committer - 1].core->membership();
  // The least up-to-date log each node may answer a vote request with.
  std::vector<Tip> worst;
  for (const NodeView& v : nodes) {
    Tip d{v.durable->last_index(), v.durable->last_term()};
    if (v.core != nullptr) {
      Tip m{v.core->log().last_index(), v.core->log().last_term()};
      if (!m.at_least(d)) d = m;
    }
    worst.push_back(d);
  }
  auto check = [&](std::uint64_t n, Tip tip, bool holds) {
    if (holds || !mem.is_voter(raft::NodeId{n})) return;
    std::size_t votes = 0;
    for (raft::NodeId v : mem.voters) {
      if (v.value == n || tip.at_least(worst[v.value - 1])) ++votes;
    }
    if (votes >= mem.quorum()) {
      fail("commit safety: node " + num(committer) + " committed index " + num(c.value) + " (term " + num(t.value) +
           ") but node " + num(n) + ", which lacks it, could still be elected");
    }
  };
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const NodeView& v = nodes[i];
    check(i + 1, Tip{v.durable->last_index(), v.durable->last_term()}, v.durable->holds(c, t));
    if (v.core != nullptr) {
      const raft::RaftLog& log = v.core->log();
      const bool holds = c <= log.snapshot().index || log.matches(c, t);
      check(i + 1, Tip{log.last_index(), log.last_term()}, holds);
    }
  }
}

void Checker::check_commits(std::uint64_t node, const raft::Core& c) {
  PerNode& p = nodes_[node - 1];
  const raft::Index commit = c.log().committed();
  if (commit < p.last_commit) {
    fail("commit index went back: node " + num(node) + "'s commit index went back from " + num(p.last_commit.value) +
         " to " + num(commit.value));
  }
  p.last_commit = commit;
  const raft::Index from = raft::max_index(p.checked_commit, c.log().snapshot().index).next();
  for (raft::Index i = from; i <= commit; i = i.next()) {
    const raft::Entry& e = c.log().at(i);
    const std::uint64_t h = entry_hash(e);
    if (committed_.size() < i.value) committed_.resize(i.value);
    Committed& cm = committed_[i.value - 1];
    if (cm.term == 0) {
      cm = Committed{e.term.value, h, c.term().value};
      auto& top = committed_by_term_[c.term().value];
      if (top < i.value) top = i.value;
    } else if (cm.term != e.term.value || cm.hash != h) {
      fail("committed entry changed: node " + num(node) + " has index " + num(i.value) + " of term " +
           num(e.term.value) + " committed, but term " + num(cm.term) + " was committed there before");
      return;
    }
  }
  p.checked_commit = raft::max_index(p.checked_commit, commit);
}

// Leader completeness: a leader of term T holds every entry committed in a
// term before T.
void Checker::check_leader(std::uint64_t node, const raft::Core& c) {
  std::uint64_t must_hold = 0;
  for (const auto& [term, index] : committed_by_term_) {
    if (term >= c.term().value) break;
    if (index > must_hold) must_hold = index;
  }
  if (must_hold == 0 || must_hold <= c.log().snapshot().index.value) return;
  const auto t = c.log().term_at(raft::Index{must_hold});
  if (!t || t->value != committed_[must_hold - 1].term) {
    fail("leader completeness: node " + num(node) + " leads term " + num(c.term().value) +
         " without the committed entry at index " + num(must_hold));
  }
}

}  // namespace minga::sim
