#include "net/asio.h"
// (asio.h first)
#include "cluster/local_runner.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>

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
// kind, not once per task.
const KindMetrics& metrics_for(const apps::TaskDef& def) {
  static std::mutex mu;
  static std::map<const apps::TaskDef*, KindMetrics> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(&def);
  if (it != cache.end()) return it->second;
  auto& reg = metrics::Registry::global();
  KindMetrics m{&reg.histogram("minga_task_duration_seconds", "Time from accepting a task to its answer, by kind",
                               {{"kind", def.key}}),
                &reg.counter("minga_tasks_total", "Tasks answered, by kind and result", {{"kind", def.key}, {"result", "ok"}}),
                &reg.counter("minga_tasks_total", "Tasks answered, by kind and result",
                             {{"kind", def.key}, {"result", "error"}})};
  return cache.emplace(&def, m).first->second;
}

}  // namespace

LocalRunner::LocalRunner(boost::asio::io_context& io, ThreadPool& pool, const apps::TaskRegistry& registry,
                         std::string node_id)
    : io_(io), pool_(pool), registry_(registry), node_id_(std::move(node_id)) {}

LocalRunner::Counters LocalRunner::counters() const {
  return Counters{queued_.load(), running_.load(), done_.load(), failed_.load(), rejected_.load()};
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
    auto wait = def->wait_seconds(request);
    if (!wait.ok()) {
      done(wait.error());
      return;
    }
    ++in_flight_;
    ++queued_;
    auto timer = std::make_shared<boost::asio::steady_timer>(
        io_, std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(wait.value())));
    timer->async_wait([this, timer, def, req = std::move(request), done = std::move(done)](
                          const boost::system::error_code&) mutable {
      --queued_;
      --in_flight_;  // submit() counts it again
      submit(*def, std::move(req), std::move(done));
    });
    return;
  }
  submit(*def, std::move(request), std::move(done));
}

void LocalRunner::submit(const apps::TaskDef& def, pb::TaskRequest request, apps::TaskCallback done) {
  ++in_flight_;
  ++queued_;
  const auto accepted_at = std::chrono::steady_clock::now();
  auto shared_done = std::make_shared<apps::TaskCallback>(std::move(done));
  const bool ok = pool_.try_submit([this, &def, req = std::move(request), shared_done, accepted_at]() mutable {
    --queued_;
    ++running_;
    auto result = def.run(req);
    --running_;
    const KindMetrics& m = metrics_for(def);
    m.latency->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - accepted_at).count());
    (result.ok() ? m.ok : m.error)->inc();
    finish(*shared_done, std::move(result));
  });
  if (!ok) {
    --queued_;
    --in_flight_;
    ++rejected_;
    (*shared_done)(Error{Errc::busy, "the task queue is full; retry later"});
  }
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
