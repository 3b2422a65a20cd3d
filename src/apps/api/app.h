// The contract between the node and its apps (text, calc, lottery, ...).
// An app registers what it serves in start(); the node's composition root
// (cluster/node.cc) is the only place that lists the apps.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/api/handlers.h"
#include "apps/api/replicated.h"
#include "apps/api/tasks.h"
#include "base/result.h"
#include "wire/api_route.h"

namespace minga {
class ThreadPool;
}

namespace minga::apps {

// One row of the HTTP/JSON API (docs/api.md, wire/api_route.h).
using ApiRoute = wire::ApiRoute;

// api_route<pb::WinnersRequest, pb::LotteryResponse>("GET", "/lottery/...",
// pb::WINNERS_REQUEST, pb::LOTTERY_RESPONSE)
template <typename Request, typename Response>
ApiRoute api_route(std::string method, std::string path, std::uint32_t request_type, std::uint32_t response_type,
                   std::string fixed_json = {}) {
  return ApiRoute{std::move(method),    std::move(path),
                  request_type,         &Request::default_instance(),
                  response_type,        &Response::default_instance(),
                  std::move(fixed_json)};
}

// Configuration as apps see it: environment variable over configuration-file
// key over the default the app passes.
class Settings {
 public:
  virtual ~Settings() = default;
  // `file_key` is a dotted TOML path ("lottery.agencies"); `env_key` may be
  // empty when the setting has no environment variable.
  virtual std::optional<std::string> get(std::string_view file_key, std::string_view env_key) const = 0;
  Result<std::int64_t> get_int(std::string_view file_key, std::string_view env_key, std::int64_t fallback) const;
  // A number parsed strictly (`2.5`, `1e3`).
  Result<double> get_double(std::string_view file_key, std::string_view env_key, double fallback) const;
  std::string get_string(std::string_view file_key, std::string_view env_key, std::string fallback) const;
};

class NodeServices {
 public:
  virtual ~NodeServices() = default;
  virtual const std::string& node_id() const = 0;
  virtual const std::filesystem::path& data_dir() const = 0;
  virtual const Settings& settings() const = 0;
  virtual Router& router() = 0;
  virtual TaskRegistry& tasks() = 0;
  // Runs a task where the node's role says: locally, or on a worker.
  virtual TaskRunner& runner() = 0;
  virtual ThreadPool& pool() = 0;
  // Text-mode JSON op (`{"op":"<op>",...}`), checked before task kinds.
  virtual void add_json_op(std::string op, JsonHandler handler) = 0;
  // A section of /status (and `minga status`): returns one JSON value.
  virtual void add_status_section(std::string name, std::function<std::string()> json) = 0;
  // Extra lines for /metrics in Prometheus text format.
  virtual void add_metrics(std::function<std::string()> prometheus_text) = 0;
  // A JSON page on the monitor at exactly `path`; `query` is what follows
  // '?'. Runs on an I/O thread: must not block.
  virtual void add_monitor_json(std::string path, std::function<std::string(std::string_view query)> json) = 0;
  // The live form of that page (`Accept: text/event-stream`): `next(cursor)`
  // returns the JSON events after `cursor` (0 at first) and moves it.
  virtual void add_monitor_feed(std::string path,
                                std::function<std::vector<std::string>(std::uint64_t& cursor)> next) = 0;
  // A route of the HTTP/JSON API under /api/v1: `method path` stands for the
  // request `request_type`, which the router dispatches like a frame. Call
  // in start().
  virtual void add_api_route(ApiRoute route) = 0;
  // The cluster's replicated log (apps/api/replicated.h).
  virtual Replication& replication() = 0;
};

class App {
 public:
  virtual ~App() = default;
  virtual std::string_view name() const = 0;
  // Registers handlers and recovers durable state. An error stops the node.
  virtual Status start(NodeServices& node) = 0;
  // Called once during shutdown after the listeners closed and in-flight work
  // drained; closes the app's files and threads and logs each one.
  virtual void stop() {}
};

}  // namespace minga::apps
