// The HTTP monitor: a small read-only HTTP/1.1 server for people and scrapers.
//
// Built-in routes: `/` (an index page), `/healthz`, `/logs` (`?n=` lines, or a
// live tail with `Accept: text/event-stream`). The node adds `/status` and
// `/metrics`. Handlers run on the I/O thread and must not block.
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

namespace minga::http {

struct Request {
  std::string method;
  std::string target;  // path and query as sent
  std::string path;
  std::string query;   // after '?', without it
  std::string accept;  // the Accept header
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Route = std::function<Response(const Request&)>;
// A live feed: returns the events after `cursor` (0 on the first call), each
// one SSE data line, and moves `cursor` past them. Polled on the I/O thread.
using Feed = std::function<std::vector<std::string>(std::uint64_t& cursor)>;

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
