// Runs tasks on this node: CPU kinds on the bounded pool, waiting kinds
// (sleep) on a timer of the event loop, so no thread is held while waiting.
//
// Two bounds, each checked when a task arrives so `busy` comes at once: the
// pool queue (CPU tasks not yet running) and the waiting tasks. A waiting
// task does not take a place in the pool queue, so sleeps cannot make CPU
// work busy; once its wait is over it runs without a second check.
//
// Tasks accepted while the event loop handles a burst of requests are handed
// to the pool together, in one job per pool thread, when the loop next turns:
// one queue operation and at most one wake-up per thread instead of one per
// task. The queue capacity counts tasks, so `busy` comes at the same point.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "apps/api/tasks.h"

namespace boost::asio {
class io_context;
}
namespace minga {
class ThreadPool;
}

namespace minga::cluster {

class LocalRunner final : public apps::TaskRunner {
 public:
  struct Counters {
    std::uint64_t queued = 0;   // in the pool queue, not yet running
    std::uint64_t waiting = 0;  // waiting kinds (sleep) whose wait is not over
    std::uint64_t running = 0;
    std::uint64_t done = 0;
    std::uint64_t failed = 0;
    std::uint64_t rejected = 0;  // refused with `busy` or `shutting_down`
  };

  LocalRunner(boost::asio::io_context& io, ThreadPool& pool, const apps::TaskRegistry& registry, std::string node_id,
              std::size_t max_waiting_tasks);

  void run(pb::TaskRequest request, apps::TaskCallback done) override;
  // The id answers carry as their worker; the node learns it from its data
  // dir after the runner exists. Call before the first task.
  void set_node_id(std::string node_id) { node_id_ = std::move(node_id); }

  // After this, new tasks are refused with `shutting_down`; accepted ones finish.
  void stop_accepting() { accepting_.store(false); }
  // Tasks accepted and not yet answered.
  std::uint64_t in_flight() const { return in_flight_.load(); }
  Counters counters() const;

 private:
  struct Pending {
    const apps::TaskDef* def;
    pb::TaskRequest request;
    apps::TaskCallback done;
    std::chrono::steady_clock::time_point accepted_at;
  };
  void wait_then_submit(const apps::TaskDef& def, pb::TaskRequest request, apps::TaskCallback done);
  // `admitted`: the task passed its bound already (a waiting task after its wait).
  void submit(const apps::TaskDef& def, pb::TaskRequest request, apps::TaskCallback done,
              std::chrono::steady_clock::time_point accepted_at, bool admitted);
  void flush();
  void execute(Pending& task);
  void finish(apps::TaskCallback& done, Result<pb::TaskResponse> result);

  boost::asio::io_context& io_;
  ThreadPool& pool_;
  const apps::TaskRegistry& registry_;
  std::string node_id_;
  std::size_t max_waiting_tasks_;
  std::atomic<bool> accepting_{true};
  std::mutex batch_mu_;
  std::vector<Pending> batch_;  // accepted, not yet handed to the pool
  bool flush_posted_ = false;
  std::atomic<std::uint64_t> in_flight_{0}, queued_{0}, waiting_{0}, running_{0}, done_{0}, failed_{0}, rejected_{0};
};

}  // namespace minga::cluster
