// The coordinator's scheduling core: which worker runs which task, and what
// happens when a worker dies, stalls or refuses.
//
// Pure: no sockets, threads, clocks or randomness inside. The driver
// (cluster/coordinator.cc) feeds it membership events, submissions, answers
// and the current time, then carries out the Output (send these attempts,
// fail these tasks). The same inputs always give the same outputs, so the
// module can move into the Raft leader unchanged and is tested with a fake
// clock (tests/unit/scheduler).
//
// Contracts:
//   - A worker never holds more open attempts than its capacity. An attempt
//     stays open (holds its slot) until the worker answers it or its link
//     breaks, even after the task moved elsewhere: a stalled worker may still
//     be computing it.
//   - A task is answered at most once: only its current attempt's answer is
//     used; an answer to a superseded attempt is a duplicate and is ignored.
//   - With no live worker a submission fails at once with no_worker, and
//     queued or orphaned tasks fail with no_worker as the last worker dies.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/strong_id.h"

namespace minga::cluster {

// Monotonic time since an epoch the driver chooses (microseconds, so the
// driver can also measure dispatch latency with it).
using Time = std::chrono::microseconds;
using WorkerId = Strong<struct WorkerIdTag, std::string>;
using TaskId = Strong<struct TaskIdTag>;
using AttemptId = Strong<struct AttemptIdTag>;

enum class Policy : std::uint8_t { round_robin, least_loaded };
const char* to_string(Policy policy);
Result<Policy> parse_policy(std::string_view text);  // "round-robin" | "least-loaded"

// joining: registered by a heartbeat, no dispatch link yet.
// live: link up and heartbeats on time; the only state that gets new tasks.
// draining: refused work because it is shutting down; its running tasks may still answer.
// dead: link broken or heartbeat overdue.
enum class WorkerState : std::uint8_t { joining, live, draining, dead };
const char* to_string(WorkerState state);

struct SchedulerOptions {
  Policy policy = Policy::round_robin;
  Time heartbeat_timeout = std::chrono::seconds(2);  // no heartbeat for longer: dead
  Time task_timeout =
      std::chrono::seconds(30);    // an attempt unanswered for longer (plus the task's own wait) moves elsewhere
  unsigned max_attempts = 3;       // then the task fails with `timeout`
  std::size_t max_queued = 65536;  // tasks waiting for a free slot; beyond it submissions get `busy`
};

struct WorkerView {
  WorkerId id;
  std::string address;
  WorkerState state = WorkerState::joining;
  unsigned capacity = 0;
  unsigned in_flight = 0;        // open attempts
  std::uint64_t done = 0;        // answers used
  std::uint64_t failed = 0;      // error answers used
  std::uint64_t reassigned = 0;  // tasks moved away from it
  Time last_heartbeat{0};
};

// --- what the driver must do after an input
struct Dispatch {
  TaskId task;
  AttemptId attempt;  // use as the request id on the wire
  WorkerId worker;
};
struct Reassignment {
  TaskId task;
  WorkerId from;
  std::string reason;
};
struct Failure {
  TaskId task;
  Error error;
};
struct StateChange {
  WorkerId worker;
  WorkerState state;
  std::string reason;
};
struct Output {
  std::vector<Dispatch> dispatches;
  std::vector<Reassignment> reassignments;
  std::vector<Failure> failures;
  std::vector<StateChange> state_changes;
};

// How an attempt's answer was taken.
enum class AnswerKind : std::uint8_t {
  accepted,   // the task's answer; the task is finished
  duplicate,  // the task had moved on or finished; ignore the answer
  retried,    // the worker refused; the task went elsewhere (see the output)
  unknown,    // no such open attempt
};
// What the worker's answer says.
enum class Outcome : std::uint8_t { ok, error, refused };

struct Answer {
  AnswerKind kind = AnswerKind::unknown;
  TaskId task;
  WorkerId worker;
  std::vector<WorkerId> reassigned_from;  // workers that held the task before, in order
  Time dispatched_at{0};                  // when this attempt was sent
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options);

  // --- membership
  // A heartbeat from `id`, which says where it listens and how many slots
  // it has; registers it as joining when unknown. Revives a worker declared
  // dead by timeout while its link stayed up. While the worker is attached,
  // the address and capacity of its attach answer stay in force.
  void heartbeat(const WorkerId& id, std::string address, unsigned capacity, Time now);
  // The driver's dispatch link to the worker is up: live with `capacity` slots.
  void attached(const WorkerId& id, std::string address, unsigned capacity, Time now);
  // The link broke: dead at once, its open attempts are lost and their
  // tasks move to other workers.
  void detached(const WorkerId& id, Time now);
  // The worker is shutting down: no new tasks; its running ones may answer.
  void draining(const WorkerId& id, Time now);
  // Expires overdue heartbeats and attempts.
  void tick(Time now);

  // --- tasks
  // A new task. `own_duration` is how long the task itself takes (a sleep)
  // and extends its deadline. Errors: no_worker, busy.
  Result<TaskId> submit(Time own_duration, Time now);
  Answer answered(AttemptId attempt, Outcome outcome, Time now);
  // The requester gave up (its job failed, the driver stops): drop the task;
  // open attempts keep their slots until answered. O(log n): a queued task's
  // place in the queue is skipped when it reaches the front.
  void cancel(TaskId task);

  // Everything to do since the last call.
  Output take_output();

  std::vector<WorkerView> workers() const;
  std::size_t live_workers() const;
  std::size_t pending_tasks() const { return tasks_.size(); }
  std::size_t queued_tasks() const { return queued_; }
  const SchedulerOptions& options() const { return options_; }

  // Aborts (MINGA_ASSERT) when the internal bookkeeping is inconsistent.
  // Cheap enough for tests to call after every step.
  void check_invariants() const;

 private:
  struct Worker {
    std::string address;
    WorkerState state = WorkerState::joining;
    bool attached = false;
    unsigned capacity = 0;
    unsigned in_flight = 0;
    std::uint64_t done = 0, failed = 0, reassigned = 0;
    Time last_heartbeat{0};
  };
  struct Task {
    Time own_duration{0};
    Time deadline{0};
    AttemptId current{0};  // 0: queued, or between attempts
    bool queued = false;   // waiting in queue_
    std::vector<WorkerId> tried;
  };
  struct Attempt {
    TaskId task;
    WorkerId worker;
    Time dispatched_at{0};
  };

  const WorkerId* pick(const Task& task) const;
  bool place(TaskId id, Task& task, Time now);
  void reassign(TaskId id, const WorkerId& from, std::string reason, Time now);
  void fail(TaskId id, Error error);
  void drop(std::map<TaskId, Task>::iterator it);
  void enqueue_front(TaskId id, Task& task);
  void enqueue_back(TaskId id, Task& task);
  void fail_queue(const Error& error);
  void set_state(const WorkerId& id, Worker& w, WorkerState state, std::string reason);
  void orphan_current_attempts(const WorkerId& id, std::string reason, Time now);
  void pump(Time now);

  SchedulerOptions options_;
  std::map<WorkerId, Worker> workers_;
  std::map<TaskId, Task> tasks_;           // submitted, not yet answered or failed
  std::map<AttemptId, Attempt> attempts_;  // sent, not answered, link still up
  // Tasks waiting for a free slot, in order. Tasks failed or cancelled while
  // queued leave a stale entry here (their id is no longer in tasks_), skipped
  // at the front and swept when stale entries outnumber the waiting ones.
  std::deque<TaskId> queue_;
  std::size_t queued_ = 0;  // live entries of queue_
  WorkerId cursor_;         // round robin: the worker picked last
  TaskId next_task_{1};
  AttemptId next_attempt_{1};
  Output out_;
};

}  // namespace minga::cluster
