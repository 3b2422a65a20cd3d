// Binding a listening socket, shared by the client port and the Raft port.
#pragma once

#include "net/asio.h"
// (asio.h first: see the note there)
#include <cstdint>
#include <string>

#include "base/result.h"

namespace minga::net {

// Opens `acceptor` on host:port (port 0: any free one) with SO_REUSEADDR and
// starts listening; returns the bound port. `what` names the port in errors
// ("" for the client port, " (Raft port)", ...).
inline Result<std::uint16_t> bind_and_listen(tcp::acceptor& acceptor, const std::string& host, std::uint16_t port,
                                             const std::string& what = "") {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return Error{Errc::invalid_argument, "invalid host '" + host + "': " + ec.message()};
  tcp::endpoint ep(address, port);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return Error{Errc::invalid_argument,
                 "cannot listen on " + host + ":" + std::to_string(port) + what + ": " + ec.message()};
  }
  return acceptor.local_endpoint().port();
}

}  // namespace minga::net
