// The pure scheduler with a fake clock: no sockets, no threads, no sleeps.
// Every test checks the scheduler's invariants after each step.
#include "cluster/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace minga::cluster {
namespace {

using namespace std::chrono_literals;

WorkerId W(const char* id) { return WorkerId{id}; }

// A scheduler plus a fake clock and a record of what it asked to dispatch.
class Harness {
 public:
  explicit Harness(SchedulerOptions o = {}) : s(o) {}

  void add_worker(const char* id, unsigned capacity) {
    beat(id, capacity);
    s.attached(W(id), std::string(id) + ":1", capacity, now);
    step();
  }
  // A heartbeat from `id`, listening on "<id>:1".
  void beat(const char* id, unsigned capacity = 2) { s.heartbeat(W(id), std::string(id) + ":1", capacity, now); }
  TaskId submit(Time own = 0ms) {
    auto r = s.submit(own, now);
    EXPECT_TRUE(r.ok()) << r.error().message;
    step();
    return r.value();
  }
  Answer answer(AttemptId a, Outcome o = Outcome::ok) {
    Answer ans = s.answered(a, o, now);
    step();
    return ans;
  }
  void advance(Time d) {
    now += d;
    s.tick(now);
    step();
  }
  // Collects the output and checks the invariants.
  void step() {
    s.check_invariants();
    Output o = s.take_output();
    for (const auto& d : o.dispatches) {
      sent.push_back(d);
      current[d.task] = d;
    }
    for (auto& r : o.reassignments) reassigned.push_back(r);
    for (auto& f : o.failures) failed.push_back(f);
    for (auto& c : o.state_changes) changes.push_back(c);
  }
  const WorkerView& view(const char* id) {
    views = s.workers();
    auto it = std::find_if(views.begin(), views.end(), [&](const WorkerView& v) { return v.id == W(id); });
    EXPECT_NE(it, views.end());
    return *it;
  }

  Scheduler s;
  Time now{0};
  std::vector<Dispatch> sent;
  std::map<TaskId, Dispatch> current;  // the latest dispatch of each task
  std::vector<Reassignment> reassigned;
  std::vector<Failure> failed;
  std::vector<StateChange> changes;
  std::vector<WorkerView> views;
};

// --- round robin

TEST(Scheduler, RoundRobinVisitsWorkersInTurn) {
  Harness h;
  for (const char* id : {"w1", "w2", "w3"}) h.add_worker(id, 4);
  for (int i = 0; i < 7; ++i) h.submit();
  std::vector<std::string> order;
  for (const auto& d : h.sent) order.push_back(d.worker.value);
  EXPECT_EQ(order, (std::vector<std::string>{"w1", "w2", "w3", "w1", "w2", "w3", "w1"}));
}

TEST(Scheduler, RoundRobinIsFairOverManyTasksWithOverlappingAnswers) {
  Harness h;
  for (const char* id : {"a", "b", "c"}) h.add_worker(id, 2);
  std::map<std::string, int> per_worker;
  std::vector<AttemptId> open;
  for (int i = 0; i < 3000; ++i) {
    const TaskId t = h.submit();
    open.push_back(h.current.at(t).attempt);
    // Answer in bursts so tasks overlap and slots fill up.
    if (open.size() == 5 || i == 2999) {
      for (AttemptId a : open) {
        Answer ans = h.answer(a);
        ASSERT_EQ(ans.kind, AnswerKind::accepted);
        per_worker[ans.worker.value]++;
      }
      open.clear();
    }
  }
  for (const auto& [id, n] : per_worker) EXPECT_NEAR(n, 1000, 1) << id;
  EXPECT_EQ(h.view("a").done + h.view("b").done + h.view("c").done, 3000u);
}

TEST(Scheduler, WorkersThatJoinLaterEnterTheRotation) {
  Harness h;
  h.add_worker("w1", 8);
  h.submit();
  h.add_worker("w2", 8);
  h.submit();
  h.submit();
  EXPECT_EQ(h.sent[1].worker, W("w2"));
  EXPECT_EQ(h.sent[2].worker, W("w1"));
}

// --- least loaded

TEST(Scheduler, LeastLoadedPrefersTheWorkerWithMostFreeShare) {
  SchedulerOptions o;
  o.policy = Policy::least_loaded;
  Harness h(o);
  h.add_worker("small", 1);
  h.add_worker("big", 4);
  // First goes round-robin order (both empty), then the big one takes work
  // until its share of busy slots passes the small one's.
  for (int i = 0; i < 5; ++i) h.submit();
  std::map<std::string, int> n;
  for (const auto& d : h.sent) n[d.worker.value]++;
  EXPECT_EQ(n["small"], 1);
  EXPECT_EQ(n["big"], 4);
  // An answer from big frees a slot: the next task goes there.
  h.answer(std::find_if(h.sent.begin(), h.sent.end(), [](const Dispatch& d) { return d.worker == W("big"); })->attempt);
  h.submit();
  EXPECT_EQ(h.sent.back().worker, W("big"));
}

TEST(Scheduler, ParsesPolicies) {
  EXPECT_EQ(parse_policy("round-robin").value(), Policy::round_robin);
  EXPECT_EQ(parse_policy("least-loaded").value(), Policy::least_loaded);
  EXPECT_EQ(parse_policy("random").error().message, "expected round-robin|least-loaded, got 'random'");
}

// --- capacity

TEST(Scheduler, NeverSendsMoreThanCapacityAndQueuesTheRest) {
  Harness h;
  h.add_worker("w1", 2);
  h.add_worker("w2", 1);
  for (int i = 0; i < 10; ++i) h.submit();
  EXPECT_EQ(h.sent.size(), 3u);
  EXPECT_EQ(h.s.queued_tasks(), 7u);
  EXPECT_EQ(h.view("w1").in_flight, 2u);
  EXPECT_EQ(h.view("w2").in_flight, 1u);
  // Each answer frees one slot, which the oldest queued task takes at once.
  const Dispatch first = h.sent[0];
  h.answer(first.attempt);
  ASSERT_EQ(h.sent.size(), 4u);
  EXPECT_EQ(h.sent[3].worker, first.worker);
  EXPECT_EQ(h.sent[3].task, TaskId{4});
  EXPECT_EQ(h.s.queued_tasks(), 6u);
  // Drain everything; check_invariants() asserts in_flight <= capacity at every step.
  std::set<AttemptId> answered{first.attempt};
  while (h.s.pending_tasks() > 0) {
    auto open =
        std::find_if(h.sent.begin(), h.sent.end(), [&](const Dispatch& d) { return !answered.count(d.attempt); });
    ASSERT_NE(open, h.sent.end());
    const AttemptId a = open->attempt;
    answered.insert(a);
    ASSERT_EQ(h.answer(a).kind, AnswerKind::accepted);
  }
  EXPECT_EQ(h.sent.size(), 10u);
}

TEST(Scheduler, FullQueueAnswersBusy) {
  SchedulerOptions o;
  o.max_queued = 2;
  Harness h(o);
  h.add_worker("w1", 1);
  h.submit();
  h.submit();
  h.submit();
  auto r = h.s.submit(0ms, h.now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::busy);
}

// --- no worker

TEST(Scheduler, NoLiveWorkerIsAnErrorAtOnce) {
  Harness h;
  auto r = h.s.submit(0ms, h.now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::no_worker);
  EXPECT_EQ(r.error().message, "no worker available");
  // A worker that only sent a heartbeat has no link yet: still none.
  h.beat("w1");
  h.step();
  EXPECT_EQ(h.view("w1").state, WorkerState::joining);
  EXPECT_EQ(h.s.submit(0ms, h.now).error().code, Errc::no_worker);
}

TEST(Scheduler, LastWorkerDyingFailsRunningAndQueuedTasksWithNoWorker) {
  Harness h;
  h.add_worker("w1", 1);
  const TaskId running = h.submit();
  const TaskId queued = h.submit();
  h.s.detached(W("w1"), h.now);
  h.step();
  ASSERT_EQ(h.failed.size(), 2u);
  std::set<TaskId> ids;
  for (const auto& f : h.failed) {
    EXPECT_EQ(f.error.code, Errc::no_worker);
    EXPECT_EQ(f.error.message, "no worker available");
    ids.insert(f.task);
  }
  EXPECT_EQ(ids, (std::set<TaskId>{running, queued}));
  EXPECT_EQ(h.s.pending_tasks(), 0u);
  EXPECT_EQ(h.s.submit(0ms, h.now).error().code, Errc::no_worker);
}

// --- reassignment

TEST(Scheduler, LostConnectionMovesTheTaskToAnotherWorker) {
  Harness h;
  for (const char* id : {"w1", "w2", "w3"}) h.add_worker(id, 1);
  for (int i = 0; i < 3; ++i) h.submit();
  const Dispatch on_w2 = h.sent[1];
  ASSERT_EQ(on_w2.worker, W("w2"));
  // w1 finishes first, so it has a free slot when w2 dies.
  const Answer a1 = h.answer(h.sent[0].attempt);
  ASSERT_EQ(a1.kind, AnswerKind::accepted);
  EXPECT_TRUE(a1.reassigned_from.empty());
  h.s.detached(W("w2"), h.now);
  h.step();
  ASSERT_EQ(h.reassigned.size(), 1u);
  EXPECT_EQ(h.reassigned[0].from, W("w2"));
  EXPECT_EQ(h.reassigned[0].reason, "connection lost");
  const Dispatch moved = h.current.at(on_w2.task);
  EXPECT_EQ(moved.worker, W("w1"));
  EXPECT_NE(moved.attempt, on_w2.attempt);
  const Answer a = h.answer(moved.attempt);
  ASSERT_EQ(a.kind, AnswerKind::accepted);
  EXPECT_EQ(a.worker, W("w1"));
  EXPECT_EQ(a.reassigned_from, std::vector<WorkerId>{W("w2")});
  EXPECT_EQ(h.view("w2").state, WorkerState::dead);
  EXPECT_EQ(h.view("w2").reassigned, 1u);
  EXPECT_EQ(h.view("w2").in_flight, 0u);
}

TEST(Scheduler, ReassignedTaskWaitsAheadOfNewWorkWhenEveryoneIsBusy) {
  Harness h;
  h.add_worker("w1", 1);
  h.add_worker("w2", 1);
  const TaskId t1 = h.submit();  // w1
  h.submit();                    // w2
  const TaskId t3 = h.submit();  // queued
  h.s.detached(W("w1"), h.now);
  h.step();
  // t1 goes in front of t3; w2's next free slot takes it.
  EXPECT_EQ(h.s.queued_tasks(), 2u);
  h.answer(h.sent[1].attempt);
  EXPECT_EQ(h.sent.back().task, t1);
  EXPECT_EQ(h.sent.back().worker, W("w2"));
  h.answer(h.sent.back().attempt);
  EXPECT_EQ(h.sent.back().task, t3);
}

TEST(Scheduler, MissedDeadlineMovesTheTaskAndIgnoresTheLateAnswer) {
  SchedulerOptions o;
  o.task_timeout = 1000ms;
  Harness h(o);
  h.add_worker("late", 1);
  h.add_worker("other", 1);
  const TaskId t = h.submit();
  const Dispatch first = h.current.at(t);
  ASSERT_EQ(first.worker, W("late"));
  // Keep both workers alive with heartbeats; only the task is late.
  h.now += 1000ms;
  h.beat("late");
  h.beat("other");
  h.advance(0ms);
  EXPECT_TRUE(h.reassigned.empty()) << "exactly at the deadline is still on time";
  h.advance(1ms);
  ASSERT_EQ(h.reassigned.size(), 1u);
  EXPECT_EQ(h.reassigned[0].reason, "deadline missed");
  const Dispatch second = h.current.at(t);
  EXPECT_EQ(second.worker, W("other"));
  // The late worker still holds its slot until it answers.
  EXPECT_EQ(h.view("late").in_flight, 1u);
  const Answer late = h.answer(first.attempt);
  EXPECT_EQ(late.kind, AnswerKind::duplicate);
  EXPECT_EQ(h.view("late").in_flight, 0u);
  EXPECT_EQ(h.view("late").done, 0u);
  const Answer ok = h.answer(second.attempt);
  ASSERT_EQ(ok.kind, AnswerKind::accepted);
  EXPECT_EQ(ok.reassigned_from, std::vector<WorkerId>{W("late")});
  // An answer for an attempt that is gone is unknown.
  EXPECT_EQ(h.answer(second.attempt).kind, AnswerKind::unknown);
}

TEST(Scheduler, OwnDurationExtendsTheDeadline) {
  SchedulerOptions o;
  o.task_timeout = 1000ms;
  o.heartbeat_timeout = 100000ms;
  Harness h(o);
  h.add_worker("w1", 1);
  h.add_worker("w2", 1);
  h.submit(5000ms);  // a 5-second sleep
  h.advance(5999ms);
  EXPECT_TRUE(h.reassigned.empty());
  h.advance(2ms);
  EXPECT_EQ(h.reassigned.size(), 1u);
}

TEST(Scheduler, HeartbeatTimeoutKillsTheWorkerAndHeartbeatsRevive) {
  SchedulerOptions o;
  o.heartbeat_timeout = 1000ms;
  Harness h(o);
  h.add_worker("w1", 2);
  h.add_worker("w2", 2);
  const TaskId t1 = h.submit();  // w1
  const TaskId t2 = h.submit();  // w2
  const Dispatch stalled = h.current.at(t2);
  ASSERT_EQ(stalled.worker, W("w2"));
  for (int i = 0; i < 4; ++i) {  // w1 keeps beating, w2 is silent (SIGSTOP)
    h.now += 300ms;
    h.beat("w1");
    h.advance(0ms);
  }
  EXPECT_EQ(h.view("w2").state, WorkerState::dead);
  ASSERT_EQ(h.reassigned.size(), 1u);
  EXPECT_EQ(h.reassigned[0].reason, "heartbeat timeout");
  EXPECT_EQ(h.current.at(t2).worker, W("w1"));
  // The stalled worker's slot stays taken: its link is up and it may answer.
  EXPECT_EQ(h.view("w2").in_flight, 1u);
  // It wakes up (SIGCONT): live again, and its late answer is ignored.
  h.beat("w2");
  h.step();
  EXPECT_EQ(h.view("w2").state, WorkerState::live);
  EXPECT_EQ(h.answer(stalled.attempt).kind, AnswerKind::duplicate);
  EXPECT_EQ(h.answer(h.current.at(t2).attempt).kind, AnswerKind::accepted);
  EXPECT_EQ(h.answer(h.current.at(t1).attempt).kind, AnswerKind::accepted);
  std::vector<std::string> states;
  for (const auto& c : h.changes) {
    if (c.worker == W("w2")) states.push_back(std::string(to_string(c.state)) + ":" + c.reason);
  }
  EXPECT_EQ(states, (std::vector<std::string>{"joining:first heartbeat", "live:attached", "dead:heartbeat timeout",
                                              "live:heartbeat resumed"}));
}

TEST(Scheduler, ReassignmentPrefersWorkersThatHaveNotTriedTheTask) {
  SchedulerOptions o;
  o.task_timeout = 100ms;
  o.heartbeat_timeout = 100000ms;
  o.max_attempts = 5;
  Harness h(o);
  for (const char* id : {"w1", "w2", "w3"}) h.add_worker(id, 2);
  const TaskId t = h.submit();
  h.advance(101ms);
  h.advance(101ms);
  std::vector<std::string> tried;
  for (const auto& d : h.sent) tried.push_back(d.worker.value);
  EXPECT_EQ(tried, (std::vector<std::string>{"w1", "w2", "w3"}));
  // Everyone tried it: it may return to any free worker.
  h.advance(101ms);
  ASSERT_EQ(h.sent.size(), 4u);
  EXPECT_EQ(h.sent.back().worker, W("w1"));
  EXPECT_EQ(h.current.at(t).worker, W("w1"));
}

TEST(Scheduler, GivesUpAfterMaxAttempts) {
  SchedulerOptions o;
  o.max_attempts = 2;
  Harness h(o);
  for (const char* id : {"w1", "w2", "w3"}) h.add_worker(id, 1);
  const TaskId t = h.submit();
  h.s.detached(h.current.at(t).worker, h.now);
  h.step();
  h.s.detached(h.current.at(t).worker, h.now);
  h.step();
  ASSERT_EQ(h.failed.size(), 1u);
  EXPECT_EQ(h.failed[0].task, t);
  EXPECT_EQ(h.failed[0].error.code, Errc::timeout);
  EXPECT_EQ(h.failed[0].error.message, "the task was tried on 2 workers without an answer (last: connection lost)");
  EXPECT_EQ(h.s.pending_tasks(), 0u);
}

TEST(Scheduler, WorkersDyingOneAfterAnotherEndInNoWorkerNotTimeout) {
  // kill -9 of every worker: the links break one by one, so a task hops
  // to workers that are about to be declared dead too.
  Harness h;
  for (const char* id : {"w1", "w2", "w3"}) h.add_worker(id, 2);
  for (int i = 0; i < 3; ++i) h.submit();
  for (const char* id : {"w1", "w2", "w3"}) {
    h.s.detached(W(id), h.now);
    h.step();
  }
  ASSERT_EQ(h.failed.size(), 3u);
  for (const auto& f : h.failed) {
    EXPECT_EQ(f.error.code, Errc::no_worker);
    EXPECT_EQ(f.error.message, "no worker available");
  }
}

TEST(Scheduler, RefusedTaskGoesElsewhereAndDrainingWorkersGetNoMore) {
  Harness h;
  h.add_worker("w1", 2);
  h.add_worker("w2", 2);
  const TaskId t = h.submit();
  const Dispatch d = h.current.at(t);
  ASSERT_EQ(d.worker, W("w1"));
  h.s.draining(W("w1"), h.now);  // it answered SHUTTING_DOWN
  const Answer a = h.answer(d.attempt, Outcome::refused);
  EXPECT_EQ(a.kind, AnswerKind::retried);
  EXPECT_EQ(h.current.at(t).worker, W("w2"));
  for (int i = 0; i < 3; ++i) h.submit();
  // w2 has room for two: the retried task and one new one; the other two
  // wait rather than go to the draining w1.
  ASSERT_EQ(h.sent.size(), 3u);
  for (std::size_t i = 2; i < h.sent.size(); ++i) EXPECT_EQ(h.sent[i].worker, W("w2"));
  EXPECT_EQ(h.view("w1").state, WorkerState::draining);
}

TEST(Scheduler, ErrorAnswersAreFinalAndCounted) {
  Harness h;
  h.add_worker("w1", 1);
  const TaskId t = h.submit();
  const Answer a = h.answer(h.current.at(t).attempt, Outcome::error);
  EXPECT_EQ(a.kind, AnswerKind::accepted);
  EXPECT_EQ(h.view("w1").failed, 1u);
  EXPECT_EQ(h.view("w1").done, 0u);
}

TEST(Scheduler, CancelledTaskLeavesItsSlotTakenUntilAnswered) {
  Harness h;
  h.add_worker("w1", 1);
  const TaskId t = h.submit();
  const TaskId queued = h.submit();
  h.s.cancel(queued);
  h.s.cancel(t);
  h.step();
  EXPECT_EQ(h.s.pending_tasks(), 0u);
  EXPECT_EQ(h.s.queued_tasks(), 0u);
  EXPECT_EQ(h.view("w1").in_flight, 1u);
  EXPECT_EQ(h.answer(h.current.at(t).attempt).kind, AnswerKind::duplicate);
  EXPECT_EQ(h.view("w1").in_flight, 0u);
}

TEST(Scheduler, WorkerComesBackAfterItsConnectionBroke) {
  Harness h;
  h.add_worker("w1", 1);
  h.s.detached(W("w1"), h.now);
  h.step();
  EXPECT_EQ(h.s.live_workers(), 0u);
  h.beat("w1");  // restarted, heartbeats before its link is up
  h.step();
  EXPECT_EQ(h.view("w1").state, WorkerState::joining);
  h.s.attached(W("w1"), "w1:2", 3, h.now);
  h.step();
  EXPECT_EQ(h.view("w1").state, WorkerState::live);
  EXPECT_EQ(h.view("w1").address, "w1:2");
  EXPECT_EQ(h.view("w1").capacity, 3u);
  h.submit();
  EXPECT_EQ(h.sent.back().worker, W("w1"));
}

TEST(Scheduler, HeartbeatOfAJoiningWorkerGivesItsAddressAndCapacity) {
  Harness h;
  h.s.heartbeat(W("w1"), "10.0.0.7:7401", 4, h.now);
  h.step();
  EXPECT_EQ(h.view("w1").state, WorkerState::joining);
  EXPECT_EQ(h.view("w1").address, "10.0.0.7:7401");
  EXPECT_EQ(h.view("w1").capacity, 4u);
  // Once attached, the attach answer is what counts; later heartbeats keep it.
  h.s.attached(W("w1"), "10.0.0.7:7402", 3, h.now);
  h.s.heartbeat(W("w1"), "10.0.0.7:7401", 4, h.now);
  h.step();
  EXPECT_EQ(h.view("w1").address, "10.0.0.7:7402");
  EXPECT_EQ(h.view("w1").capacity, 3u);
  // After the link broke, a restarted worker's heartbeat says where it is now.
  h.s.detached(W("w1"), h.now);
  h.s.heartbeat(W("w1"), "10.0.0.7:7409", 8, h.now);
  h.step();
  EXPECT_EQ(h.view("w1").address, "10.0.0.7:7409");
  EXPECT_EQ(h.view("w1").capacity, 8u);
}

TEST(Scheduler, LastWorkerGoingFailsADeepQueueInOneStep) {
  SchedulerOptions o;
  o.max_queued = 200000;
  Harness h(o);
  h.add_worker("w1", 1);
  constexpr std::size_t kTasks = 100001;  // one sent, the rest queued
  std::set<TaskId> submitted;
  for (std::size_t i = 0; i < kTasks; ++i) submitted.insert(h.s.submit(0ms, h.now).value());
  h.step();
  ASSERT_EQ(h.s.queued_tasks(), kTasks - 1);
  ASSERT_EQ(h.sent.size(), 1u);
  h.s.detached(W("w1"), h.now);
  h.step();
  ASSERT_EQ(h.failed.size(), kTasks);
  std::set<TaskId> failed;
  for (const Failure& f : h.failed) {
    EXPECT_EQ(f.error.code, Errc::no_worker);
    failed.insert(f.task);
  }
  EXPECT_EQ(failed, submitted);
  EXPECT_EQ(h.s.queued_tasks(), 0u);
  EXPECT_EQ(h.s.pending_tasks(), 0u);
}

TEST(Scheduler, CancelledQueuedTasksAreSkippedAndTheRestKeepTheirOrder) {
  SchedulerOptions o;
  o.max_queued = 1000;
  Harness h(o);
  h.add_worker("w1", 1);
  const TaskId running = h.submit();
  std::vector<TaskId> kept;
  for (int i = 0; i < 1000; ++i) {
    const TaskId t = h.submit();
    if (i % 3 == 0) {
      kept.push_back(t);
    } else {
      h.s.cancel(t);
      h.step();
    }
  }
  EXPECT_EQ(h.s.queued_tasks(), kept.size());
  // The cancelled ones free queue room: the queue is full at 1000 waiting tasks, not entries.
  for (std::size_t i = kept.size(); i < 1000; ++i) kept.push_back(h.submit());
  EXPECT_EQ(h.s.submit(0ms, h.now).error().code, Errc::busy);
  // Answer one at a time: the next dispatch is always the next kept task.
  AttemptId open = h.current.at(running).attempt;
  for (TaskId t : kept) {
    h.answer(open);
    ASSERT_EQ(h.sent.back().task, t);
    open = h.sent.back().attempt;
  }
  h.answer(open);
  EXPECT_EQ(h.s.pending_tasks(), 0u);
  EXPECT_EQ(h.sent.size(), kept.size() + 1);
}

TEST(Scheduler, SameInputsGiveTheSameOutputs) {
  auto run = [] {
    SchedulerOptions o;
    o.task_timeout = 50ms;
    Harness h(o);
    for (const char* id : {"c", "a", "b"}) h.add_worker(id, 2);
    std::string trace;
    for (int i = 0; i < 40; ++i) {
      h.submit();
      if (i % 7 == 3) h.advance(60ms);
      const auto nth = static_cast<std::size_t>(i) / 2;
      if (i % 11 == 5 && nth < h.sent.size()) h.answer(h.sent[nth].attempt);
      for (const char* id : {"a", "b", "c"}) h.beat(id);
    }
    for (const auto& d : h.sent) trace += std::to_string(d.task.value) + d.worker.value + ",";
    return trace;
  };
  EXPECT_EQ(run(), run());
}

}  // namespace
}  // namespace minga::cluster
