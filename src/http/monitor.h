// The HTTP monitor: a small HTTP/1.1 server for people, scrapers and the JSON API.
//
// Built-in routes: `/healthz`, `/logs` (`?n=` lines, `?after=N` the lines
// after sequence number N, or a live tail with `Accept: text/event-stream`).
// The node adds `/status`, `/metrics`, the dashboard at `/`
// (http/dashboard.h) and the JSON API under /api/v1 (http/api.h) as an
// asynchronous prefix route, the only place that takes methods other than
// GET and HEAD.
// Handlers run on the I/O thread and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "base/result.h"
#include "http/message.h"

namespace minga::http {

using Route = std::function<Response(const Request&)>;
// A live feed: returns the events after `cursor` (0 on the first call), each
// one SSE data line, and moves `cursor` past them. Polled on the I/O thread.
using Feed = std::function<std::vector<std::string>(std::uint64_t& cursor)>;
// A handler that answers later: it calls `done` once, from any thread, and
// must not block. The connection waits for it without holding the I/O
// thread; an answer after the connection closed is dropped.
using AsyncRoute = std::function<void(const Request& request, std::function<void(Response)> done)>;

// Request bodies above this are refused with 413 (streamed ones aside).
inline constexpr std::size_t kMaxBodyBytes = 1024 * 1024;

class Monitor {
 public:
  Monitor(boost::asio::io_context& io, std::string host, std::uint16_t port);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Adds or replaces the handler of an exact path. Call before start().
  void add_route(std::string path, Route route);
  // `GET path` with `Accept: text/event-stream` streams `feed` (every event
  // since the start, then new ones as they come); other requests for `path`
  // go to its route. Call before start().
  void add_feed(std::string path, Feed feed);
  // Every request whose path is `prefix` or starts with `prefix` + '/', with
  // any method, goes to `route`. Call before start().
  void add_async_prefix(std::string prefix, AsyncRoute route);
  // Requests under `prefix` are first shown to `select` with their head
  // only; one it takes is streamed (http/message.h, Exchange), any other
  // is read whole (at most kMaxBodyBytes) and routed as usual. Call before
  // start().
  void add_stream_select(std::string prefix, StreamSelect select);
  // Binds and starts accepting; returns the bound port (useful with port 0).
  Result<std::uint16_t> start();
  // Closes the listener and every connection, live tails included. Logs once.
  void stop();
  std::size_t open_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The decoded value of `key` in a query string ("n=5&x=y"), or "" if absent.
std::string query_param(std::string_view query, std::string_view key);

}  // namespace minga::http
