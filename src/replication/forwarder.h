// A follower's writes, forwarded to the leader's client port as
// PROPOSE_REQUEST frames on one persistent link, and the leader's answers
// relayed back. Many proposals share the link (pipelined by request id).
//
// A new link first pings the leader; proposals wait (unsent) until the
// answer, so that a link that connects but carries nothing (a leader whose
// port accepts and closes, a cut or black-holed path) is found out before
// anything of the client's has left. A link with no ping answer within
// connect_timeout is closed.
//
// Outcomes: the leader's answer; `not_leader` ("retry") when the leader
// could not be reached and nothing was sent; `timeout` when the link broke
// or no answer came in time after the request left (the outcome is
// unknown).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/result.h"
#include "net/peer_link.h"

namespace boost::asio {
class io_context;
}

namespace minga::replication {

// The leader's answer: what the app's apply() returned.
using ForwardDone = std::function<void(Result<std::string>)>;

class Forwarder {
 public:
  Forwarder(boost::asio::io_context& io, std::chrono::milliseconds timeout, std::size_t max_frame_bytes,
            std::chrono::milliseconds connect_timeout = std::chrono::milliseconds(1000));
  ~Forwarder();

  // Thread-safe.
  void forward(const std::string& leader_address, std::string app, std::string command, ForwardDone done);
  // Answers requests older than the timeout and closes a link whose ping
  // went unanswered. Call every tick.
  void tick();
  void stop();

 private:
  struct Call {
    ForwardDone done;
    std::chrono::steady_clock::time_point deadline;
    std::uint64_t generation = 0;  // the link it was queued on
    std::string body;              // the request, until it is sent
    bool sent = false;
  };
  void on_frames(std::uint64_t generation, std::span<const net::PeerLink::Frame> frames);
  void on_closed(std::uint64_t generation, const std::string& reason);

  boost::asio::io_context& io_;
  std::chrono::milliseconds timeout_;
  std::size_t max_frame_bytes_;
  std::chrono::milliseconds connect_timeout_;
  std::mutex mu_;
  std::shared_ptr<net::PeerLink> link_;
  std::string address_;
  std::uint64_t generation_ = 0;
  bool ready_ = false;  // the current link answered its ping
  std::chrono::steady_clock::time_point ping_deadline_;
  bool stopped_ = false;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Call> calls_;
};

}  // namespace minga::replication
