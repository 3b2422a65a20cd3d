#include "net/asio.h"
// (asio.h first)
#include "cluster/local_runner.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/post.hpp>

#include "base/metrics.h"
#include "base/thread_pool.h"

namespace minga::cluster {
namespace {

struct KindMetrics {
  metrics::Histogram* latency;
  metrics::Counter* ok;
  metrics::Counter* error;
};

// Registry look-ups take a lock and build label strings: do them once per
// kind and thread, not once per task.
const KindMetrics& metrics_for(const apps::TaskDef& def) {
  thread_local std::map<const apps::TaskDef*, KindMetrics> cache;
  auto it = cache.find(&def);
  if (it != cache.end()) return it->second;
  auto& reg = metrics::Registry::global();
  KindMetrics m{
      &reg.histogram("minga_task_duration_seconds", "Time from accepting a task to its answer, by kind",
                     {{"kind", def.key}}),
      &reg.counter("minga_tasks_total", "Tasks answered, by kind and result", {{"kind", def.key}, {"result", "ok"}}),
      &reg.counter("minga_tasks_total", "Tasks answered, by kind and result",
                   {{"kind", def.key}, {"result", "error"}})};
  return cache.emplace(&def, m).first->second;
}

}  // namespace

LocalRunner::LocalRunner(boost::asio::io_context& io, ThreadPool& pool, const apps::TaskRegistry& registry,
                         std::string node_id, std::size_t max_waiting_tasks)
    : io_(io), pool_(pool), registry_(registry), node_id_(std::move(node_id)), max_waiting_tasks_(max_waiting_tasks) {}

LocalRunner::Counters LocalRunner::counters() const {
  return Counters{queued_.load(), waiting_.load(), running_.load(), done_.load(), failed_.load(), rejected_.load()};
}

void LocalRunner::run(pb::TaskRequest request, apps::TaskCallback done) {
  const apps::TaskDef* def = registry_.find(request.kind());
  if (def == nullptr) {
    done(Error{Errc::invalid_argument, "unknown task kind '" + request.kind() + "'"});
    return;
  }
  if (!accepting_.load()) {
    ++rejected_;
    done(Error{Errc::shutting_down, "the node is shutting down"});
    return;
  }
  if (def->wait_seconds) {
    wait_then_submit(*def, std::move(request), std::move(done));
    return;
  }
  submit(*def, std::move(request), std::move(done), std::chrono::steady_clock::now(), false);
}

void LocalRunner::wait_then_submit(const apps::TaskDef& def, pb::TaskRequest request, apps::TaskCallback done) {
  auto wait = def.wait_seconds(request);
  if (!wait.ok()) {
    done(wait.error());
    return;
  }
  // Counted before the check so concurrent arrivals cannot overshoot the bound.
  if (++waiting_ > max_waiting_tasks_) {
    --waiting_;
    ++rejected_;
    done(Error{Errc::busy, "too many waiting tasks; retry later"});
    return;
  }
  ++in_flight_;
  const auto accepted_at = std::chrono::steady_clock::now();
  auto timer = std::make_shared<boost::asio::steady_timer>(
      io_,
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(wait.value())));
  timer->async_wait([this, timer, def = &def, accepted_at, req = std::move(request),
                     done = std::move(done)](const boost::system::error_code&) mutable {
    --waiting_;
    --in_flight_;  // submit() counts it again
    submit(*def, std::move(req), std::move(done), accepted_at, true);
  });
}

void LocalRunner::submit(const apps::TaskDef& def, pb::TaskRequest request, apps::TaskCallback done,
                         std::chrono::steady_clock::time_point accepted_at, bool admitted) {
  if (!admitted && queued_.load(std::memory_order_relaxed) >= pool_.capacity()) {
    ++rejected_;
    done(Error{Errc::busy, "the task queue is full; retry later"});
    return;
  }
  ++in_flight_;
  ++queued_;
  bool post = false;
  {
    std::lock_guard lock(batch_mu_);
    batch_.push_back(Pending{&def, std::move(request), std::move(done), accepted_at});
    post = !flush_posted_;
    flush_posted_ = true;
  }
  // Runs after the handlers that are ready now: the whole burst goes at once.
  if (post) boost::asio::post(io_, [this] { flush(); });
}

void LocalRunner::flush() {
  std::vector<Pending> tasks;
  {
    std::lock_guard lock(batch_mu_);
    tasks.swap(batch_);
    flush_posted_ = false;
  }
  if (tasks.empty()) return;
  // One job per pool thread at most, each with a contiguous share.
  const std::size_t jobs = std::min<std::size_t>(tasks.size(), pool_.threads());
  const std::size_t per_job = (tasks.size() + jobs - 1) / jobs;
  auto shared = std::make_shared<std::vector<Pending>>(std::move(tasks));
  for (std::size_t begin = 0; begin < shared->size(); begin += per_job) {
    const std::size_t end = std::min(shared->size(), begin + per_job);
    const bool ok = pool_.try_submit([this, shared, begin, end] {
      for (std::size_t i = begin; i < end; ++i) execute((*shared)[i]);
    });
    if (!ok) {
      for (std::size_t i = begin; i < end; ++i) {
        --queued_;
        --in_flight_;
        ++rejected_;
        (*shared)[i].done(Error{Errc::busy, "the task queue is full; retry later"});
      }
    }
  }
}

void LocalRunner::execute(Pending& task) {
  --queued_;
  ++running_;
  auto result = task.def->run(task.request);
  --running_;
  const KindMetrics& m = metrics_for(*task.def);
  m.latency->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - task.accepted_at).count());
  (result.ok() ? m.ok : m.error)->inc();
  finish(task.done, std::move(result));
  task.done = nullptr;  // release the responder now, not when the whole batch is freed
}

void LocalRunner::finish(apps::TaskCallback& done, Result<pb::TaskResponse> result) {
  if (result.ok()) {
    ++done_;
    result.value().set_worker(node_id_);
  } else {
    ++failed_;
  }
  done(std::move(result));
  --in_flight_;
}

}  // namespace minga::cluster
