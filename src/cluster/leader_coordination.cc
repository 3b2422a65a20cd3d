#include "net/asio.h"
// (asio.h first)
#include "cluster/leader_coordination.h"

#include <map>
#include <mutex>
#include <optional>
#include <span>

#include "base/log.h"
#include "net/peer_link.h"
#include "proto/cluster.pb.h"

namespace minga::cluster {

namespace asio = boost::asio;
namespace {

using Clock = std::chrono::steady_clock;
using BodyDone = std::function<void(Result<std::string>)>;

Error shutting_down_error() { return Error{Errc::shutting_down, "the node is shutting down"}; }
Error taking_over_error() {
  return Error{Errc::not_leader, "this node became the leader and is taking over the scheduling; retry"};
}

template <class Message>
std::function<void(Result<std::string>)> parse_into(std::function<void(Result<Message>)> done) {
  return [done = std::move(done)](Result<std::string> body) {
    if (!body.ok()) {
      done(body.error());
      return;
    }
    Message m;
    if (!m.ParseFromString(body.value())) {
      done(Error{Errc::bad_frame, "cannot decode the leader's answer"});
      return;
    }
    done(std::move(m));
  };
}

}  // namespace

struct LeaderCoordination::Impl : std::enable_shared_from_this<LeaderCoordination::Impl> {
  Impl(asio::io_context& i, LeaderCoordinationOptions o, const apps::TaskRegistry& r, apps::TaskRunner& l, LeaderView v)
      : io(i), opt(std::move(o)), registry(r), local(l), view(std::move(v)), timer(i) {
    opt.coordinator.dispatch_type = pb::WORKER_TASK_REQUEST;
  }

  // Where a request goes now: this node's Coordinator, the leader's address,
  // this node's own pool (a plain task while this new leader takes over),
  // or an error (shutting down, no leader, taking over).
  struct Route {
    std::shared_ptr<Coordinator> coordinator;
    std::string forward_to;
    bool local = false;
    std::optional<Error> error;

    static Route to(std::shared_ptr<Coordinator> c) {
      Route r;
      r.coordinator = std::move(c);
      return r;
    }
    static Route forward(std::string address) {
      Route r;
      r.forward_to = std::move(address);
      return r;
    }
    static Route here() {
      Route r;
      r.local = true;
      return r;
    }
    static Route fail(Error e) {
      Route r;
      r.error = std::move(e);
      return r;
    }
  };
  struct Call {
    std::uint32_t expected_type;
    BodyDone done;
    Clock::time_point deadline;
    std::uint64_t generation;  // the link it left on
  };
  using After = std::vector<std::function<void()>>;

  Route route(bool plain_task);
  void forward(const std::string& address, std::uint32_t type, std::string body, std::uint32_t expected_type,
               std::chrono::milliseconds own_wait, BodyDone done);
  void on_frames(std::uint64_t generation, std::span<const net::PeerLink::Frame> frames);
  void on_closed(std::uint64_t generation, const std::string& reason);
  void schedule_watch();
  void watch();

  asio::io_context& io;
  LeaderCoordinationOptions opt;
  const apps::TaskRegistry& registry;
  apps::TaskRunner& local;
  const LeaderView view;
  asio::steady_timer timer;

  mutable std::mutex mu;  // guards everything below; taken before a Coordinator's own lock, never after
  std::shared_ptr<Coordinator> coordinator;  // while this node leads
  bool serving = false;                      // the coordinator has taken over
  Clock::time_point took_over;
  bool accepting = true;
  bool stopped = false;
  // The link to the leader's client port (followers).
  std::shared_ptr<net::PeerLink> link;
  std::string link_address;
  std::uint64_t generation = 0;
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, Call> calls;
};

LeaderCoordination::Impl::Route LeaderCoordination::Impl::route(bool plain_task) {
  std::lock_guard lock(mu);
  if (stopped || !accepting) return Route::fail(shutting_down_error());
  if (coordinator && serving) return Route::to(coordinator);
  // Taking over (or about to: the next watch creates the coordinator). A
  // plain task's answer is the same wherever it runs, so it runs here
  // rather than being refused; a sumsq waits for the members.
  if (coordinator || view.leading()) return plain_task ? Route::here() : Route::fail(taking_over_error());
  std::string leader = view.leader_address();
  if (leader.empty() || leader == opt.self_address) {
    return Route::fail(Error{Errc::not_leader, "no leader now (an election is under way); retry"});
  }
  return Route::forward(std::move(leader));
}

void LeaderCoordination::Impl::forward(const std::string& address, std::uint32_t type, std::string body,
                                       std::uint32_t expected_type, std::chrono::milliseconds own_wait, BodyDone done) {
  std::optional<Error> refused;
  {
    std::lock_guard lock(mu);
    if (stopped) {
      refused = shutting_down_error();
    } else {
      if (!link || link_address != address) {
        auto ep = net::parse_endpoint(address);
        if (!ep.ok()) {
          refused = Error{Errc::unavailable, "the leader's address " + address + ": " + ep.error().message};
        } else {
          if (link) link->close("the leader changed");  // its calls are answered in on_closed
          link_address = address;
          const std::uint64_t gen = ++generation;
          std::weak_ptr<Impl> weak = weak_from_this();
          net::PeerLink::Handlers h;
          h.on_frames = [weak, gen](std::span<const net::PeerLink::Frame> frames) {
            if (auto self = weak.lock()) self->on_frames(gen, frames);
          };
          h.on_closed = [weak, gen](const std::string& reason) {
            if (auto self = weak.lock()) self->on_closed(gen, reason);
          };
          link = net::PeerLink::start(io, ep.value(), opt.coordinator.link, std::move(h));
        }
      }
      if (!refused) {
        const std::uint64_t id = next_id++;
        calls.emplace(id,
                      Call{expected_type, std::move(done), Clock::now() + opt.forward_timeout + own_wait, generation});
        link->send(type, id, body);
        return;
      }
    }
  }
  done(*refused);
}

void LeaderCoordination::Impl::on_frames(std::uint64_t, std::span<const net::PeerLink::Frame> frames) {
  After after;
  {
    std::lock_guard lock(mu);
    for (const auto& [h, body] : frames) {
      auto node = calls.extract(h.request_id);
      if (node.empty()) continue;  // expired already
      Call& c = node.mapped();
      Result<std::string> r = std::string(body);
      if (h.type == pb::ERROR) {
        r = net::decode_error(body);
      } else if (h.type != c.expected_type) {
        r = Error{Errc::bad_frame, "unexpected answer type " + std::to_string(h.type) + " from the leader"};
      }
      after.push_back([done = std::move(c.done), r = std::move(r)]() mutable { done(std::move(r)); });
    }
  }
  for (auto& fn : after) fn();
}

void LeaderCoordination::Impl::on_closed(std::uint64_t gen, const std::string& reason) {
  After after;
  {
    std::lock_guard lock(mu);
    if (gen == generation) link.reset();
    // The outcome is unknown, but tasks are idempotent: the client may send them again.
    const Error e{Errc::not_leader, "the link to the leader broke (" + reason + "); retry"};
    for (auto it = calls.begin(); it != calls.end();) {
      if (it->second.generation != gen) {
        ++it;
        continue;
      }
      after.push_back([done = std::move(it->second.done), e] { done(e); });
      it = calls.erase(it);
    }
  }
  for (auto& fn : after) fn();
}

void LeaderCoordination::Impl::schedule_watch() {
  timer.expires_after(opt.watch_interval);
  timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->watch();
  });
}

void LeaderCoordination::Impl::watch() {
  After after;
  std::shared_ptr<Coordinator> retired;
  {
    std::lock_guard lock(mu);
    if (stopped) return;
    const bool leading = view.leading();
    const auto now = Clock::now();
    if (leading && !coordinator && accepting) {
      coordinator = std::make_shared<Coordinator>(io, opt.coordinator, registry);
      coordinator->start(opt.self_address);
      serving = false;
      took_over = now;
      log::info("coordinator", "in_progress", {{"reason", "this node leads; attaching the members"}});
    } else if (!leading && coordinator) {
      retired = std::move(coordinator);
      serving = false;
      log::info("coordinator", "success", {{"state", "stopped"}, {"reason", "this node no longer leads"}});
    }
    if (coordinator) {
      const auto members = view.members();
      for (const auto& a : members) {
        if (auto ep = net::parse_endpoint(a); ep.ok()) coordinator->add_worker(ep.value());
      }
      if (!serving) {
        std::size_t live = 0;
        const pb::WorkersResponse table = coordinator->workers();
        for (const auto& w : table.workers()) live += w.state() == "live" ? 1 : 0;
        if (live > 0 && (live >= members.size() || now - took_over >= opt.takeover_grace)) {
          serving = true;
          log::info("coordinator", "success",
                    {{"state", "serving"},
                     {"live_workers", std::to_string(live)},
                     {"members", std::to_string(members.size())}});
        }
      }
    }
    // Requests forwarded to a leader that is no longer one (it may hang)
    // are answered now, in on_closed, rather than at their deadline.
    if (link && !calls.empty() && view.leader_address() != link_address) link->close("the leader changed");
    for (auto it = calls.begin(); it != calls.end();) {
      if (it->second.deadline > now) {
        ++it;
        continue;
      }
      after.push_back([done = std::move(it->second.done)] {
        done(Error{Errc::timeout, "the leader did not answer a forwarded request in time"});
      });
      it = calls.erase(it);
    }
  }
  if (retired) retired->stop(Error{Errc::not_leader, "this node lost the leadership before the task finished; retry"});
  for (auto& fn : after) fn();
  schedule_watch();
}

// --- LeaderCoordination

LeaderCoordination::LeaderCoordination(asio::io_context& io, LeaderCoordinationOptions options,
                                       const apps::TaskRegistry& registry, apps::TaskRunner& local, LeaderView view)
    : impl_(std::make_shared<Impl>(io, std::move(options), registry, local, std::move(view))) {}

LeaderCoordination::~LeaderCoordination() { stop(); }

ClusterOps LeaderCoordination::ops() {
  ClusterOps ops;
  std::weak_ptr<Impl> weak = impl_;
  ops.sum_squares = [weak](std::uint64_t n, SumSquaresCallback done) {
    auto self = weak.lock();
    if (!self) return done(shutting_down_error());
    auto r = self->route(false);
    if (r.error) return done(*r.error);
    if (r.coordinator) return r.coordinator->sum_squares(n, std::move(done));
    pb::SumSquaresRequest req;
    req.set_n(n);
    self->forward(r.forward_to, pb::SUM_SQUARES_REQUEST, req.SerializeAsString(), pb::SUM_SQUARES_RESPONSE,
                  std::chrono::milliseconds(0), parse_into<pb::SumSquaresResponse>(std::move(done)));
  };
  ops.workers = [weak](WorkersCallback done) {
    auto self = weak.lock();
    if (!self) return done(shutting_down_error());
    std::shared_ptr<Coordinator> c;
    {
      std::lock_guard lock(self->mu);
      c = self->coordinator;
    }
    if (c) return done(c->workers());  // also while taking over: who attached so far
    auto r = self->route(false);
    if (r.error) return done(*r.error);
    self->forward(r.forward_to, pb::WORKERS_REQUEST, pb::WorkersRequest().SerializeAsString(), pb::WORKERS_RESPONSE,
                  std::chrono::milliseconds(0), parse_into<pb::WorkersResponse>(std::move(done)));
  };
  ops.heartbeat = [weak](const pb::WorkerHeartbeat& hb) -> Result<pb::WorkerHeartbeatResponse> {
    auto self = weak.lock();
    if (!self) return shutting_down_error();
    std::shared_ptr<Coordinator> c;
    {
      std::lock_guard lock(self->mu);
      c = self->coordinator;
    }
    if (!c) return Error{Errc::not_leader, "not the leader; members report to the leader's coordinator"};
    return c->heartbeat(hb);
  };
  return ops;
}

void LeaderCoordination::start(std::string self_address) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->opt.self_address = std::move(self_address);
  }
  impl_->schedule_watch();
}

void LeaderCoordination::stop_accepting() {
  std::lock_guard lock(impl_->mu);
  impl_->accepting = false;
  if (impl_->coordinator) impl_->coordinator->stop_accepting();
}

std::size_t LeaderCoordination::stop() {
  std::shared_ptr<Coordinator> retired;
  Impl::After after;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return 0;
    impl_->stopped = true;
    impl_->accepting = false;
    boost::system::error_code ec;
    impl_->timer.cancel(ec);
    retired = std::move(impl_->coordinator);
    if (impl_->link) impl_->link->close("the node is shutting down");
    for (auto& [id, c] : impl_->calls) {
      after.push_back([done = std::move(c.done)] {
        done(Error{Errc::shutting_down, "the node shut down before the leader answered"});
      });
    }
    impl_->calls.clear();
  }
  const std::size_t closed = retired ? retired->stop() : 0;
  for (auto& fn : after) fn();
  return closed;
}

void LeaderCoordination::run(pb::TaskRequest request, apps::TaskCallback done) {
  const apps::TaskDef* def = impl_->registry.find(request.kind());
  if (def == nullptr) {
    done(Error{Errc::invalid_argument, "unknown task kind '" + request.kind() + "'"});
    return;
  }
  auto r = impl_->route(true);
  if (r.error) {
    done(*r.error);
    return;
  }
  if (r.coordinator) {
    r.coordinator->run(std::move(request), std::move(done));
    return;
  }
  if (r.local) {
    impl_->local.run(std::move(request), std::move(done));
    return;
  }
  std::chrono::milliseconds own_wait{0};
  if (def->wait_seconds) {
    auto wait = def->wait_seconds(request);
    if (!wait.ok()) {
      done(wait.error());
      return;
    }
    own_wait = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(wait.value()));
  }
  impl_->forward(r.forward_to, pb::TASK_REQUEST, request.SerializeAsString(), pb::TASK_RESPONSE, own_wait,
                 parse_into<pb::TaskResponse>(std::move(done)));
}

std::size_t LeaderCoordination::in_flight() const {
  std::shared_ptr<Coordinator> c;
  std::size_t forwarded = 0;
  {
    std::lock_guard lock(impl_->mu);
    c = impl_->coordinator;
    forwarded = impl_->calls.size();
  }
  return forwarded + (c ? c->in_flight() : 0);
}

}  // namespace minga::cluster
