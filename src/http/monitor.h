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

class Monitor {
 public:
  Monitor(boost::asio::io_context& io, std::string host, std::uint16_t port);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Adds or replaces the handler of an exact path. Call before start().
  void add_route(std::string path, Route route);
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
