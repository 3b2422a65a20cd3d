// An outgoing framed connection to another node: the coordinator's dispatch
// link to a worker, and a worker's heartbeat link to its coordinator.
//
// Asynchronous (Asio coroutines on the link's own strand): it resolves and
// connects within connect_timeout, then hands the frames decoded from each
// read to on_frames, all at once, so a burst of answers costs its owner one
// call. send() queues a frame from any thread and never blocks; frames sent
// while a write is in progress, or from several threads at once, leave in
// one write. The link
// never reconnects by itself: when connecting fails, the peer closes, a frame
// is bad, the write queue passes max_queued_bytes or close() is called, it
// calls on_closed once with the reason and is finished. Its owner decides
// whether and when to dial again.
//
// Handlers run on the link's strand, one at a time, never inside send() or
// close(); they may call send() and close(). After on_closed no handler runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "net/client.h"
#include "wire/frame.h"

namespace boost::asio {
class io_context;
}

namespace minga::net {

struct PeerLinkOptions {
  std::chrono::milliseconds connect_timeout{2000};
  std::size_t max_frame_bytes = wire::kDefaultMaxBodyBytes;
  std::size_t max_queued_bytes = 64u << 20;  // a peer that stops reading is dropped
};

class PeerLink {
 public:
  struct Frame {
    wire::FrameHeader header;
    std::string_view body;  // valid only during the on_frames call
  };
  struct Handlers {
    std::function<void()> on_connected;
    // Every complete frame of one read, in arrival order (never empty).
    std::function<void(std::span<const Frame> frames)> on_frames;
    std::function<void(const std::string& reason)> on_closed;
    // After each write to the socket completed (for a sender that paces a
    // long stream by queued_bytes()).
    std::function<void()> on_written;
  };

  // Starts connecting to `peer` at once.
  static std::shared_ptr<PeerLink> start(boost::asio::io_context& io, Endpoint peer, PeerLinkOptions options,
                                         Handlers handlers);
  ~PeerLink();
  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;

  // Thread-safe. Frames sent before the connection is up wait for it; frames
  // sent after the link closed are dropped (on_closed tells the owner).
  void send(std::uint32_t type, std::uint64_t request_id, std::string_view body);
  // Thread-safe: bytes of frames sent and not yet written to the socket.
  std::size_t queued_bytes() const;
  // Thread-safe; on_closed runs with `reason` unless the link already closed.
  void close(std::string reason = "closed");
  const Endpoint& peer() const { return peer_; }

 private:
  struct Impl;
  PeerLink(Endpoint peer, std::shared_ptr<Impl> impl) : peer_(std::move(peer)), impl_(std::move(impl)) {}
  Endpoint peer_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace minga::net
