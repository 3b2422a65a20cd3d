// The live dashboard (docs/dashboard.md): the page embedded in the binary
// (http/assets.h) and the one Server-Sent Events stream that carries every
// live update to it, /api/v1/events.
//
// While a page is subscribed, a thread of the serving node gathers the
// cluster's state every kDashboardPollInterval: each member's
// /api/v1/cluster, /metrics and new log lines through the members' monitor
// addresses, and this node's records, files, ML jobs, lottery and workers
// through its own API. The page talks to this one origin only. Without
// subscribers the thread only waits.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace minga::http {

class Monitor;

inline constexpr std::chrono::milliseconds kDashboardPollInterval{500};
inline constexpr std::string_view kEventsPath = "/api/v1/events";

class Dashboard {
 public:
  Dashboard();
  ~Dashboard();
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  // Serves `/`, the page's files and the event stream. Before monitor.start().
  void mount(Monitor& monitor);
  // Starts gathering; `self_monitor` is this node's monitor HOST:PORT.
  void start(std::string self_monitor, std::string node_id);
  void stop();

  // The events for a subscriber at `cursor` (0: a snapshot of the whole
  // state first), each one JSON object with a "type".
  std::vector<std::string> events(std::uint64_t& cursor);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace minga::http
