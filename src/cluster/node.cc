#include "net/asio.h"
// (asio.h first)
#include "cluster/node.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "apps/api/status.h"
#include "base/json.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/number.h"
#include "base/thread_name.h"
#include "base/thread_pool.h"
#include "cluster/apps_list.h"
#include "cluster/cluster_ops.h"
#include "cluster/coordinator.h"
#include "cluster/leader_coordination.h"
#include "cluster/local_runner.h"
#include "cluster/worker_agent.h"
#include "http/api.h"
#include "http/dashboard.h"
#include "http/files_api.h"
#include "http/monitor.h"
#include "net/server.h"
#include "proto/cluster.pb.h"
#include "proto/raft.pb.h"
#include "replication/replicator.h"
#include "storage/dir_lock.h"
#include "wire/json_command.h"
#include "wire/text_line.h"

#ifndef MINGA_VERSION
#define MINGA_VERSION "0.0.0"
#endif

namespace minga::cluster {

using Clock = std::chrono::steady_clock;

namespace {

// Slots a member of a Raft cluster offers the leader's coordinator, per thread.
constexpr unsigned kClusterSlotsPerThread = 32;

// The node's id: `wanted` when set, else the one kept in the data dir, else
// a new one kept there. A data dir that belongs to another id is refused.
Result<std::string> resolve_node_id(const std::string& wanted, const std::filesystem::path& data_dir) {
  const auto file = data_dir / "node-id";
  std::string kept;
  if (std::ifstream in(file); in) std::getline(in, kept);
  if (!kept.empty()) {
    if (!wanted.empty() && wanted != kept) {
      return Error{Errc::invalid_argument, "the data dir " + data_dir.string() + " belongs to node '" + kept +
                                               "', not '" + wanted + "' (use another --data-dir, or --id " + kept +
                                               ")"};
    }
    return kept;
  }
  std::string id = wanted;
  if (id.empty()) {
    std::random_device rd;
    char buf[16];
    std::snprintf(buf, sizeof buf, "node-%08x", static_cast<unsigned>(rd()));
    id = buf;
  }
  const auto tmp = data_dir / "node-id.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << id << "\n";
    if (!out.flush()) return Error{Errc::internal, "cannot write " + tmp.string()};
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) return Error{Errc::internal, "cannot write " + file.string() + ": " + ec.message()};
  return id;
}

}  // namespace

struct Node::Impl final : apps::NodeServices, net::Dispatcher {
  Impl(NodeConfig c, SourceSettings s)
      : config(std::move(c)),
        settings_(std::move(s)),
        data_dir_(config.data_dir),
        pool_(config.threads, config.queue_capacity),
        runner_(io, pool_, registry_, config.id, config.max_waiting_tasks),
        server(io, server_options(), *this),
        monitor(io, config.host, config.monitor_port),
        signals(io, SIGINT, SIGTERM) {}

  net::ServerOptions server_options() const {
    net::ServerOptions o;
    o.host = config.host;
    o.port = config.port;
    o.max_connections = config.max_connections;
    o.max_frame_bytes = config.max_frame_bytes;
    o.read_timeout = to_millis(config.read_timeout_seconds);
    o.write_timeout = to_millis(config.write_timeout_seconds);
    return o;
  }

  // --- apps::NodeServices
  const std::string& node_id() const override { return config.id; }
  const std::filesystem::path& data_dir() const override { return data_dir_; }
  const apps::Settings& settings() const override { return settings_; }
  apps::Router& router() override { return router_; }
  apps::TaskRegistry& tasks() override { return registry_; }
  apps::TaskRunner& runner() override { return *active_runner_; }
  ThreadPool& pool() override { return pool_; }
  void add_json_op(std::string op, apps::JsonHandler handler) override {
    json_ops_[std::move(op)] = std::move(handler);
  }
  void add_status_section(std::string name, std::function<std::string()> json) override {
    status_sections_[std::move(name)] = std::move(json);
  }
  void add_metrics(std::function<std::string()> text) override { metric_sources_.push_back(std::move(text)); }
  void add_monitor_json(std::string path, std::function<std::string(std::string_view)> json) override {
    monitor.add_route(std::move(path), [json = std::move(json)](const http::Request& req) {
      return http::Response{200, "application/json", json(req.query) + "\n"};
    });
  }
  void add_monitor_feed(std::string path, std::function<std::vector<std::string>(std::uint64_t&)> next) override {
    monitor.add_feed(std::move(path), std::move(next));
  }
  void add_api_route(apps::ApiRoute route) override { api_routes_.push_back(std::move(route)); }
  apps::Replication& replication() override { return *replicator_; }

  // --- net::Dispatcher
  void on_frame(const wire::FrameHeader& header, std::string_view body, apps::ResponderPtr responder) override {
    const apps::Handler* handler = router_.find(header.type);
    if (handler == nullptr) {
      responder->fail(Errc::unknown_type, "unknown message type " + std::to_string(header.type));
      return;
    }
    (*handler)(body, std::move(responder));
  }

  void on_text_line(std::string_view line, std::function<void(std::string)> reply) override {
    auto cmd = wire::parse_text_line(line);
    if (!cmd.ok()) {
      reply(apps::json_error(cmd.error().message));
      return;
    }
    if (std::holds_alternative<wire::PingCommand>(cmd.value())) {
      reply("PONG");
    } else if (auto* echo = std::get_if<wire::EchoCommand>(&cmd.value())) {
      reply(std::move(echo->text));
    } else {
      run_json(std::get<pb::JsonCommand>(cmd.value()), std::move(reply));
    }
  }

  void run_json(const pb::JsonCommand& cmd, std::function<void(std::string)> reply) {
    const std::string& op = cmd.op().empty() ? cmd.task() : cmd.op();
    if (op.empty()) {
      reply(apps::json_error("a JSON command needs \"op\" or \"task\""));
      return;
    }
    if (auto it = json_ops_.find(op); it != json_ops_.end()) {
      it->second(cmd, std::move(reply));
      return;
    }
    if (const apps::TaskDef* def = registry_.find(op); def != nullptr) {
      if (auto st = wire::require_fields(cmd, def->reads); !st.ok()) {
        reply(apps::json_error(st.error().message));
        return;
      }
    }
    pb::TaskRequest req;
    req.set_kind(op);
    req.set_text(cmd.text());
    req.set_a(cmd.a());
    req.set_b(cmd.b());
    req.set_seconds(cmd.seconds());
    active_runner_->run(std::move(req), [reply = std::move(reply)](Result<pb::TaskResponse> r) {
      reply(r.ok() ? apps::json_ok_raw(apps::task_value_json(r.value())) : apps::json_error(r.error().message));
    });
  }

  // --- roles (docs/coordinator.md)
  // Where other nodes reach this one; the port is known once the server is bound.
  std::string advertised_address() const {
    return config.advertise.empty() ? config.host + ":" + std::to_string(config.port) : config.advertise;
  }

  CoordinatorOptions coordinator_options() const {
    using Seconds = std::chrono::duration<double>;
    CoordinatorOptions o;
    o.id = config.id;
    o.scheduling.policy = parse_policy(config.policy).value();  // validated with the configuration
    o.scheduling.heartbeat_timeout = std::chrono::duration_cast<Time>(Seconds(config.heartbeat_timeout_seconds));
    o.scheduling.task_timeout = std::chrono::duration_cast<Time>(Seconds(config.task_timeout_seconds));
    o.scheduling.max_attempts = config.max_attempts;
    o.scheduling.max_queued = config.queue_capacity;
    o.heartbeat_interval = to_millis(config.heartbeat_interval_seconds);
    o.redial_interval = o.heartbeat_interval;
    for (const auto& w : config.workers) o.static_workers.push_back(net::parse_endpoint(w).value());
    o.link.max_frame_bytes = config.max_frame_bytes;
    return o;
  }

  // A node started with --peers (role both or worker, no --join) is a
  // member of a Raft cluster whose leader coordinates (ADR 007).
  bool coordinated_by_leader() const {
    auto others = config.peers;
    others.erase(config.id);
    return config.role != "coordinator" && config.join.empty() &&
           (!others.empty() || config.cluster_state == "existing");
  }

  // What runs a task on this node itself (a dispatched attempt, a worker's
  // or a `both` node's own task).
  apps::TaskRunner& local_runner() { return slow_parts_ ? *slow_parts_ : static_cast<apps::TaskRunner&>(runner_); }

  void add_worker_agent() {
    WorkerAgentOptions o;
    o.id = config.id;
    // On a Raft cluster the member's pool queue does the waiting, so the
    // leader's dispatch links never run dry (ADR 007).
    o.capacity = coordinated_by_leader() ? config.threads * kClusterSlotsPerThread : config.threads;
    if (!config.join.empty()) o.join = net::parse_endpoint(config.join).value();
    o.heartbeat_interval = to_millis(config.heartbeat_interval_seconds);
    o.wait_for_coordinator = to_millis(config.join_wait_seconds);
    o.link.max_frame_bytes = config.max_frame_bytes;
    agent_ = std::make_unique<WorkerAgent>(io, std::move(o));
    add_status_section("coordinator", [agent = agent_.get()] { return agent->status_json(); });
    if (config.test_part_delay_seconds > 0) {
      slow_parts_ = make_slow_parts_runner(io, runner_, to_millis(config.test_part_delay_seconds));
    }
  }

  // A coordinator runs tasks on its workers; a worker or `both` node runs
  // them itself; a member of a Raft cluster sends them through the leader.
  // Call before the apps start (they may keep runner()).
  void setup_role() {
    if (config.role == "coordinator") {
      coordinator_ = std::make_unique<Coordinator>(io, coordinator_options(), registry_);
      coordinator_->install(*this);
      active_runner_ = coordinator_.get();
      return;
    }
    if (coordinated_by_leader()) {
      add_worker_agent();
      LeaderCoordinationOptions o;
      o.coordinator = coordinator_options();
      LeaderView view;
      view.leading = [this] { return replicator_->leading(); };
      view.leader_address = [this] { return replicator_->leader_client_address(); };
      view.members = [this] { return replicator_->member_client_addresses(); };
      leader_ = std::make_unique<LeaderCoordination>(io, std::move(o), registry_, local_runner(), std::move(view));
      ClusterOps ops = leader_->ops();
      ops.attach = [agent = agent_.get()](const pb::WorkerAttachRequest& r) { return agent->attach(r); };
      add_cluster_ops(*this, config.role, std::move(ops));
      active_runner_ = leader_.get();
      return;
    }
    ClusterOps ops = local_cluster_ops(*this, runner_, config.threads, [this] { return advertised_address(); });
    if (config.role == "worker") {
      add_worker_agent();
      ops.attach = [agent = agent_.get()](const pb::WorkerAttachRequest& r) { return agent->attach(r); };
      active_runner_ = &local_runner();
    }
    add_cluster_ops(*this, config.role, std::move(ops));
  }

  std::uint64_t in_flight() const {
    return runner_.in_flight() + (coordinator_ ? coordinator_->in_flight() : 0) + (leader_ ? leader_->in_flight() : 0) +
           (replicator_ ? replicator_->proposals_in_flight() : 0);
  }

  Result<replication::ReplicatorOptions> replicator_options() const {
    replication::ReplicatorOptions o;
    o.id = config.id;
    o.data_dir = config.data_dir;
    o.peers = config.peers;
    o.peers.erase(config.id);  // a list that holds this node too is accepted
    o.join_existing = config.cluster_state == "existing";
    if (!config.cluster_secret_file.empty()) {
      std::ifstream in(config.cluster_secret_file, std::ios::binary);
      if (!in)
        return Error{Errc::invalid_argument, "cannot read the cluster secret file " + config.cluster_secret_file};
      std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
      if (secret.size() < 16) {
        return Error{Errc::invalid_argument,
                     "the cluster secret in " + config.cluster_secret_file + " is shorter than 16 bytes"};
      }
      o.secret = std::move(secret);
    }
    // Without a secret anyone who reaches the Raft port could join the
    // cluster's conversation, so it listens on loopback only.
    o.raft_host = o.secret.empty() ? "127.0.0.1" : config.host;
    o.raft_port = static_cast<std::uint16_t>(config.raft_port >= 0 ? config.raft_port
                                             : config.port == 0    ? 0
                                                                   : std::min(65535, config.port + 100));
    if (!config.advertise.empty()) {
      auto ep = net::parse_endpoint(config.advertise);
      if (ep.ok()) o.advertise_raft = ep.value().host + ":" + std::to_string(o.raft_port);
    }
    o.tick = std::chrono::milliseconds(config.raft_heartbeat_ms);
    o.heartbeat_ticks = 1;
    o.election_ticks = std::max(2u, config.raft_election_timeout_ms / config.raft_heartbeat_ms);
    o.snapshot_entries = config.raft_snapshot_entries;
    o.max_frame_bytes = config.max_frame_bytes;
    return o;
  }

  // --- core handlers
  void register_core_handlers() {
    router_.add(pb::PING_REQUEST, [](std::string_view body, apps::ResponderPtr r) {
      pb::PingRequest req;
      if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
        r->fail(Errc::bad_frame, "cannot decode PingRequest");
        return;
      }
      pb::PingResponse resp;
      resp.set_payload(req.payload());
      r->reply(pb::PING_RESPONSE, resp);
    });
    router_.add(pb::STATUS_REQUEST,
                [this](std::string_view, apps::ResponderPtr r) { r->reply(pb::STATUS_RESPONSE, status()); });
    // A client's task goes where the role sends it; an attempt dispatched
    // by the Raft leader's coordinator runs here.
    auto task_handler = [this](bool dispatched) {
      return [this, dispatched](std::string_view body, apps::ResponderPtr r) {
        pb::TaskRequest req;
        if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
          r->fail(Errc::bad_frame, "cannot decode TaskRequest");
          return;
        }
        apps::TaskRunner& runner = dispatched ? local_runner() : *active_runner_;
        runner.run(std::move(req), [r = std::move(r)](Result<pb::TaskResponse> result) {
          if (result.ok()) {
            r->reply(pb::TASK_RESPONSE, result.value());
          } else {
            r->fail(result.error());
          }
        });
      };
    };
    router_.add(pb::TASK_REQUEST, task_handler(false));
    router_.add(pb::WORKER_TASK_REQUEST, task_handler(true));
  }

  pb::StatusResponse status() const {
    pb::StatusResponse s;
    s.set_id(config.id);
    s.set_version(MINGA_VERSION);
    s.set_role(config.role);
    s.set_uptime_seconds(std::chrono::duration<double>(Clock::now() - started_at).count());
    s.set_open_connections(server.open_connections());
    s.set_threads(pool_.threads());
    const auto c = runner_.counters();
    auto* t = s.mutable_tasks();
    t->set_queued(c.queued);
    t->set_waiting(c.waiting);
    t->set_running(c.running);
    t->set_done(c.done);
    t->set_failed(c.failed);
    t->set_rejected(c.rejected);
    for (const auto& [name, fn] : status_sections_) (*s.mutable_sections())[name] = fn();
    return s;
  }

  std::string metrics_text() const {
    const auto c = runner_.counters();
    std::string out = metrics::Registry::global().render();
    auto gauge = [&out](const char* name, const char* help, std::uint64_t v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " +
             std::to_string(v) + "\n";
    };
    gauge("minga_open_connections", "Open client connections", server.open_connections());
    gauge("minga_tasks_queued", "Tasks in the pool queue, not yet running", c.queued);
    gauge("minga_tasks_waiting", "Waiting tasks (sleep) whose wait is not over", c.waiting);
    gauge("minga_tasks_running", "Tasks running on the pool", c.running);
    gauge("minga_tasks_rejected", "Tasks refused with busy or shutting_down", c.rejected);
    for (const auto& fn : metric_sources_) out += fn();
    return out;
  }

  void add_monitor_routes() {
    monitor.add_route("/status", [this](const http::Request&) {
      return http::Response{200, "application/json", apps::status_json(status()) + "\n"};
    });
    monitor.add_route("/metrics", [this](const http::Request&) {
      return http::Response{200, "text/plain; version=0.0.4", metrics_text()};
    });
    // For load balancers: 200 only on a leader that heard from a quorum
    // within an election timeout.
    monitor.add_route("/leader", [this](const http::Request&) {
      if (replicator_->leading_with_quorum()) return http::Response{200, "text/plain; charset=utf-8", "leader\n"};
      return http::Response{503, "text/plain; charset=utf-8", "not the leader\n"};
    });
    dashboard_.mount(monitor);  // `/`, the page's files and /api/v1/events (docs/dashboard.md)
  }

  // --- the HTTP/JSON API (docs/api.md)
  template <typename Request, typename Response>
  void api_route(std::string method, std::string path, std::uint32_t request_type, std::uint32_t response_type,
                 std::string fixed_json = {}) {
    add_api_route(apps::api_route<Request, Response>(std::move(method), std::move(path), request_type, response_type,
                                                     std::move(fixed_json)));
  }

  // The node's own routes: ping, status, tasks, sumsq, workers and the
  // cluster's membership; apps add theirs in start().
  void add_core_api_routes() {
    api_route<pb::PingRequest, pb::PingResponse>("GET", "/ping", pb::PING_REQUEST, pb::PING_RESPONSE);
    api_route<pb::StatusRequest, pb::StatusResponse>("GET", "/status", pb::STATUS_REQUEST, pb::STATUS_RESPONSE);
    api_route<pb::TaskRequest, pb::TaskResponse>("POST", "/tasks", pb::TASK_REQUEST, pb::TASK_RESPONSE);
    api_route<pb::SumSquaresRequest, pb::SumSquaresResponse>("POST", "/sumsq", pb::SUM_SQUARES_REQUEST,
                                                             pb::SUM_SQUARES_RESPONSE);
    api_route<pb::WorkersRequest, pb::WorkersResponse>("GET", "/workers", pb::WORKERS_REQUEST, pb::WORKERS_RESPONSE);
    api_route<pb::ClusterStatusRequest, pb::ClusterStatusResponse>("GET", "/cluster", pb::CLUSTER_STATUS_REQUEST,
                                                                   pb::CLUSTER_STATUS_RESPONSE);
    api_route<pb::ClusterChangeRequest, pb::ClusterChangeResponse>(
        "POST", "/cluster/members", pb::CLUSTER_CHANGE_REQUEST, pb::CLUSTER_CHANGE_RESPONSE, R"({"op":"ADD"})");
    api_route<pb::ClusterChangeRequest, pb::ClusterChangeResponse>("DELETE", "/cluster/members/{id}",
                                                                   pb::CLUSTER_CHANGE_REQUEST,
                                                                   pb::CLUSTER_CHANGE_RESPONSE, R"({"op":"REMOVE"})");
    api_route<pb::ClusterChangeRequest, pb::ClusterChangeResponse>(
        "POST", "/cluster/leader", pb::CLUSTER_CHANGE_REQUEST, pb::CLUSTER_CHANGE_RESPONSE, R"({"op":"TRANSFER"})");
  }

  // Builds the API from the routes gathered and mounts it on the monitor.
  Status mount_api() {
    http::ApiOptions options;
    options.loopback = http::is_loopback_host(config.host);
    if (!config.api_token_file.empty()) {
      std::ifstream in(config.api_token_file, std::ios::binary);
      if (!in) return Error{Errc::invalid_argument, "cannot read the API token file " + config.api_token_file};
      std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
      if (token.size() < 16) {
        return Error{Errc::invalid_argument, "the API token in " + config.api_token_file + " is shorter than 16 bytes"};
      }
      options.token = std::move(token);
    }
    api_ = std::make_unique<http::Api>(std::move(options),
                                       [this](std::uint32_t type, std::string body, wire::ResponderPtr responder) {
                                         on_frame(wire::FrameHeader{.type = type}, body, std::move(responder));
                                       });
    for (auto& route : api_routes_) {
      if (auto st = api_->add(std::move(route)); !st.ok()) return st;
    }
    api_routes_.clear();
    // A file's bytes, streamed through the files app's frames (http/files_api.h).
    if (auto st = http::add_file_routes(*api_); !st.ok()) return st;
    monitor.add_stream_select(std::string(http::kApiPrefix),
                              [api = api_.get()](const http::Request& head) { return api->stream(head); });
    monitor.add_async_prefix(
        std::string(http::kApiPrefix),
        [api = api_.get()](const http::Request& request, std::function<void(http::Response)> done) {
          api->handle(request, std::move(done));
        });
    return ok_status();
  }

  // --- lifecycle
  int run();
  void wait_signal();
  void begin_shutdown(int signo);
  net::awaitable<void> drain();

  NodeConfig config;
  SourceSettings settings_;
  std::filesystem::path data_dir_;
  boost::asio::io_context io;
  ThreadPool pool_;
  apps::TaskRegistry registry_;
  apps::Router router_;
  LocalRunner runner_;
  apps::TaskRunner* active_runner_ = &runner_;
  std::unique_ptr<Coordinator> coordinator_;      // role coordinator
  std::unique_ptr<LeaderCoordination> leader_;    // a member of a Raft cluster
  std::unique_ptr<WorkerAgent> agent_;            // role worker, or a member of a Raft cluster
  std::unique_ptr<apps::TaskRunner> slow_parts_;  // role worker with --test-part-delay
  std::map<std::string, apps::JsonHandler, std::less<>> json_ops_;
  std::map<std::string, std::function<std::string()>> status_sections_;
  std::vector<std::function<std::string()>> metric_sources_;
  // Declared before the apps, so destroyed after them: an app's threads may
  // use the replicated log until the app stops (also when start fails).
  std::unique_ptr<replication::Replicator> replicator_;
  std::vector<std::unique_ptr<apps::App>> apps_;
  std::vector<apps::ApiRoute> api_routes_;
  std::unique_ptr<http::Api> api_;
  net::Server server;
  http::Monitor monitor;
  http::Dashboard dashboard_;  // stopped before the monitor, destroyed first
  boost::asio::signal_set signals;
  Clock::time_point started_at = Clock::now();
  bool shutting_down = false;
};

void Node::Impl::wait_signal() {
  signals.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (shutting_down) {
      log::warn("shutdown", "fail", {{"reason", "second signal; exiting at once"}, {"signal", std::to_string(signo)}});
      std::_Exit(1);
    }
    begin_shutdown(signo);
    wait_signal();
  });
}

void Node::Impl::begin_shutdown(int signo) {
  shutting_down = true;
  log::info("shutdown", "in_progress",
            {{"signal", signo == SIGTERM ? "SIGTERM" : "SIGINT"},
             {"drain_timeout_s", format_double(config.drain_timeout_seconds)}});
  server.stop_accepting();
  log::info("shutdown", "success",
            {{"resource", "client_listener"}, {"address", config.host + ":" + std::to_string(config.port)}});
  runner_.stop_accepting();
  if (coordinator_) coordinator_->stop_accepting();
  if (leader_) leader_->stop_accepting();
  boost::asio::co_spawn(io, drain(), boost::asio::detached);
}

net::awaitable<void> Node::Impl::drain() {
  boost::asio::steady_timer timer(io);
  const auto deadline = Clock::now() + to_millis(config.drain_timeout_seconds);
  while (in_flight() > 0 && Clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
  if (const auto left = in_flight(); left > 0) {
    log::warn("drain", "fail", {{"abandoned_tasks", std::to_string(left)}});
  } else {
    log::info("drain", "success", {{"in_flight_tasks", "0"}});
  }
  // A coordinator answers what is still pending with shutting_down before
  // the sessions flush, so those clients get an answer, not a closed
  // connection.
  if (coordinator_ || leader_) {
    const std::size_t links = coordinator_ ? coordinator_->stop() : leader_->stop();
    log::info("shutdown", "success", {{"resource", "worker_links"}, {"count", std::to_string(links)}});
  }
  // Let sessions write the answers they hold, then close the stragglers.
  const std::size_t open = server.open_connections();
  server.finish_all();
  const auto flush_deadline = Clock::now() + std::chrono::seconds(2);
  while (server.open_connections() > 0 && Clock::now() < flush_deadline) {
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
  server.close_all();
  log::info("shutdown", "success", {{"resource", "client_sessions"}, {"count", std::to_string(open)}});
  if (agent_) {
    const std::size_t links = agent_->stop();
    log::info("shutdown", "success", {{"resource", "coordinator_link"}, {"count", std::to_string(links)}});
  }
  dashboard_.stop();
  monitor.stop();
  replicator_->stop();
  for (auto it = apps_.rbegin(); it != apps_.rend(); ++it) (*it)->stop();
  boost::system::error_code ec;
  signals.cancel(ec);
  io.stop();
}

int Node::Impl::run() {
  std::error_code fs_ec;
  std::filesystem::create_directories(data_dir_, fs_ec);
  if (fs_ec) {
    log::warn("node_start", "fail", {{"reason", "cannot create data dir " + config.data_dir + ": " + fs_ec.message()}});
    return 1;
  }
  // Held until run() returns: a second node on this directory refuses to start.
  auto dir_lock = storage::DirLock::acquire(config.data_dir);
  if (!dir_lock.ok()) {
    log::warn("node_start", "fail", {{"reason", dir_lock.error().message}});
    return 1;
  }
  if (auto id = resolve_node_id(config.id, data_dir_); !id.ok()) {
    log::warn("node_start", "fail", {{"reason", id.error().message}});
    return 1;
  } else if (config.id != id.value()) {
    config.id = id.value();
    log::rename(config.id);  // the log lines name the node from here on
    runner_.set_node_id(config.id);
  }
  auto ropts = replicator_options();
  if (!ropts.ok()) {
    log::warn("node_start", "fail", {{"reason", ropts.error().message}});
    return 2;
  }
  replicator_ = std::make_unique<replication::Replicator>(io, std::move(ropts.value()));
  add_status_section("raft", [this] { return replicator_->status_json(); });
  add_metrics([this] { return replicator_->metrics_text(); });
  register_core_handlers();
  add_core_api_routes();
  setup_role();
  apps_ = make_apps();
  for (auto& app : apps_) {
    if (auto st = app->start(*this); !st.ok()) {
      log::warn("node_start", "fail", {{"app", std::string(app->name())}, {"reason", st.error().message}});
      return 1;
    }
  }
  if (auto st = check_no_unknown_keys(settings_); !st.ok()) {
    log::warn("node_start", "fail", {{"reason", st.error().message}});
    return 2;  // a configuration error, like a bad flag
  }
  if (auto st = mount_api(); !st.ok()) {
    log::warn("node_start", "fail", {{"reason", st.error().message}});
    return 2;  // the token file, like a bad flag
  }
  auto port = server.start();
  if (!port.ok()) {
    log::warn("node_start", "fail", {{"reason", port.error().message}});
    return 1;
  }
  config.port = port.value();
  if (coordinator_) coordinator_->start(advertised_address());
  if (agent_) agent_->start(advertised_address());
  if (leader_) leader_->start(advertised_address());
  add_monitor_routes();
  auto mport = monitor.start();
  if (!mport.ok()) {
    log::warn("node_start", "fail", {{"reason", mport.error().message}});
    return 1;
  }
  config.monitor_port = mport.value();
  dashboard_.start(
      (config.host == "0.0.0.0" ? std::string("127.0.0.1") : config.host) + ":" + std::to_string(config.monitor_port),
      config.id);
  if (auto st =
          replicator_->start(router_, advertised_address(), config.host + ":" + std::to_string(config.monitor_port));
      !st.ok()) {
    log::warn("node_start", "fail", {{"reason", st.error().message}});
    return 1;
  }
  wait_signal();
  log::info("node_start", "success",
            {{"id", config.id},
             {"role", config.role},
             {"address", config.host + ":" + std::to_string(config.port)},
             {"monitor", "http://" + config.host + ":" + std::to_string(config.monitor_port) + "/"},
             {"raft", replicator_->raft_address()},
             {"threads", std::to_string(pool_.threads())},
             {"data_dir", config.data_dir}});

  std::vector<std::thread> extra;
  for (unsigned i = 1; i < config.io_threads; ++i) {
    extra.push_back(named_thread("minga-io", [this] { io.run(); }));
  }
  io.run();
  for (auto& t : extra) t.join();

  const unsigned threads = pool_.threads();
  pool_.shutdown();
  log::info("shutdown", "success", {{"resource", "task_pool"}, {"threads", std::to_string(threads)}});
  log::info("shutdown", "success", {{"resource", "node"}, {"id", config.id}, {"exit_code", "0"}});
  return 0;
}

Node::Node(NodeConfig config, SourceSettings settings)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(settings))) {}
Node::~Node() = default;
int Node::run() { return impl_->run(); }

}  // namespace minga::cluster
