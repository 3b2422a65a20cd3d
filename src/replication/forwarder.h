// A follower's writes, forwarded to the leader's client port as
// PROPOSE_REQUEST frames on one persistent link, and the leader's answers
// relayed back. Many proposals share the link (pipelined by request id).
//
// Outcomes: the leader's answer; `unavailable` when the leader cannot be
// dialled (nothing was sent); `timeout` when the link broke or no answer
// came in time after the request left (the outcome is unknown).
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
  Forwarder(boost::asio::io_context& io, std::chrono::milliseconds timeout, std::size_t max_frame_bytes);
  ~Forwarder();

  // Thread-safe.
  void forward(const std::string& leader_address, std::string app, std::string command, ForwardDone done);
  // Answers requests older than the timeout. Call every tick.
  void tick();
  void stop();

 private:
  struct Call {
    ForwardDone done;
    std::chrono::steady_clock::time_point deadline;
    std::uint64_t generation = 0;  // the link it was queued on
  };
  void on_frames(std::span<const net::PeerLink::Frame> frames);
  void on_closed(std::uint64_t generation, const std::string& reason);

  boost::asio::io_context& io_;
  std::chrono::milliseconds timeout_;
  std::size_t max_frame_bytes_;
  std::mutex mu_;
  std::shared_ptr<net::PeerLink> link_;
  std::string address_;
  std::uint64_t generation_ = 0;
  bool connected_ = false;
  bool stopped_ = false;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Call> calls_;
};

}  // namespace minga::replication
