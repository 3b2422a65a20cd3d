#include "cluster/scheduler.h"

#include <algorithm>
#include <set>

#include "base/assert.h"

namespace minga::cluster {

const char* to_string(Policy policy) {
  switch (policy) {
    case Policy::round_robin:
      return "round-robin";
    case Policy::least_loaded:
      return "least-loaded";
  }
  return "?";
}

Result<Policy> parse_policy(std::string_view text) {
  if (text == "round-robin") return Policy::round_robin;
  if (text == "least-loaded") return Policy::least_loaded;
  return Error{Errc::invalid_argument, "expected round-robin|least-loaded, got '" + std::string(text) + "'"};
}

const char* to_string(WorkerState state) {
  switch (state) {
    case WorkerState::joining:
      return "joining";
    case WorkerState::live:
      return "live";
    case WorkerState::draining:
      return "draining";
    case WorkerState::dead:
      return "dead";
  }
  return "?";
}

Scheduler::Scheduler(SchedulerOptions options) : options_(options) {
  MINGA_ASSERT(options_.max_attempts >= 1, "max_attempts must be at least 1");
}

// --- membership

void Scheduler::set_state(const WorkerId& id, Worker& w, WorkerState state, std::string reason) {
  if (w.state == state) return;
  w.state = state;
  out_.state_changes.push_back(StateChange{id, state, std::move(reason)});
}

void Scheduler::heartbeat(const WorkerId& id, std::string address, unsigned capacity, Time now) {
  auto [it, inserted] = workers_.try_emplace(id);
  Worker& w = it->second;
  w.last_heartbeat = now;
  if (!w.attached) {
    w.address = std::move(address);
    w.capacity = capacity;
  }
  if (inserted) {
    out_.state_changes.push_back(StateChange{id, WorkerState::joining, "first heartbeat"});
  } else if (w.state == WorkerState::dead) {
    // Back on time: usable again if its link survived the silence.
    set_state(id, w, w.attached ? WorkerState::live : WorkerState::joining, "heartbeat resumed");
    if (w.attached) pump(now);
  }
}

void Scheduler::attached(const WorkerId& id, std::string address, unsigned capacity, Time now) {
  MINGA_ASSERT(capacity > 0, "a worker needs at least one slot");
  Worker& w = workers_[id];
  MINGA_ASSERT(!w.attached, "attached twice without detached in between");
  w.address = std::move(address);
  w.capacity = capacity;
  w.attached = true;
  w.last_heartbeat = now;
  set_state(id, w, WorkerState::live, "attached");
  pump(now);
}

void Scheduler::detached(const WorkerId& id, Time now) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  Worker& w = it->second;
  w.attached = false;
  set_state(id, w, WorkerState::dead, "connection lost");
  // Answers can no longer arrive: every open attempt on it is lost.
  std::vector<TaskId> orphans;
  for (auto a = attempts_.begin(); a != attempts_.end();) {
    if (a->second.worker != id) {
      ++a;
      continue;
    }
    auto t = tasks_.find(a->second.task);
    if (t != tasks_.end() && t->second.current == a->first) orphans.push_back(a->second.task);
    a = attempts_.erase(a);
  }
  w.in_flight = 0;
  for (TaskId task : orphans) {
    tasks_.at(task).current = AttemptId{0};
    reassign(task, id, "connection lost", now);
  }
  pump(now);
}

void Scheduler::draining(const WorkerId& id, Time now) {
  auto it = workers_.find(id);
  if (it == workers_.end() || it->second.state == WorkerState::dead) return;
  set_state(id, it->second, WorkerState::draining, "shutting down");
  pump(now);  // with no live worker left, queued tasks fail now
}

void Scheduler::orphan_current_attempts(const WorkerId& id, std::string reason, Time now) {
  std::vector<TaskId> orphans;
  for (const auto& [tid, task] : tasks_) {
    if (task.current.value == 0) continue;
    if (attempts_.at(task.current).worker == id) orphans.push_back(tid);
  }
  for (TaskId tid : orphans) {
    tasks_.at(tid).current = AttemptId{0};  // the attempt stays open: the worker may still answer
    reassign(tid, id, reason, now);
  }
}

void Scheduler::tick(Time now) {
  for (auto& [id, w] : workers_) {
    if (w.state == WorkerState::dead || now - w.last_heartbeat <= options_.heartbeat_timeout) continue;
    set_state(id, w, WorkerState::dead, "heartbeat timeout");
    orphan_current_attempts(id, "heartbeat timeout", now);
  }
  std::vector<std::pair<TaskId, WorkerId>> overdue;
  for (const auto& [tid, task] : tasks_) {
    if (task.current.value != 0 && now > task.deadline) overdue.emplace_back(tid, attempts_.at(task.current).worker);
  }
  for (const auto& [tid, worker] : overdue) {
    tasks_.at(tid).current = AttemptId{0};
    reassign(tid, worker, "deadline missed", now);
  }
  pump(now);
}

// --- tasks

const WorkerId* Scheduler::pick(const Task& task) const {
  auto free_live = [](const Worker& w) { return w.state == WorkerState::live && w.in_flight < w.capacity; };
  auto untried = [&task](const WorkerId& id) {
    return std::find(task.tried.begin(), task.tried.end(), id) == task.tried.end();
  };
  bool any_untried = false;
  for (const auto& [id, w] : workers_) any_untried = any_untried || (free_live(w) && untried(id));
  // Candidates in round-robin order: the first after the cursor, wrapping.
  const WorkerId* best = nullptr;
  const Worker* best_w = nullptr;
  auto start = workers_.upper_bound(cursor_);
  for (std::size_t i = 0; i < workers_.size(); ++i, ++start) {
    if (start == workers_.end()) start = workers_.begin();
    const auto& [id, w] = *start;
    if (!free_live(w) || (any_untried && !untried(id))) continue;
    if (options_.policy == Policy::round_robin) return &id;
    // least-loaded: the lowest in_flight / capacity; ties keep round-robin order.
    if (best_w == nullptr ||
        std::uint64_t{w.in_flight} * best_w->capacity < std::uint64_t{best_w->in_flight} * w.capacity) {
      best = &id;
      best_w = &w;
    }
  }
  return best;
}

bool Scheduler::place(TaskId id, Task& task, Time now) {
  const WorkerId* chosen = pick(task);
  if (chosen == nullptr) return false;
  const WorkerId worker = *chosen;
  cursor_ = worker;
  const AttemptId attempt = next_attempt_;
  next_attempt_ = next_attempt_.next();
  attempts_.emplace(attempt, Attempt{id, worker, now});
  workers_.at(worker).in_flight++;
  task.current = attempt;
  task.tried.push_back(worker);
  task.deadline = now + options_.task_timeout + task.own_duration;
  out_.dispatches.push_back(Dispatch{id, attempt, worker});
  return true;
}

void Scheduler::enqueue_front(TaskId id, Task& task) {
  task.queued = true;
  queue_.push_front(id);
  ++queued_;
}

void Scheduler::enqueue_back(TaskId id, Task& task) {
  task.queued = true;
  queue_.push_back(id);
  ++queued_;
}

void Scheduler::drop(std::map<TaskId, Task>::iterator it) {
  const bool was_queued = it->second.queued;
  tasks_.erase(it);
  if (!was_queued) return;
  --queued_;
  // Its queue entry is now stale. Sweep once stale entries outnumber the
  // waiting tasks, so a long run of cancels costs O(1) each, amortised.
  if (queue_.size() - queued_ > queued_ + 64) {
    std::erase_if(queue_, [this](TaskId t) { return tasks_.count(t) == 0; });
  }
}

void Scheduler::fail(TaskId id, Error error) {
  auto it = tasks_.find(id);
  MINGA_ASSERT(it != tasks_.end(), "failing a task that is not pending");
  drop(it);
  out_.failures.push_back(Failure{id, std::move(error)});
}

void Scheduler::fail_queue(const Error& error) {
  for (TaskId id : queue_) {
    auto it = tasks_.find(id);
    if (it == tasks_.end()) continue;  // stale
    tasks_.erase(it);
    out_.failures.push_back(Failure{id, error});
  }
  queue_.clear();
  queued_ = 0;
}

void Scheduler::reassign(TaskId id, const WorkerId& from, std::string reason, Time now) {
  Task& task = tasks_.at(id);
  if (auto w = workers_.find(from); w != workers_.end()) w->second.reassigned++;
  out_.reassignments.push_back(Reassignment{id, from, reason});
  // With nobody left, say so, whatever the attempts so far.
  if (live_workers() == 0) {
    fail(id, Error{Errc::no_worker, "no worker available"});
    return;
  }
  if (task.tried.size() >= options_.max_attempts) {
    fail(id, Error{Errc::timeout, "the task was tried on " + std::to_string(task.tried.size()) +
                                      " workers without an answer (last: " + reason + ")"});
    return;
  }
  if (!place(id, task, now)) enqueue_front(id, task);  // ahead of new work: it waited already
}

void Scheduler::pump(Time now) {
  if (live_workers() == 0) {
    // Nothing can run them: tell the requesters now rather than let them
    // hang, in one pass however deep the queue.
    fail_queue(Error{Errc::no_worker, "no worker available"});
    return;
  }
  while (!queue_.empty()) {
    auto it = tasks_.find(queue_.front());
    if (it != tasks_.end()) {
      if (!place(it->first, it->second, now)) break;
      it->second.queued = false;
      --queued_;
    }
    queue_.pop_front();
  }
}

Result<TaskId> Scheduler::submit(Time own_duration, Time now) {
  if (live_workers() == 0) return Error{Errc::no_worker, "no worker available"};
  const TaskId id = next_task_;
  Task task;
  task.own_duration = own_duration;
  // Queue behind earlier waiting tasks so they keep their order.
  if (queued_ == 0 && place(id, task, now)) {
    next_task_ = next_task_.next();
    tasks_.emplace(id, std::move(task));
    return id;
  }
  if (queued_ >= options_.max_queued) {
    return Error{Errc::busy, "every worker is busy and the coordinator's queue is full; retry later"};
  }
  next_task_ = next_task_.next();
  enqueue_back(id, tasks_.emplace(id, std::move(task)).first->second);
  return id;
}

Answer Scheduler::answered(AttemptId attempt, Outcome outcome, Time now) {
  Answer answer;
  auto a = attempts_.find(attempt);
  if (a == attempts_.end()) return answer;
  const Attempt at = a->second;
  attempts_.erase(a);
  Worker& w = workers_.at(at.worker);
  w.in_flight--;
  answer.task = at.task;
  answer.worker = at.worker;
  answer.dispatched_at = at.dispatched_at;
  auto t = tasks_.find(at.task);
  if (t == tasks_.end() || t->second.current != attempt) {
    answer.kind = AnswerKind::duplicate;
  } else if (outcome == Outcome::refused) {
    answer.kind = AnswerKind::retried;
    t->second.current = AttemptId{0};
    reassign(at.task, at.worker, "refused", now);
  } else {
    answer.kind = AnswerKind::accepted;
    (outcome == Outcome::ok ? w.done : w.failed)++;
    answer.reassigned_from.assign(t->second.tried.begin(), t->second.tried.end() - 1);
    tasks_.erase(t);
  }
  pump(now);  // a slot is free
  return answer;
}

void Scheduler::cancel(TaskId task) {
  if (auto it = tasks_.find(task); it != tasks_.end()) drop(it);
}

Output Scheduler::take_output() { return std::exchange(out_, Output{}); }

std::vector<WorkerView> Scheduler::workers() const {
  std::vector<WorkerView> out;
  out.reserve(workers_.size());
  for (const auto& [id, w] : workers_) {
    out.push_back(
        WorkerView{id, w.address, w.state, w.capacity, w.in_flight, w.done, w.failed, w.reassigned, w.last_heartbeat});
  }
  return out;
}

std::size_t Scheduler::live_workers() const {
  return static_cast<std::size_t>(std::count_if(workers_.begin(), workers_.end(),
                                                [](const auto& kv) { return kv.second.state == WorkerState::live; }));
}

void Scheduler::check_invariants() const {
  std::map<WorkerId, unsigned> open;
  for (const auto& [aid, a] : attempts_) {
    MINGA_ASSERT(workers_.count(a.worker) == 1, "an attempt names an unknown worker");
    MINGA_ASSERT(workers_.at(a.worker).attached, "an open attempt on a detached worker");
    open[a.worker]++;
  }
  for (const auto& [id, w] : workers_) {
    MINGA_ASSERT(w.in_flight == open[id], "in_flight differs from the open attempts");
    MINGA_ASSERT(w.in_flight <= w.capacity, "a worker holds more attempts than its capacity");
    MINGA_ASSERT(w.state != WorkerState::live || w.attached, "a live worker without a link");
  }
  std::set<TaskId> waiting;  // the live entries of the queue
  for (TaskId id : queue_) {
    auto t = tasks_.find(id);
    if (t == tasks_.end()) continue;  // stale
    MINGA_ASSERT(t->second.queued, "a queue entry for a task that is not waiting");
    MINGA_ASSERT(waiting.insert(id).second, "a task queued twice");
  }
  MINGA_ASSERT(waiting.size() == queued_, "the count of waiting tasks is wrong");
  for (const auto& [tid, t] : tasks_) {
    if (t.current.value == 0) {
      MINGA_ASSERT(t.queued && waiting.count(tid) == 1, "a task neither queued nor sent");
    } else {
      MINGA_ASSERT(!t.queued, "a sent task is still queued");
      MINGA_ASSERT(attempts_.count(t.current) == 1, "a task's current attempt is not open");
      MINGA_ASSERT(attempts_.at(t.current).task == tid, "a task's current attempt belongs to another task");
      MINGA_ASSERT(t.tried.size() <= options_.max_attempts, "more attempts than allowed");
    }
  }
}

}  // namespace minga::cluster
