// The client port: one listener, one session per connection.
//
// A session reads its first byte to choose a mode: 0xF9 opens binary frames
// (wire/frame.h), anything else is the line-based text mode. Binary requests
// are dispatched as they are decoded, so many can be in flight on one
// connection and answers may come back out of order; text answers keep the
// order of the lines.
//
// Deadlines: a connection with no request in flight and no byte received for
// read_timeout is closed, and so is one whose frame or text line is not
// complete within read_timeout of its first byte (a slow drip); a write that
// cannot finish within write_timeout closes the connection. A connection with max_inflight_per_connection
// unanswered requests stops being read until answers drain (backpressure).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "base/result.h"
#include "wire/frame.h"
#include "wire/responder.h"

namespace boost::asio {
class io_context;
}

namespace minga::net {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: ephemeral
  std::size_t max_connections = 10000;
  std::size_t max_frame_bytes = wire::kDefaultMaxBodyBytes;
  std::size_t max_inflight_per_connection = 4096;
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{10000};
};

// What the node does with decoded input. Called on the session's strand.
class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  virtual void on_frame(const wire::FrameHeader& header, std::string_view body, wire::ResponderPtr responder) = 0;
  // One answer line (without newline) per input line.
  virtual void on_text_line(std::string_view line, std::function<void(std::string)> reply) = 0;
};

class Session;

class Server {
 public:
  Server(boost::asio::io_context& io, ServerOptions options, Dispatcher& dispatcher);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting; returns the bound port.
  Result<std::uint16_t> start();
  // Closes the listener; open sessions keep being served.
  void stop_accepting();
  // Asks every session to stop reading, write the answers it already has,
  // answer every request still unanswered with `shutting_down`, and close.
  void finish_all();
  // Closes every open session now. Returns how many were closed.
  std::size_t close_all();

  std::size_t open_connections() const;
  std::uint64_t accepted_total() const;

 private:
  friend class Session;
  void forget(Session* s);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace minga::net
