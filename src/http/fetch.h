// A blocking HTTP/1.1 GET with a deadline, for the dashboard's thread that
// asks the members' monitors (http/dashboard.h). POSIX sockets, no Asio: it
// runs off the I/O threads and holds nothing but its own socket.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace minga::http {

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// One GET over a fresh connection to HOST:PORT, bounded by `timeout` from
// connect to the last byte; nullopt when the peer cannot be reached or does
// not answer in time.
std::optional<Reply> fetch(const std::string& host_port, const std::string& path, std::chrono::milliseconds timeout);

}  // namespace minga::http
