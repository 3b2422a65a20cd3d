#include "net/asio.h"
// (asio.h first)
#include "cluster/worker_agent.h"

#include <mutex>

#include "base/json.h"
#include "base/log.h"
#include "base/number.h"

namespace minga::cluster {

namespace asio = boost::asio;

using Clock = std::chrono::steady_clock;

struct WorkerAgent::Impl : std::enable_shared_from_this<WorkerAgent::Impl> {
  Impl(asio::io_context& i, WorkerAgentOptions o) : io(i), opt(std::move(o)), timer(i) {
    coordinator = opt.join;
    interval = opt.heartbeat_interval;
  }

  void schedule(std::chrono::milliseconds after);
  void tick();
  void dial();            // needs mu
  void send_heartbeat();  // needs mu
  void on_frame(std::uint64_t gen, const wire::FrameHeader& h, std::string_view body);
  void on_closed(std::uint64_t gen, const std::string& reason);
  void note_failure(const std::string& reason);  // needs mu; the coordinator refused us
  void note_waiting(const std::string& reason);  // needs mu; no link to the coordinator

  asio::io_context& io;
  const WorkerAgentOptions opt;
  asio::steady_timer timer;

  mutable std::mutex mu;  // guards everything below
  std::string address;
  std::optional<net::Endpoint> coordinator;
  std::shared_ptr<net::PeerLink> link;
  std::uint64_t generation = 0;
  std::uint64_t next_request_id = 1;
  std::chrono::milliseconds interval;
  bool started = false;
  bool stopped = false;
  bool joined = false;                // the coordinator answered our last heartbeat
  std::string last_failure;           // logged once per outage
  Clock::time_point waiting_since{};  // without a coordinator since; {} while joined
  bool gave_up = false;               // the long wait was logged as a failure
};

void WorkerAgent::Impl::schedule(std::chrono::milliseconds after) {
  timer.expires_after(after);
  timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->tick();
  });
}

void WorkerAgent::Impl::tick() {
  std::chrono::milliseconds next;
  {
    std::lock_guard lock(mu);
    if (stopped) return;
    if (coordinator && !link) {
      dial();
    } else if (link) {
      send_heartbeat();
    }
    next = interval;
  }
  schedule(next);
}

void WorkerAgent::Impl::dial() {
  const std::uint64_t gen = ++generation;
  std::weak_ptr<Impl> weak = weak_from_this();
  net::PeerLink::Handlers h;
  h.on_connected = [weak, gen] {
    if (auto self = weak.lock()) {
      std::lock_guard lock(self->mu);
      if (self->generation == gen && self->link) self->send_heartbeat();  // register at once
    }
  };
  h.on_frames = [weak, gen](std::span<const net::PeerLink::Frame> frames) {
    auto self = weak.lock();
    if (!self) return;
    for (const auto& f : frames) self->on_frame(gen, f.header, f.body);
  };
  h.on_closed = [weak, gen](const std::string& reason) {
    if (auto self = weak.lock()) self->on_closed(gen, reason);
  };
  link = net::PeerLink::start(io, *coordinator, opt.link, std::move(h));
}

void WorkerAgent::Impl::send_heartbeat() {
  pb::WorkerHeartbeat hb;
  hb.set_worker_id(opt.id);
  hb.set_address(address);
  hb.set_capacity(opt.capacity);
  link->send(pb::WORKER_HEARTBEAT, next_request_id++, hb.SerializeAsString());
}

void WorkerAgent::Impl::note_failure(const std::string& reason) {
  if (joined || reason != last_failure) {
    log::warn("join", "fail", {{"coordinator", coordinator ? coordinator->str() : "?"}, {"reason", reason}});
  }
  joined = false;
  last_failure = reason;
}

void WorkerAgent::Impl::note_waiting(const std::string& reason) {
  const std::string where = coordinator ? coordinator->str() : "?";
  const auto now = Clock::now();
  if (joined) {  // a coordinator we had is gone
    log::warn("join", "fail", {{"coordinator", where}, {"reason", reason}});
    joined = false;
    last_failure = reason;
    waiting_since = now;
    gave_up = false;
    return;
  }
  if (waiting_since == Clock::time_point{}) waiting_since = now;
  if (!gave_up && now - waiting_since >= opt.wait_for_coordinator) {
    gave_up = true;
    const double waited_s = std::chrono::duration<double>(opt.wait_for_coordinator).count();
    log::warn("join", "fail",
              {{"coordinator", where},
               {"reason", "no coordinator after " + format_double(waited_s) + " s: " + reason +
                              "; still trying every " + std::to_string(interval.count()) + " ms"}});
  } else if (!gave_up && reason != last_failure) {
    log::info("join", "in_progress", {{"coordinator", where}, {"reason", "waiting for the coordinator: " + reason}});
  }
  last_failure = reason;
}

void WorkerAgent::Impl::on_frame(std::uint64_t gen, const wire::FrameHeader& h, std::string_view body) {
  std::lock_guard lock(mu);
  if (gen != generation || !link) return;
  if (h.type == pb::ERROR) {
    note_failure(net::decode_error(body).message);
    return;
  }
  pb::WorkerHeartbeatResponse resp;
  if (h.type != pb::WORKER_HEARTBEAT_RESPONSE || !resp.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    note_failure("unexpected answer type " + std::to_string(h.type) + " to a heartbeat");
    return;
  }
  if (resp.heartbeat_interval_ms() > 0) {
    interval = std::clamp(std::chrono::milliseconds(resp.heartbeat_interval_ms()), std::chrono::milliseconds(10),
                          std::chrono::milliseconds(60000));
  }
  if (!joined) {
    log::info("join", "success",
              {{"coordinator", coordinator->str()},
               {"coordinator_id", resp.coordinator_id()},
               {"worker", opt.id},
               {"heartbeat_interval_ms", std::to_string(interval.count())}});
  }
  joined = true;
  last_failure.clear();
  waiting_since = {};
  gave_up = false;
}

void WorkerAgent::Impl::on_closed(std::uint64_t gen, const std::string& reason) {
  std::lock_guard lock(mu);
  if (gen != generation) return;
  link.reset();
  if (!stopped) note_waiting(reason);  // the next tick redials
}

WorkerAgent::WorkerAgent(asio::io_context& io, WorkerAgentOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

WorkerAgent::~WorkerAgent() { stop(); }

void WorkerAgent::start(std::string address) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->address = std::move(address);
    impl_->started = true;
  }
  impl_->tick();
}

std::size_t WorkerAgent::stop() {
  std::lock_guard lock(impl_->mu);
  if (impl_->stopped) return 0;
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->timer.cancel(ec);
  if (!impl_->link) return 0;
  impl_->link->close("the worker is shutting down");
  impl_->link.reset();
  return 1;
}

Result<pb::WorkerAttachResponse> WorkerAgent::attach(const pb::WorkerAttachRequest& request) {
  std::lock_guard lock(impl_->mu);
  if (impl_->stopped || !impl_->started) return Error{Errc::shutting_down, "the worker is not running"};
  // Without --join, the coordinator that dials us is the one we report to.
  if (!impl_->opt.join && !request.coordinator_address().empty()) {
    auto ep = net::parse_endpoint(request.coordinator_address());
    if (!ep.ok()) return Error{Errc::invalid_argument, "coordinator address: " + ep.error().message};
    if (!impl_->coordinator || impl_->coordinator->str() != ep->str()) {
      impl_->coordinator = ep.value();
      if (impl_->link) impl_->link->close("another coordinator attached");
      impl_->link.reset();
      impl_->dial();  // a new generation: the old link's callbacks are ignored
    }
  }
  log::info("worker_attach", "success",
            {{"coordinator_id", request.coordinator_id()}, {"coordinator", request.coordinator_address()}});
  pb::WorkerAttachResponse resp;
  resp.set_worker_id(impl_->opt.id);
  resp.set_address(impl_->address);
  resp.set_capacity(impl_->opt.capacity);
  return resp;
}

std::string WorkerAgent::status_json() const {
  std::lock_guard lock(impl_->mu);
  return json::Object()
      .add("coordinator", impl_->coordinator ? impl_->coordinator->str() : "")
      .add("joined", impl_->joined)
      .str();
}

// --- test-only slow parts

namespace {

class SlowPartsRunner final : public apps::TaskRunner {
 public:
  SlowPartsRunner(asio::io_context& io, apps::TaskRunner& inner, std::chrono::milliseconds delay)
      : io_(io), inner_(inner), delay_(delay) {}

  void run(pb::TaskRequest request, apps::TaskCallback done) override {
    if (request.kind() != "sum_squares_range") {
      inner_.run(std::move(request), std::move(done));
      return;
    }
    auto timer = std::make_shared<asio::steady_timer>(io_, delay_);
    timer->async_wait([this, timer, req = std::move(request), done = std::move(done)](
                          const boost::system::error_code&) mutable { inner_.run(std::move(req), std::move(done)); });
  }

 private:
  asio::io_context& io_;
  apps::TaskRunner& inner_;
  std::chrono::milliseconds delay_;
};

}  // namespace

std::unique_ptr<apps::TaskRunner> make_slow_parts_runner(asio::io_context& io, apps::TaskRunner& inner,
                                                         std::chrono::milliseconds delay) {
  return std::make_unique<SlowPartsRunner>(io, inner, delay);
}

}  // namespace minga::cluster
