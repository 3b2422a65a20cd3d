#include "replication/driver.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <tuple>

#include "base/assert.h"
#include "base/log.h"
#include "base/thread_name.h"

namespace minga::replication {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::array<double, 11> kFsyncBucketsMs = {0.5, 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000};

bool sole_voter(const raft::Core& core) {
  const raft::Membership& m = core.membership();
  return m.voters.size() == 1 && m.is_voter(core.id());
}

}  // namespace

Driver::Driver(DriverOptions options, std::unique_ptr<storage::RaftStorage> storage, Outbox& outbox, Applier& applier)
    : opt_(options),
      storage_(std::move(storage)),
      outbox_(outbox),
      applier_(applier),
      fsync_buckets_(kFsyncBucketsMs.size() + 1, 0) {}

Driver::~Driver() { stop(); }

Status Driver::start() {
  raft::InitialState init = storage_->initial_state();
  const std::string data = init.snapshot_data ? init.snapshot_data->data : std::string();
  if (auto st = applier_.restore(data); !st.ok()) {
    return Error{Errc::internal, "cannot restore the state machine from the snapshot at index " +
                                     std::to_string(init.snapshot.index.value) + ": " + st.error().message};
  }
  applied_ = init.snapshot.index.value;
  last_snapshot_index_ = init.snapshot.index.value;
  last_snapshot_bytes_ = data.size();
  raft::Config cfg;
  cfg.id = opt_.id;
  cfg.election_timeout_ticks = opt_.election_ticks;
  cfg.heartbeat_interval_ticks = opt_.heartbeat_ticks;
  cfg.seed = opt_.seed;
  core_ = std::make_unique<raft::Core>(cfg, std::move(init));
  next_read_ = (opt_.seed | 1) << 16;
  refresh_status();
  storage_thread_ = named_thread("raft-storage", [this] { storage_loop(); });
  snapshot_thread_ = named_thread("raft-snapshot", [this] { snapshot_loop(); });
  apply_thread_ = named_thread("raft-apply", [this] { apply_loop(); });
  loop_thread_ = named_thread("raft-loop", [this] { loop(); });
  return ok_status();
}

void Driver::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !loop_thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (loop_thread_.joinable()) loop_thread_.join();
  {
    std::lock_guard lock(snapshot_mu_);
    snapshot_stop_ = true;
  }
  snapshot_cv_.notify_all();
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
  {
    std::lock_guard lock(storage_mu_);
    storage_stop_ = true;
  }
  storage_cv_.notify_all();
  if (storage_thread_.joinable()) storage_thread_.join();
  {
    std::lock_guard lock(apply_mu_);
    apply_stop_ = true;
  }
  apply_cv_.notify_all();
  if (apply_thread_.joinable()) apply_thread_.join();
  // What is still waiting gets an answer.
  std::map<raft::Index, Pending> pending;
  {
    std::lock_guard lock(pending_mu_);
    pending.swap(pending_);
  }
  const Error down{Errc::shutting_down, "the node is shutting down; the outcome is unknown"};
  for (auto& [i, p] : pending) p.done(down);
  std::vector<Proposal> untaken;
  {
    std::lock_guard lock(mu_);
    untaken.swap(proposals_);
  }
  for (auto& p : untaken) p.done(Error{Errc::shutting_down, "the node is shutting down; it was not proposed"});
  for (auto& [c, r] : reads_) r.done(down);
  reads_.clear();
  for (auto& [i, r] : read_waits_) r.done(down);
  read_waits_.clear();
}

void Driver::post(std::function<void()> event) {
  {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(event));
  }
  cv_.notify_one();
}

void Driver::deliver(std::vector<raft::Message> messages) {
  post([this, ms = std::move(messages)] {
    for (const auto& m : ms) {
      // A malformed message changes nothing; the core says why.
      if (auto st = core_->step(m); !st.ok()) {
        log::debug("raft_step", "fail", {{"from", std::to_string(m.from.value)}, {"reason", st.error().message}});
      }
    }
  });
}

void Driver::propose(std::string data, ProposeDone done) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    proposals_.push_back(Proposal{std::move(data), std::move(done)});
    wake = proposals_wake_;
    proposals_wake_ = false;  // one wake-up for the whole burst
  }
  if (wake) cv_.notify_one();
}

// One batch of proposals into the core, and their callers into pending_
// under one lock.
void Driver::take_proposals(std::vector<Proposal>& proposals) {
  if (proposals.empty()) return;
  std::vector<std::pair<ProposeDone, Error>> answers;  // refused and overtaken, answered outside the lock
  const raft::Term term = core_->term();
  const auto deadline = Clock::now() + opt_.request_timeout;
  std::uint64_t accepted = 0;
  // One call for the batch: the followers get one append for all of it.
  commands_.clear();
  for (Proposal& p : proposals) commands_.push_back(std::move(p.data));
  std::vector<Result<raft::Index>> results = core_->propose(std::span<std::string>(commands_));
  {
    std::lock_guard lock(pending_mu_);
    for (std::size_t i = 0; i < proposals.size(); ++i) {
      Proposal& p = proposals[i];
      auto& r = results[i];
      if (!r.ok()) {
        answers.emplace_back(std::move(p.done), r.error());
        continue;
      }
      auto& slot = pending_[r.value()];
      if (slot.done) {  // an older term's entry at this index was truncated
        answers.emplace_back(std::move(slot.done),
                             Error{Errc::not_leader, "overtaken by a new leader; it was not committed"});
      }
      slot = Pending{term, std::move(p.done), deadline};
      ++accepted;
    }
  }
  proposals.clear();
  for (auto& [done, e] : answers) done(std::move(e));
  if (accepted > 0) {
    std::lock_guard lock(status_mu_);
    status_.proposals += accepted;
  }
}

void Driver::read_barrier(ReadDone done) {
  post([this, done = std::move(done)]() mutable {
    const std::uint64_t ctx = next_read_++;
    if (auto st = core_->read_index(ctx); !st.ok()) {
      done(st.error());
      return;
    }
    const auto now = Clock::now();
    reads_.emplace(ctx, Read{std::move(done), now + opt_.request_timeout, now + opt_.read_retry});
  });
}

void Driver::change(std::function<Result<raft::Index>(raft::Core&)> op, std::function<void(Result<raft::Index>)> done) {
  post([this, op = std::move(op), done = std::move(done)] {
    auto r = op(*core_);
    if (!r.ok() || r.value() == raft::Index(0)) {  // refused, or no entry (a leadership transfer)
      done(std::move(r));
      return;
    }
    // A config entry is acknowledged once it commits, as a proposal is.
    const raft::Index at = r.value();
    ProposeDone overtaken;
    {
      std::lock_guard lock(pending_mu_);
      auto& slot = pending_[at];
      overtaken = std::move(slot.done);
      slot = Pending{core_->term(),
                     [done, at](Result<std::string> applied) {
                       if (applied.ok()) {
                         done(at);
                       } else {
                         done(applied.error());
                       }
                     },
                     Clock::now() + opt_.request_timeout};
    }
    if (overtaken) overtaken(Error{Errc::not_leader, "overtaken by a new leader; it was not committed"});
  });
}

DriverStatus Driver::status() const {
  std::lock_guard lock(status_mu_);
  DriverStatus s = status_;
  s.applied = raft::Index(applied_.load());
  s.fsyncs = fsyncs_.load();
  return s;
}

void Driver::loop() {
  // A sole voter need not wait out an election timeout: logical time is an
  // input, and nobody else can be leader.
  if (sole_voter(*core_)) {
    for (std::uint32_t i = 0; i < 2 * opt_.election_ticks && !core_->is_leader(); ++i) core_->tick();
  }
  auto next_tick = Clock::now() + opt_.tick;
  for (;;) {
    // Compaction first: it needs no Ready outstanding, and under steady load
    // the next one is taken as soon as the last is persisted.
    maybe_compact();
    handle_ready();
    const raft::NodeId leader_before = last_leader_;  // written only on this thread
    refresh_status();
    if (last_leader_ != leader_before) fail_reads_of_another_leader();
    std::deque<std::function<void()>> batch;
    {
      std::unique_lock lock(mu_);
      proposals_wake_ = !persisting_;
      cv_.wait_until(lock, next_tick,
                     [this] { return stopping_ || !events_.empty() || (!persisting_ && !proposals_.empty()); });
      proposals_wake_ = false;
      if (stopping_) return;
      batch.swap(events_);
      proposals_taken_.swap(proposals_);
    }
    for (auto& e : batch) e();
    take_proposals(proposals_taken_);
    const auto now = Clock::now();
    if (now >= next_tick) {
      on_tick();
      next_tick += opt_.tick;
      if (next_tick < now) next_tick = now + opt_.tick;  // a stalled process does not burst ticks
    }
  }
}

// A read waits for its read index from the leader it was asked of; once
// leadership moved, that answer may never come (the leader is gone, or it
// stepped down). Such reads fail at once with not_leader, which clients
// retry, instead of waiting out request_timeout. Reads asked since the new
// leader became known fail too; they are retried the same way.
void Driver::fail_reads_of_another_leader() {
  auto reads = std::move(reads_);
  reads_.clear();
  for (auto& [ctx, r] : reads) r.done(Error{Errc::not_leader, "the leader changed before the read was confirmed"});
}

void Driver::on_tick() {
  core_->tick();
  // A persist that outlasts a tick (a slow disk, a big snapshot queued ahead)
  // must not silence a leader: its heartbeats and appends leave now, not when
  // the batch is durable (they promise nothing about durable state). Faster
  // batches are not split: their messages leave with the next Ready.
  if (persisting_) outbox_.send(core_->take_early_messages());
  outbox_.tick();
  const auto now = Clock::now();
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second.deadline <= now) {
      it->second.done(Error{Errc::timeout, "the read was not confirmed by a quorum in time"});
      it = reads_.erase(it);
      continue;
    }
    if (it->second.retry_at <= now) {
      // The same context again: whichever answer comes first serves the
      // read (its index is at least the commit index when the read began).
      if (auto st = core_->read_index(it->first); !st.ok()) {
        it->second.done(st.error());
        it = reads_.erase(it);
        continue;
      }
      it->second.retry_at = now + opt_.read_retry;
    }
    ++it;
  }
  std::vector<ProposeDone> expired;
  {
    std::lock_guard lock(pending_mu_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second.done));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& d : expired) d(Error{Errc::timeout, "not committed in time; the outcome is unknown"});
}

void Driver::handle_ready() {
  if (persisting_ || !core_->has_ready()) return;
  raft::Ready rd = core_->ready();
  outbox_.send(std::move(rd.early_messages));
  rd.early_messages.clear();
  if (!rd.snapshot && rd.entries.empty() && !rd.hard_state) {
    persisted(std::move(rd));
    return;
  }
  persisting_ = true;
  auto batch = std::make_shared<raft::Ready>(std::move(rd));
  {
    std::lock_guard lock(storage_mu_);
    storage_jobs_.push_back([this, batch] {
      const auto t0 = Clock::now();
      Status st = ok_status();
      if (batch->snapshot) st = storage_->install_snapshot(*batch->snapshot);
      if (st.ok() && !batch->entries.empty()) {
        st = storage_->append(batch->entries);
        if (st.ok()) st = storage_->sync();
      }
      if (st.ok() && batch->hard_state) st = storage_->save_hard_state(*batch->hard_state);
      if (!st.ok()) fatal("persist the log", st.error());
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      fsyncs_.fetch_add(1);
      {
        std::lock_guard h(hist_mu_);
        std::size_t b = 0;
        while (b < kFsyncBucketsMs.size() && ms > kFsyncBucketsMs[b]) ++b;
        ++fsync_buckets_[b];
        fsync_sum_ms_ += ms;
      }
      post([this, batch] {
        persisting_ = false;
        persisted(std::move(*batch));
      });
    });
  }
  storage_cv_.notify_one();
}

void Driver::persisted(raft::Ready rd) {
  outbox_.send(std::move(rd.messages));
  ApplyJob job;
  job.snapshot = rd.snapshot;
  job.entries = std::move(rd.committed_entries);
  for (const raft::ReadState& rs : rd.read_states) {
    if (auto it = reads_.find(rs.context); it != reads_.end()) {
      job.reads.emplace_back(rs.index, std::move(it->second));
      reads_.erase(it);
    }
  }
  if (job.snapshot || !job.entries.empty() || !job.reads.empty()) {
    {
      std::lock_guard lock(apply_mu_);
      apply_jobs_.push_back(std::move(job));
    }
    apply_cv_.notify_one();
  }
  core_->advance();
}

void Driver::maybe_compact() {
  if (!pending_compaction_ || persisting_) return;
  Compaction c = std::move(*pending_compaction_);
  pending_compaction_.reset();
  auto snap = core_->compact(c.index, std::move(c.data));
  if (!snap.ok()) return;  // a leader's snapshot got there first
  {
    std::lock_guard lock(snapshot_mu_);
    snapshot_jobs_.emplace_back(snap.value(), c.take_ms);
  }
  snapshot_cv_.notify_one();
}

void Driver::snapshot_loop() {
  for (;;) {
    raft::SnapshotPtr s;
    double take_ms = 0;
    {
      std::unique_lock lock(snapshot_mu_);
      snapshot_cv_.wait(lock, [this] { return snapshot_stop_ || !snapshot_jobs_.empty(); });
      if (snapshot_jobs_.empty()) return;
      std::tie(s, take_ms) = std::move(snapshot_jobs_.front());
      snapshot_jobs_.pop_front();
    }
    const auto t0 = Clock::now();
    auto prepared = storage_->prepare_snapshot(*s);
    if (!prepared.ok()) fatal("write a snapshot", prepared.error());
    const double write_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    {
      std::lock_guard lock(storage_mu_);
      storage_jobs_.push_back([this, s, p = std::move(prepared.value()), take_ms, write_ms] {
        const auto t1 = Clock::now();
        if (auto st = storage_->commit_snapshot(p); !st.ok()) fatal("save a snapshot", st.error());
        const double commit_ms = std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
        auto ms = [](double v) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.1f", v);
          return std::string(buf);
        };
        log::info("snapshot", "success",
                  {{"index", std::to_string(s->meta.index.value)},
                   {"bytes", std::to_string(s->data.size())},
                   {"take_ms", ms(take_ms)},
                   {"write_ms", ms(write_ms)},
                   {"commit_ms", ms(commit_ms)}});
      });
    }
    storage_cv_.notify_one();
  }
}

void Driver::refresh_status() {
  const raft::RoleKind role = core_->role();
  const raft::NodeId leader = core_->leader();
  std::lock_guard lock(status_mu_);
  if ((role == raft::RoleKind::candidate) && last_role_ != raft::RoleKind::candidate) {
    ++status_.elections;
    log::info("election", "in_progress", {{"term", std::to_string(core_->term().value)}});
  }
  if (leader != last_leader_) {
    ++status_.leader_changes;
    if (leader == core_->id()) {
      log::info("leader_elected", "success", {{"term", std::to_string(core_->term().value)}, {"leader", "self"}});
    } else if (leader != raft::kNoNode) {
      std::string name = opt_.name_of ? opt_.name_of(leader) : std::string();
      log::info("leader_change", "success",
                {{"term", std::to_string(core_->term().value)},
                 {"leader", name.empty() ? std::to_string(leader.value) : name}});
    } else {
      log::info("leader_change", "in_progress", {{"term", std::to_string(core_->term().value)}, {"leader", "none"}});
    }
  }
  last_role_ = role;
  last_leader_ = leader;
  status_.role = role;
  status_.term = core_->term();
  status_.leader = leader;
  leader_hint_.store(leader.value, std::memory_order_relaxed);
  status_.commit = core_->log().committed();
  status_.last_index = core_->log().last_index();
  status_.snapshot_index = core_->log().snapshot().index;
  if (!(status_.membership == core_->membership())) {
    status_.membership = core_->membership();
    auto names = [this](const std::set<raft::NodeId>& ids) {
      std::string out;
      for (raft::NodeId n : ids) {
        std::string name = opt_.name_of ? opt_.name_of(n) : std::string();
        out += (out.empty() ? "" : ",") + (name.empty() ? std::to_string(n.value) : name);
      }
      return out.empty() ? std::string("none") : out;
    };
    log::info("membership", "success",
              {{"voters", names(status_.membership.voters)}, {"learners", names(status_.membership.learners)}});
  }
  status_.match.clear();
  status_.quorum_recent = false;
  if (core_->is_leader()) {
    std::size_t active = 1;
    for (raft::NodeId v : core_->membership().voters) {
      if (v == core_->id()) continue;
      if (const raft::Progress* p = core_->progress(v)) {
        status_.match[v] = p->match;
        if (p->recent_active) ++active;
      }
    }
    for (raft::NodeId l : core_->membership().learners) {
      if (const raft::Progress* p = core_->progress(l)) status_.match[l] = p->match;
    }
    status_.quorum_recent = active >= core_->membership().quorum();
  }
}

void Driver::storage_loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(storage_mu_);
      storage_cv_.wait(lock, [this] { return storage_stop_ || !storage_jobs_.empty(); });
      if (storage_jobs_.empty()) return;
      job = std::move(storage_jobs_.front());
      storage_jobs_.pop_front();
    }
    job();
  }
}

void Driver::apply_loop() {
  for (;;) {
    ApplyJob job;
    {
      std::unique_lock lock(apply_mu_);
      // Wakes at least every 100 ms while reads wait, to time them out.
      apply_cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return apply_stop_ || !apply_jobs_.empty(); });
      if (apply_jobs_.empty()) {
        if (apply_stop_) return;
        lock.unlock();
        serve_reads();
        continue;
      }
      job = std::move(apply_jobs_.front());
      apply_jobs_.pop_front();
    }
    apply(job);
  }
}

void Driver::serve_reads() {
  const raft::Index applied(applied_.load());
  while (!read_waits_.empty() && read_waits_.begin()->first <= applied) {
    auto done = std::move(read_waits_.begin()->second.done);
    read_waits_.erase(read_waits_.begin());
    done(ok_status());
  }
  // A node cut off after its read index was known may never reach it.
  const auto now = Clock::now();
  for (auto it = read_waits_.begin(); it != read_waits_.end();) {
    if (it->second.deadline <= now) {
      it->second.done(Error{Errc::timeout, "this node did not catch up with the read's index in time"});
      it = read_waits_.erase(it);
    } else {
      ++it;
    }
  }
}

void Driver::apply(ApplyJob& job) {
  if (job.snapshot) {
    const raft::Index at = job.snapshot->meta.index;
    if (auto st = applier_.restore(job.snapshot->data); !st.ok()) fatal("install the leader's snapshot", st.error());
    applied_ = at.value;
    last_snapshot_index_ = at.value;
    last_snapshot_bytes_ = job.snapshot->data.size();
    log_bytes_since_snapshot_ = 0;
    log::info("snapshot_install", "success",
              {{"index", std::to_string(at.value)}, {"bytes", std::to_string(job.snapshot->data.size())}});
    std::vector<ProposeDone> unknown;
    {
      std::lock_guard lock(pending_mu_);
      while (!pending_.empty() && pending_.begin()->first <= at) {
        unknown.push_back(std::move(pending_.begin()->second.done));
        pending_.erase(pending_.begin());
      }
    }
    for (auto& d : unknown) d(Error{Errc::timeout, "replaced by a snapshot; the outcome is unknown"});
  }
  // The callers of the job's entries, taken under one lock: an entry's
  // caller is in pending_ before the entry is persisted, so before it commits.
  completing_.clear();
  if (!job.entries.empty()) {
    std::lock_guard lock(pending_mu_);
    auto first = pending_.lower_bound(job.entries.front().index);
    auto last = pending_.upper_bound(job.entries.back().index);
    for (auto it = first; it != last; ++it) completing_.emplace_back(it->first, std::move(it->second));
    pending_.erase(first, last);
  }
  auto caller = completing_.begin();
  for (const raft::Entry& e : job.entries) {
    std::string result;
    if (e.type == raft::EntryType::command) result = applier_.apply(e);
    log_bytes_since_snapshot_ += e.data.size();
    applied_ = e.index.value;
    if (caller == completing_.end() || caller->first != e.index) continue;
    Pending& p = caller->second;
    ++caller;
    if (p.term == e.term) {
      p.done(std::move(result));
    } else {
      p.done(Error{Errc::not_leader, "overtaken by a new leader; it was not committed"});
    }
  }
  completing_.clear();
  for (auto& [index, read] : job.reads) read_waits_.emplace(index, std::move(read));
  serve_reads();
  const raft::Index applied(applied_.load());
  if (applied.value >= last_snapshot_index_ + opt_.snapshot_entries &&
      static_cast<double>(log_bytes_since_snapshot_) >=
          opt_.snapshot_log_ratio * static_cast<double>(last_snapshot_bytes_)) {
    last_snapshot_index_ = applied.value;
    const auto t0 = Clock::now();
    std::string data = applier_.snapshot();
    const double take_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    last_snapshot_bytes_ = data.size();
    log_bytes_since_snapshot_ = 0;
    post([this, at = applied, data = std::move(data), take_ms]() mutable {
      pending_compaction_.emplace(Compaction{at, std::move(data), take_ms});
    });
  }
}

void Driver::fatal(const std::string& what, const Error& e) {
  log::error("storage", "fail",
             {{"operation", what}, {"reason", e.message}, {"action", "stopping; restart recovers from the disk"}});
  spdlog::default_logger()->flush();
  std::_Exit(1);
}

std::string Driver::fsync_histogram_text() const {
  std::lock_guard lock(hist_mu_);
  std::string out =
      "# HELP minga_raft_persist_ms Time to persist one Raft batch (append, fsync, hard state)\n"
      "# TYPE minga_raft_persist_ms histogram\n";
  std::uint64_t cum = 0;
  for (std::size_t i = 0; i < kFsyncBucketsMs.size(); ++i) {
    cum += fsync_buckets_[i];
    char le[32];
    std::snprintf(le, sizeof le, "%g", kFsyncBucketsMs[i]);
    out += "minga_raft_persist_ms_bucket{le=\"" + std::string(le) + "\"} " + std::to_string(cum) + "\n";
  }
  cum += fsync_buckets_.back();
  out += "minga_raft_persist_ms_bucket{le=\"+Inf\"} " + std::to_string(cum) + "\n";
  char sum[64];
  std::snprintf(sum, sizeof sum, "%.3f", fsync_sum_ms_);
  out +=
      "minga_raft_persist_ms_sum " + std::string(sum) + "\nminga_raft_persist_ms_count " + std::to_string(cum) + "\n";
  return out;
}

}  // namespace minga::replication
