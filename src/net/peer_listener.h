// The Raft port: accepts peer connections and hands their frames to the
// owner. Each connection is read on its own strand with a deadline on every
// read (a peer that sends nothing for read_timeout is dropped); a bad frame
// header, a body above max_frame_bytes, or a `false` from on_frames closes
// it. The listener writes only once: an ERROR frame with the reason when the
// owner refuses a connection, so the dialer learns why; answers travel on the
// link the other node dialled (docs/cluster.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "base/result.h"
#include "net/peer_link.h"

namespace boost::asio {
class io_context;
}

namespace minga::net {

struct PeerListenerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: ephemeral
  std::size_t max_frame_bytes = 64u << 20;
  std::size_t max_connections = 256;
  std::chrono::milliseconds read_timeout{5000};
};

class PeerListener {
 public:
  struct Handlers {
    // Frames of one read, in order. `connection` is unique per connection in
    // this process. Return false (with `reason` set) to close the connection;
    // the reason goes to the peer in an ERROR frame first.
    std::function<bool(std::uint64_t connection, const std::string& remote, std::span<const PeerLink::Frame> frames,
                       std::string& reason)>
        on_frames;
    // Once per connection, after the last on_frames.
    std::function<void(std::uint64_t connection, const std::string& remote, const std::string& reason)> on_closed;
  };

  PeerListener(boost::asio::io_context& io, PeerListenerOptions options, Handlers handlers);
  ~PeerListener();
  PeerListener(const PeerListener&) = delete;
  PeerListener& operator=(const PeerListener&) = delete;

  // Binds and starts accepting; returns the bound port.
  Result<std::uint16_t> start();
  // Closes the listener and every connection.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace minga::net
