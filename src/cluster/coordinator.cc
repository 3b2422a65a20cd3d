#include "net/asio.h"
// (asio.h first)
#include "cluster/coordinator.h"

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <span>

#include "apps/calc/sum_squares.h"
#include "base/assert.h"
#include "base/log.h"
#include "base/metrics.h"
#include "cluster/cluster_ops.h"
#include "cluster/workers_json.h"

namespace minga::cluster {

namespace asio = boost::asio;
namespace {

using Clock = std::chrono::steady_clock;

// Request ids on a dispatch link: attempt ids are small counters; control
// requests set the top bit so they can never be taken for an attempt.
constexpr std::uint64_t kControlBit = std::uint64_t{1} << 63;
constexpr std::uint64_t kAttachId = kControlBit | 1;
constexpr std::uint64_t kPingId = kControlBit | 2;

struct TaskOutcome {
  pb::TaskResponse response;
  std::vector<std::string> reassigned_from;
};
using OutcomeCallback = std::function<void(Result<TaskOutcome>)>;

struct WorkerMetrics {
  metrics::Counter* ok;
  metrics::Counter* error;
  metrics::Counter* duplicate;
  metrics::Counter* reassigned;
  metrics::Histogram* dispatch;
};

double seconds(Time t) { return std::chrono::duration<double>(t).count(); }

Error shutting_down_error() { return Error{Errc::shutting_down, "the node is shutting down"}; }

}  // namespace

struct Coordinator::Impl : std::enable_shared_from_this<Coordinator::Impl> {
  Impl(asio::io_context& i, CoordinatorOptions o, const apps::TaskRegistry& r)
      : io(i), opt(std::move(o)), registry(r), scheduler(opt.scheduling), timer(i) {}

  // One dispatch link, by the worker address it dials.
  struct Link {
    net::Endpoint endpoint;
    std::shared_ptr<net::PeerLink> link;  // null while down
    std::uint64_t generation = 0;         // tells a replaced link's late callbacks apart
    std::optional<WorkerId> worker;       // known once the worker answered the attach
    bool is_static = false;               // from --workers: redialled until it answers
    Time next_dial{0};
  };
  struct Pending {
    std::string body;  // the TaskRequest, encoded once, resent on reassignment
    OutcomeCallback done;
  };
  // Requesters' callbacks, run after the mutex is released.
  using After = std::vector<std::function<void()>>;

  Time now() const { return std::chrono::duration_cast<Time>(Clock::now() - epoch); }
  static void run_all(After& after) {
    for (auto& fn : after) fn();
  }

  void dial(const std::string& address, Link& l);
  void on_connected(const std::string& address, std::uint64_t generation);
  void on_frames(const std::string& address, std::uint64_t generation, std::span<const net::PeerLink::Frame> frames);
  void on_closed(const std::string& address, std::uint64_t generation, const std::string& reason);
  void note_failure(const std::string& address, const char* action, const std::string& reason);
  void on_attach_answer(const std::string& address, Link& l, std::uint32_t type, std::string_view body);
  void on_task_answer(Link& l, AttemptId attempt, std::uint32_t type, std::string_view body, After& after);
  Result<pb::WorkerHeartbeatResponse> on_heartbeat(const pb::WorkerHeartbeat& hb);
  void schedule_tick();
  void tick();
  // A client's task: queued with the others of this turn of the event
  // loop, which flush() submits under one lock and one scheduling step, so
  // the dispatches they make leave in one write per link.
  void enqueue(std::string body, Time own_duration, OutcomeCallback done);
  void flush();
  void cancel(const std::vector<TaskId>& tasks);
  void process(After& after);  // carries out the scheduler's output; needs `mu`
  WorkerMetrics& metrics_for(const WorkerId& id);
  pb::WorkersResponse workers() const;
  std::string metrics_text() const;

  asio::io_context& io;
  const CoordinatorOptions opt;
  const apps::TaskRegistry& registry;
  std::string address;  // where workers reach this node
  const Clock::time_point epoch = Clock::now();
  std::atomic<bool> accepting{true};

  struct Submission {
    std::string body;
    Time own_duration;
    OutcomeCallback done;
  };
  std::mutex batch_mu;  // guards the two below; never held with `mu`
  std::vector<Submission> batch;
  bool flush_posted = false;

  mutable std::mutex mu;  // guards everything below
  Scheduler scheduler;
  std::map<std::string, Link> links;  // by worker address
  // The last dial or attach failure logged per worker address, until it
  // attaches: a failure is logged once per outage, not once per redial.
  // Kept apart from `links`, which forgets a joined worker's address.
  std::map<std::string, std::string> dial_failures;
  std::map<WorkerId, std::string> link_of;  // attached worker -> its link
  std::map<TaskId, Pending> pending;        // exactly the scheduler's unfinished tasks
  std::map<WorkerId, WorkerMetrics> worker_metrics;
  Time last_keepalive{0};
  bool stopped = false;
  Error stop_error{Errc::shutting_down, "the coordinator shut down before the task finished"};
  asio::steady_timer timer;
};

// --- links

void Coordinator::Impl::dial(const std::string& addr, Link& l) {
  const std::uint64_t gen = ++l.generation;
  std::weak_ptr<Impl> weak = weak_from_this();
  net::PeerLink::Handlers h;
  h.on_connected = [weak, addr, gen] {
    if (auto self = weak.lock()) self->on_connected(addr, gen);
  };
  h.on_frames = [weak, addr, gen](std::span<const net::PeerLink::Frame> frames) {
    if (auto self = weak.lock()) self->on_frames(addr, gen, frames);
  };
  h.on_closed = [weak, addr, gen](const std::string& reason) {
    if (auto self = weak.lock()) self->on_closed(addr, gen, reason);
  };
  l.link = net::PeerLink::start(io, l.endpoint, opt.link, std::move(h));
}

void Coordinator::Impl::on_connected(const std::string& addr, std::uint64_t gen) {
  std::lock_guard lock(mu);
  auto it = links.find(addr);
  if (stopped || it == links.end() || it->second.generation != gen || !it->second.link) return;
  pb::WorkerAttachRequest req;
  req.set_coordinator_id(opt.id);
  req.set_coordinator_address(address);
  it->second.link->send(pb::WORKER_ATTACH_REQUEST, kAttachId, req.SerializeAsString());
}

// All the answers of one read under one lock, and one process(): the
// dispatches they free slots for leave in one write per link.
void Coordinator::Impl::on_frames(const std::string& addr, std::uint64_t gen,
                                  std::span<const net::PeerLink::Frame> frames) {
  After after;
  {
    std::lock_guard lock(mu);
    auto it = links.find(addr);
    if (stopped || it == links.end() || it->second.generation != gen || !it->second.link) return;
    for (const auto& [h, body] : frames) {
      if (h.request_id == kAttachId) {
        on_attach_answer(addr, it->second, h.type, body);
      } else if ((h.request_id & kControlBit) == 0) {
        on_task_answer(it->second, AttemptId{h.request_id}, h.type, body, after);
      }  // else a keepalive answer
    }
    process(after);
  }
  run_all(after);
}

void Coordinator::Impl::note_failure(const std::string& addr, const char* action, const std::string& reason) {
  std::string& last = dial_failures[addr];
  // Repeats go to debug: visible when asked for, and countable by tests.
  log::emit(reason != last ? spdlog::level::warn : spdlog::level::debug, action, "fail",
            {{"address", addr}, {"reason", reason}});
  last = reason;
}

void Coordinator::Impl::on_attach_answer(const std::string& addr, Link& l, std::uint32_t type, std::string_view body) {
  if (l.worker) return;  // answered already
  pb::WorkerAttachResponse resp;
  std::string refusal;
  if (type == pb::ERROR) {
    refusal = "attach refused: " + net::decode_error(body).message;
  } else if (type != pb::WORKER_ATTACH_RESPONSE || !resp.ParseFromArray(body.data(), static_cast<int>(body.size())) ||
             resp.worker_id().empty() || resp.capacity() == 0) {
    refusal = "bad attach answer";
  } else if (auto other = link_of.find(WorkerId{resp.worker_id()}); other != link_of.end()) {
    refusal = "worker id '" + resp.worker_id() + "' is already attached from " + other->second;
  }
  if (!refusal.empty()) {
    note_failure(addr, "attach_worker", refusal);
    l.link->close(refusal);
    return;
  }
  const WorkerId id{resp.worker_id()};
  l.worker = id;
  dial_failures.erase(addr);
  link_of[id] = addr;
  metrics_for(id);
  log::info("attach_worker", "success",
            {{"worker", id.value}, {"address", addr}, {"capacity", std::to_string(resp.capacity())}});
  scheduler.attached(id, addr, resp.capacity(), now());
}

void Coordinator::Impl::on_closed(const std::string& addr, std::uint64_t gen, const std::string& reason) {
  After after;
  {
    std::lock_guard lock(mu);
    auto it = links.find(addr);
    if (it == links.end() || it->second.generation != gen) return;
    if (stopped) {  // stop() failed every task already; nothing moves now
      links.erase(it);
      return;
    }
    Link& l = it->second;
    l.link.reset();
    if (l.worker) {
      log::warn("worker_link", "fail", {{"worker", l.worker->value}, {"address", addr}, {"reason", reason}});
      link_of.erase(*l.worker);
      scheduler.detached(*l.worker, now());
      l.worker.reset();
    } else {
      note_failure(addr, "dial_worker", reason);
    }
    if (!l.is_static) {
      links.erase(it);  // a joined worker's next heartbeat dials again
    } else {
      l.next_dial = now() + opt.redial_interval;
    }
    process(after);
  }
  run_all(after);
}

// --- heartbeats

Result<pb::WorkerHeartbeatResponse> Coordinator::Impl::on_heartbeat(const pb::WorkerHeartbeat& hb) {
  if (hb.worker_id().empty()) return Error{Errc::invalid_argument, "a heartbeat needs a worker_id"};
  if (hb.capacity() == 0) return Error{Errc::invalid_argument, "a worker needs a capacity of at least 1"};
  auto ep = net::parse_endpoint(hb.address());
  if (!ep.ok()) return Error{Errc::invalid_argument, "worker address: " + ep.error().message};
  const std::string addr = ep->str();
  const WorkerId id{hb.worker_id()};
  After after;
  {
    std::lock_guard lock(mu);
    if (stopped) return Error{Errc::shutting_down, "the coordinator is shutting down"};
    if (auto other = link_of.find(id); other != link_of.end() && other->second != addr) {
      return Error{Errc::invalid_argument,
                   "worker id '" + id.value + "' is already attached from " + other->second + "; ids must be unique"};
    }
    scheduler.heartbeat(id, addr, hb.capacity(), now());
    Link& l = links[addr];
    l.endpoint = ep.value();
    if (!l.link) dial(addr, l);
    process(after);
  }
  run_all(after);
  pb::WorkerHeartbeatResponse resp;
  resp.set_coordinator_id(opt.id);
  resp.set_heartbeat_interval_ms(static_cast<std::uint32_t>(opt.heartbeat_interval.count()));
  return resp;
}

// --- the clock

void Coordinator::Impl::schedule_tick() {
  // Fine enough to see a missed heartbeat within a tenth of a second.
  const auto period =
      std::clamp(opt.heartbeat_interval / 2, std::chrono::milliseconds(10), std::chrono::milliseconds(100));
  timer.expires_after(period);
  timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->tick();
  });
}

void Coordinator::Impl::tick() {
  After after;
  {
    std::lock_guard lock(mu);
    if (stopped) return;
    const Time t = now();
    scheduler.tick(t);
    for (auto& [addr, l] : links) {
      if (!l.link && l.is_static && t >= l.next_dial) dial(addr, l);
    }
    // Keeps idle dispatch links from the workers' idle-connection deadline.
    if (t - last_keepalive >= opt.heartbeat_interval) {
      last_keepalive = t;
      const std::string ping = pb::PingRequest().SerializeAsString();
      for (auto& [addr, l] : links) {
        if (l.link && l.worker) l.link->send(pb::PING_REQUEST, kPingId, ping);
      }
    }
    process(after);
  }
  run_all(after);
  schedule_tick();
}

// --- tasks

void Coordinator::Impl::enqueue(std::string body, Time own_duration, OutcomeCallback done) {
  bool post = false;
  {
    std::lock_guard lock(batch_mu);
    batch.push_back(Submission{std::move(body), own_duration, std::move(done)});
    post = !std::exchange(flush_posted, true);
  }
  if (post) asio::post(io, [self = shared_from_this()] { self->flush(); });
}

void Coordinator::Impl::flush() {
  std::vector<Submission> mine;
  {
    std::lock_guard lock(batch_mu);
    mine.swap(batch);
    flush_posted = false;
  }
  After after;
  {
    std::lock_guard lock(mu);
    const Time t = now();
    for (auto& s : mine) {
      auto id = stopped ? Result<TaskId>(stop_error) : scheduler.submit(s.own_duration, t);
      if (!id.ok()) {
        after.push_back([done = std::move(s.done), e = id.error()] { done(e); });
      } else {
        pending.emplace(id.value(), Pending{std::move(s.body), std::move(s.done)});
      }
    }
    process(after);
  }
  run_all(after);
}

void Coordinator::Impl::cancel(const std::vector<TaskId>& tasks) {
  std::lock_guard lock(mu);
  for (TaskId t : tasks) {
    scheduler.cancel(t);
    pending.erase(t);
  }
}

void Coordinator::Impl::on_task_answer(Link& l, AttemptId attempt, std::uint32_t type, std::string_view body,
                                       After& after) {
  Outcome outcome = Outcome::ok;
  Result<pb::TaskResponse> result = pb::TaskResponse{};
  if (type == pb::TASK_RESPONSE) {
    if (!result.value().ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      result = Error{Errc::bad_frame, "cannot decode the worker's answer"};
      outcome = Outcome::error;
    }
  } else if (type == pb::ERROR) {
    Error e = net::decode_error(body);
    // A worker that is full or leaving did not do the task: run it elsewhere.
    outcome = (e.code == Errc::busy || e.code == Errc::shutting_down) ? Outcome::refused : Outcome::error;
    if (e.code == Errc::shutting_down && l.worker) scheduler.draining(*l.worker, now());
    result = std::move(e);
  } else {
    result = Error{Errc::bad_frame, "unexpected answer type " + std::to_string(type) + " from a worker"};
    outcome = Outcome::error;
  }
  const Time t = now();
  Answer a = scheduler.answered(attempt, outcome, t);
  if (a.kind == AnswerKind::unknown) return;
  WorkerMetrics& m = metrics_for(a.worker);
  m.dispatch->observe(seconds(t - a.dispatched_at));
  if (a.kind == AnswerKind::duplicate) m.duplicate->inc();
  if (a.kind != AnswerKind::accepted) return;
  (outcome == Outcome::ok ? m.ok : m.error)->inc();
  auto node = pending.extract(a.task);
  MINGA_ASSERT(!node.empty(), "an accepted answer for a task nobody waits for");
  Result<TaskOutcome> out = result.ok() ? Result<TaskOutcome>(TaskOutcome{std::move(result.value()), {}})
                                        : Result<TaskOutcome>(result.error());
  if (out.ok()) {
    out->response.set_worker(a.worker.value);  // the scheduler's view, not the worker's claim
    for (const auto& w : a.reassigned_from) out->reassigned_from.push_back(w.value);
  }
  after.push_back([done = std::move(node.mapped().done), out = std::move(out)]() mutable { done(std::move(out)); });
}

void Coordinator::Impl::process(After& after) {
  Output out = scheduler.take_output();
  for (const auto& c : out.state_changes) {
    log::info("worker_state", "success",
              {{"worker", c.worker.value}, {"state", to_string(c.state)}, {"reason", c.reason}});
  }
  for (const auto& r : out.reassignments) {
    metrics_for(r.from).reassigned->inc();
    log::info("reassign", "in_progress",
              {{"task", std::to_string(r.task.value)}, {"from", r.from.value}, {"reason", r.reason}});
  }
  // Dispatches before failures: a task failed later in the same step was
  // still sent, and its answer will be ignored as a duplicate.
  for (const auto& d : out.dispatches) {
    auto p = pending.find(d.task);
    MINGA_ASSERT(p != pending.end(), "a dispatch for a task nobody waits for");
    auto l = link_of.find(d.worker);
    MINGA_ASSERT(l != link_of.end(), "a dispatch to a worker without a link");
    links.at(l->second).link->send(opt.dispatch_type, d.attempt.value, p->second.body);
  }
  for (auto& f : out.failures) {
    auto node = pending.extract(f.task);
    if (node.empty()) continue;
    log::warn("task", "fail", {{"task", std::to_string(f.task.value)}, {"error", f.error.message}});
    after.push_back([done = std::move(node.mapped().done), e = std::move(f.error)] { done(e); });
  }
}

WorkerMetrics& Coordinator::Impl::metrics_for(const WorkerId& id) {
  auto it = worker_metrics.find(id);
  if (it != worker_metrics.end()) return it->second;
  auto& reg = metrics::Registry::global();
  static const std::string kTasksHelp =
      "Task answers the coordinator got from each worker: ok and error were used, duplicate came late and was "
      "ignored, reassigned counts tasks moved away from the worker";
  auto counter = [&](const char* result) {
    return &reg.counter("minga_worker_tasks_total", kTasksHelp, {{"worker", id.value}, {"result", result}});
  };
  WorkerMetrics m{counter("ok"), counter("error"), counter("duplicate"), counter("reassigned"),
                  &reg.histogram("minga_dispatch_duration_seconds",
                                 "Time from sending a task to a worker to its answer, seen by the coordinator",
                                 {{"worker", id.value}})};
  return worker_metrics.emplace(id, m).first->second;
}

pb::WorkersResponse Coordinator::Impl::workers() const {
  pb::WorkersResponse r;
  r.set_coordinator_id(opt.id);
  r.set_policy(to_string(opt.scheduling.policy));
  std::lock_guard lock(mu);
  const Time t = now();
  for (const auto& v : scheduler.workers()) {
    auto* w = r.add_workers();
    w->set_id(v.id.value);
    w->set_address(v.address);
    w->set_state(to_string(v.state));
    w->set_capacity(v.capacity);
    w->set_in_flight(v.in_flight);
    w->set_done(v.done);
    w->set_failed(v.failed);
    w->set_reassigned(v.reassigned);
    w->set_last_heartbeat_seconds_ago(seconds(t - v.last_heartbeat));
  }
  return r;
}

std::string Coordinator::Impl::metrics_text() const {
  std::map<std::string, std::uint64_t> by_state = {{"joining", 0}, {"live", 0}, {"draining", 0}, {"dead", 0}};
  std::string in_flight, capacity;
  std::size_t queued = 0;
  {
    std::lock_guard lock(mu);
    queued = scheduler.queued_tasks();
    for (const auto& v : scheduler.workers()) {
      by_state[to_string(v.state)]++;
      const std::string labels = metrics::render_labels({{"worker", v.id.value}});
      in_flight += "minga_worker_tasks_in_flight" + labels + " " + std::to_string(v.in_flight) + "\n";
      capacity += "minga_worker_capacity" + labels + " " + std::to_string(v.capacity) + "\n";
    }
  }
  std::string out = "# HELP minga_workers Workers known to the coordinator, by state\n# TYPE minga_workers gauge\n";
  for (const auto& [state, n] : by_state) {
    out += "minga_workers" + metrics::render_labels({{"state", state}}) + " " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP minga_worker_tasks_in_flight Tasks sent to each worker and not yet answered\n"
      "# TYPE minga_worker_tasks_in_flight gauge\n" +
      in_flight;
  out +=
      "# HELP minga_worker_capacity Concurrent tasks each worker accepts (its threads)\n"
      "# TYPE minga_worker_capacity gauge\n" +
      capacity;
  out +=
      "# HELP minga_coordinator_queued_tasks Tasks waiting for a free worker slot\n"
      "# TYPE minga_coordinator_queued_tasks gauge\nminga_coordinator_queued_tasks " +
      std::to_string(queued) + "\n";
  return out;
}

// --- Coordinator

Coordinator::Coordinator(asio::io_context& io, CoordinatorOptions options, const apps::TaskRegistry& registry)
    : impl_(std::make_shared<Impl>(io, std::move(options), registry)) {}

Coordinator::~Coordinator() { stop(); }

void Coordinator::install(apps::NodeServices& node) {
  ClusterOps ops;
  ops.sum_squares = [this](std::uint64_t n, SumSquaresCallback done) { sum_squares(n, std::move(done)); };
  ops.workers = [this](WorkersCallback done) { done(workers()); };
  ops.heartbeat = [this](const pb::WorkerHeartbeat& hb) { return heartbeat(hb); };
  add_cluster_ops(node, "coordinator", std::move(ops));
  node.add_status_section("workers", [this] { return workers_json(workers()); });
  node.add_metrics([impl = impl_.get()] { return impl->metrics_text(); });
}

void Coordinator::start(std::string address) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->address = std::move(address);
    for (const auto& ep : impl_->opt.static_workers) {
      auto& l = impl_->links[ep.str()];
      l.endpoint = ep;
      l.is_static = true;
      if (!l.link) impl_->dial(ep.str(), l);
    }
  }
  impl_->schedule_tick();
}

void Coordinator::add_worker(const net::Endpoint& worker) {
  std::lock_guard lock(impl_->mu);
  if (impl_->stopped) return;
  auto& l = impl_->links[worker.str()];
  l.endpoint = worker;
  l.is_static = true;
  if (!l.link) impl_->dial(worker.str(), l);
}

Result<pb::WorkerHeartbeatResponse> Coordinator::heartbeat(const pb::WorkerHeartbeat& hb) {
  return impl_->on_heartbeat(hb);
}

void Coordinator::stop_accepting() { impl_->accepting.store(false); }

std::size_t Coordinator::stop() {
  return stop(Error{Errc::shutting_down, "the coordinator shut down before the task finished"});
}

std::size_t Coordinator::stop(const Error& pending) {
  Impl::After after;
  std::size_t closed = 0;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return 0;
    impl_->stopped = true;
    impl_->stop_error = pending;  // for tasks still in the batch
    impl_->accepting.store(false);
    boost::system::error_code ec;
    impl_->timer.cancel(ec);
    for (auto& [addr, l] : impl_->links) {
      if (!l.link) continue;
      l.link->close("the coordinator is shutting down");
      ++closed;
    }
    // Out of the scheduler too, so no later input can move or answer them.
    for (auto& [id, p] : impl_->pending) {
      impl_->scheduler.cancel(id);
      after.push_back([done = std::move(p.done), pending] { done(pending); });
    }
    impl_->pending.clear();
  }
  Impl::run_all(after);
  return closed;
}

void Coordinator::run(pb::TaskRequest request, apps::TaskCallback done) {
  const apps::TaskDef* def = impl_->registry.find(request.kind());
  if (def == nullptr) {
    done(Error{Errc::invalid_argument, "unknown task kind '" + request.kind() + "'"});
    return;
  }
  if (!impl_->accepting.load()) {
    done(shutting_down_error());
    return;
  }
  // Waiting kinds are checked here (a bad sleep never travels) and their
  // wait extends the deadline.
  Time own{0};
  if (def->wait_seconds) {
    auto wait = def->wait_seconds(request);
    if (!wait.ok()) {
      done(wait.error());
      return;
    }
    own = std::chrono::duration_cast<Time>(std::chrono::duration<double>(wait.value()));
  }
  impl_->enqueue(request.SerializeAsString(), own, [done = std::move(done)](Result<TaskOutcome> r) {
    if (r.ok()) {
      done(std::move(r.value().response));
    } else {
      done(r.error());
    }
  });
}

void Coordinator::sum_squares(std::uint64_t n, std::function<void(Result<pb::SumSquaresResponse>)> done) {
  if (auto st = calc::check_sum_squares_n(n); !st.ok()) {
    done(st.error());
    return;
  }
  if (!impl_->accepting.load()) {
    done(shutting_down_error());
    return;
  }
  if (n == 0) {
    pb::SumSquaresResponse r;
    r.set_result("0");
    done(std::move(r));
    return;
  }
  std::weak_ptr<Impl> weak = impl_;
  Impl::After after;
  {
    std::lock_guard lock(impl_->mu);
    const std::size_t live = impl_->scheduler.live_workers();
    if (impl_->stopped) {
      after.push_back([&done] { done(shutting_down_error()); });
    } else if (live == 0) {
      after.push_back([&done] { done(Error{Errc::no_worker, "no worker available"}); });
    } else {
      auto job = std::make_shared<calc::SumSquaresJob>(calc::split_range(n, live), std::move(done));
      // Written here under `mu`; read by part callbacks, which run later.
      auto tasks = std::make_shared<std::vector<TaskId>>();
      for (std::size_t i = 0; i < job->size(); ++i) {
        auto id = impl_->scheduler.submit(Time{0}, impl_->now());
        if (!id.ok()) {
          for (TaskId t : *tasks) {
            impl_->scheduler.cancel(t);
            impl_->pending.erase(t);
          }
          after.push_back([job, i, e = id.error()] { job->finish_part(i, e); });
          break;
        }
        tasks->push_back(id.value());
        pb::TaskRequest req;
        req.set_kind("sum_squares_range");
        req.set_lo(job->range(i).lo);
        req.set_hi(job->range(i).hi);
        auto on_part = [weak, job, tasks, i](Result<TaskOutcome> r) {
          Result<calc::SumSquaresJob::Part> part =
              r.ok() ? Result<calc::SumSquaresJob::Part>(calc::SumSquaresJob::Part{
                           r->response.big_integer(), r->response.worker(), std::move(r->reassigned_from)})
                     : Result<calc::SumSquaresJob::Part>(r.error());
          if (!job->finish_part(i, std::move(part))) return;
          if (auto self = weak.lock()) self->cancel(*tasks);  // the job failed: drop its other parts
        };
        impl_->pending.emplace(id.value(), Impl::Pending{req.SerializeAsString(), std::move(on_part)});
        impl_->process(after);  // sends this part now, before a later part can fail
      }
    }
  }
  Impl::run_all(after);
}

pb::WorkersResponse Coordinator::workers() const { return impl_->workers(); }

std::size_t Coordinator::in_flight() const {
  std::size_t queued = 0;
  {
    std::lock_guard lock(impl_->batch_mu);
    queued = impl_->batch.size();
  }
  std::lock_guard lock(impl_->mu);
  return queued + impl_->pending.size();
}

}  // namespace minga::cluster
