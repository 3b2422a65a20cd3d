// A fault-injecting TCP proxy for tests: it listens on 127.0.0.1 (a port the
// kernel picks) and relays every connection to 127.0.0.1:target, through
// one poll() thread. A test places one between each ordered pair of Raft
// peers (node A dials B through proxy(A→B)), then changes how each one
// treats its traffic while the cluster runs:
//
//   pass        relay bytes both ways at once
//   drop        keep every connection open and discard what arrives (the
//               sender sees a healthy link; its messages vanish)
//   delay N ms  relay each chunk N ms after it arrived (order kept)
//   cut         close every connection and close each new one at accept
//               (the dialler sees a reset, as with a pulled cable)
//
// Buffers are bounded: past `max_buffered_bytes` queued towards one side,
// the proxy stops reading from the other (TCP backpressure, not growth).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

namespace minga::testing {

class FaultProxy {
 public:
  enum class Mode : std::uint8_t { pass, drop, delay, cut };

  // Binds 127.0.0.1:0 and starts relaying to 127.0.0.1:target.
  explicit FaultProxy(std::uint16_t target, std::size_t max_buffered_bytes = 16u << 20);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::uint16_t port() const { return port_; }
  std::uint16_t target() const { return target_; }

  // Each returns once the proxy thread has taken the new mode in (a cut
  // link has closed its connections by then).
  void pass() { set(Mode::pass, std::chrono::milliseconds(0)); }
  void drop() { set(Mode::drop, std::chrono::milliseconds(0)); }
  void delay(std::chrono::milliseconds by) { set(Mode::delay, by); }
  void cut() { set(Mode::cut, std::chrono::milliseconds(0)); }
  Mode mode() const;

  // Connections accepted and bytes relayed to the target since the start
  // (tests check that traffic really goes through the proxy).
  std::uint64_t accepted() const { return accepted_; }
  std::uint64_t relayed_bytes() const { return relayed_; }

 private:
  struct Conn;
  void set(Mode mode, std::chrono::milliseconds delay);
  void run();
  void accept_one();
  void wake();

  const std::uint16_t target_;
  const std::size_t max_buffered_bytes_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  mutable std::mutex mu_;
  std::condition_variable taken_;
  Mode mode_ = Mode::pass;
  std::chrono::milliseconds delay_{0};
  std::uint64_t generation_ = 0, taken_generation_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> accepted_{0}, relayed_{0};
  std::vector<std::unique_ptr<Conn>> conns_;  // the proxy thread's only
  std::thread thread_;
};

// One proxy per ordered pair of n nodes' Raft ports: link(i, j) carries what
// node i sends to node j. port(i, j) is what node i's --peers gives for j.
class FaultNet {
 public:
  explicit FaultNet(const std::vector<std::uint16_t>& raft_ports);
  std::size_t size() const { return n_; }
  FaultProxy& link(std::size_t from, std::size_t to);
  std::uint16_t port(std::size_t from, std::size_t to) { return link(from, to).port(); }

  // Cuts every link from a node of `side` to a node outside it and, unless
  // `one_way`, every link back; the links inside each side stay as they are.
  void isolate(const std::set<std::size_t>& side, bool one_way = false);
  // The same with drop (connections stay open, bytes vanish).
  void drop_between(const std::set<std::size_t>& side);
  // Every link back to pass.
  void heal();

 private:
  std::size_t n_;
  std::vector<std::unique_ptr<FaultProxy>> links_;  // from * n + to (the diagonal unused)
};

}  // namespace minga::testing
