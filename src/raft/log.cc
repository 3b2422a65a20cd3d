#include "raft/log.h"

#include "base/assert.h"

namespace minga::raft {

RaftLog::RaftLog(const SnapshotMeta& snapshot, std::vector<Entry> entries, Index commit)
    : snap_(snapshot), entries_(std::move(entries)) {
  for (std::size_t k = 0; k < entries_.size(); ++k) {
    MINGA_ASSERT(entries_[k].index == snap_.index + (k + 1), "log entries must follow the snapshot contiguously");
    MINGA_ASSERT(k == 0 || entries_[k - 1].term <= entries_[k].term, "log terms must not decrease");
    note_config(entries_[k]);
  }
  committed_ = max_index(snap_.index, min_index(commit, last_index()));
  applied_ = snap_.index;
  applying_ = snap_.index;
  stable_ = last_index();
  persisting_ = stable_;
}

Term RaftLog::last_term() const { return entries_.empty() ? snap_.term : entries_.back().term; }

std::optional<Term> RaftLog::term_at(Index i) const {
  if (i == snap_.index) return snap_.term;
  if (i < snap_.index || i > last_index()) return std::nullopt;
  return entries_[i.value - first_index().value].term;
}

bool RaftLog::matches(Index i, Term t) const {
  const auto term = term_at(i);
  return term && *term == t;
}

bool RaftLog::is_up_to_date(Index last, Term term) const {
  return term > last_term() || (term == last_term() && last >= last_index());
}

const Entry& RaftLog::at(Index i) const {
  MINGA_ASSERT(i >= first_index() && i <= last_index(), "log index out of range");
  return entries_[i.value - first_index().value];
}

std::vector<Entry> RaftLog::slice(Index lo, Index hi, std::size_t max_bytes) const {
  MINGA_ASSERT(lo >= first_index(), "slice below the compacted log");
  std::vector<Entry> out;
  std::size_t bytes = 0;
  for (Index i = lo; i <= min_index(hi, last_index()); i = i.next()) {
    const Entry& e = at(i);
    bytes += entry_bytes(e);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

std::optional<Index> RaftLog::maybe_append(Index prev, Term prev_term, Index leader_commit,
                                           const std::vector<Entry>& entries) {
  if (!matches(prev, prev_term)) return std::nullopt;
  const Index last_new = prev + entries.size();
  // The first entry we do not already hold. Entries we hold are kept: a
  // delayed, shorter message must never truncate what a newer one appended.
  std::size_t k = 0;
  while (k < entries.size() && matches(entries[k].index, entries[k].term)) ++k;
  if (k < entries.size()) {
    const Index conflict = entries[k].index;
    MINGA_ASSERT(conflict > committed_, "a leader tried to overwrite a committed entry");
    truncate_after(conflict - 1);
    for (; k < entries.size(); ++k) append(entries[k]);
  }
  commit_to(min_index(leader_commit, last_new));
  return last_new;
}

void RaftLog::append(Entry e) {
  MINGA_ASSERT(e.index == last_index() + 1, "appended entry must follow the last index");
  MINGA_ASSERT(e.term >= last_term(), "log terms must not decrease");
  note_config(e);
  entries_.push_back(std::move(e));
}

std::pair<Index, Term> RaftLog::find_conflict_by_term(Index index, Term term) const {
  while (true) {
    const auto t = term_at(index);
    if (!t) return {index, Term{0}};
    if (*t <= term || index == Index{0}) return {index, *t};
    index = index.prev();
  }
}

void RaftLog::commit_to(Index i) {
  if (i <= committed_) return;
  MINGA_ASSERT(i <= last_index(), "commit index beyond the log");
  committed_ = i;
}

void RaftLog::restore(const SnapshotMeta& meta) {
  MINGA_ASSERT(meta.index > committed_, "restoring a snapshot the log already committed");
  snap_ = meta;
  entries_.clear();
  configs_.clear();
  committed_ = meta.index;
  applied_ = meta.index;
  applying_ = meta.index;
  stable_ = meta.index;
  persisting_ = meta.index;
}

void RaftLog::compact(const SnapshotMeta& meta) {
  MINGA_ASSERT(meta.index > snap_.index && meta.index <= applied_, "compaction must cover applied entries only");
  MINGA_ASSERT(matches(meta.index, meta.term), "compaction snapshot does not match the log");
  const std::size_t drop = meta.index.value - snap_.index.value;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(drop));
  std::erase_if(configs_, [&](const auto& c) { return c.first <= meta.index; });
  snap_ = meta;
}

const Membership& RaftLog::membership() const { return configs_.empty() ? snap_.membership : configs_.back().second; }

Index RaftLog::membership_index() const { return configs_.empty() ? snap_.index : configs_.back().first; }

Membership RaftLog::membership_at(Index i) const {
  const Membership* m = &snap_.membership;
  for (const auto& [index, membership] : configs_) {
    if (index > i) break;
    m = &membership;
  }
  return *m;
}

std::vector<Entry> RaftLog::unstable_entries() const {
  if (stable_ >= last_index()) return {};
  return {entries_.begin() + static_cast<std::ptrdiff_t>(stable_.value - snap_.index.value), entries_.end()};
}

std::vector<Entry> RaftLog::entries_to_apply(Index limit) const {
  std::vector<Entry> out;
  for (Index i = max_index(applied_, snap_.index).next(); i <= min_index(limit, last_index()); i = i.next()) {
    out.push_back(at(i));
  }
  return out;
}

void RaftLog::truncate_after(Index i) {
  MINGA_ASSERT(i >= snap_.index, "truncating into the snapshot");
  entries_.resize(i.value - snap_.index.value);
  std::erase_if(configs_, [&](const auto& c) { return c.first > i; });
  stable_ = min_index(stable_, i);
  persisting_ = min_index(persisting_, i);
}

void RaftLog::note_config(const Entry& e) {
  if (e.type != EntryType::config) return;
  Membership m;
  MINGA_ASSERT(decode_membership(e.data, m), "malformed config entry");
  configs_.emplace_back(e.index, std::move(m));
}

}  // namespace minga::raft
