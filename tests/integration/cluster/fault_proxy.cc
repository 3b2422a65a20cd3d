#include "fault_proxy.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <stdexcept>
#include <string>

namespace minga::testing {
namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// A blocking connect bounded by a send timeout (loopback answers at once
// unless the target's backlog is full), then non-blocking.
int dial(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{0, 500 * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const sockaddr_in a = loopback(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  set_nonblocking(fd);
  set_nodelay(fd);
  return fd;
}

}  // namespace

struct FaultProxy::Conn {
  struct Chunk {
    Clock::time_point at;  // when it may be written on
    std::string bytes;
    std::size_t offset = 0;
  };
  // side 0: the dialler (accepted), side 1: the target.
  int fd[2] = {-1, -1};
  std::deque<Chunk> towards[2];  // towards[s]: to be written to fd[s]
  std::size_t queued[2] = {0, 0};
  bool dead = false;

  ~Conn() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  bool ready(int side, Clock::time_point now) const {
    return !towards[side].empty() && towards[side].front().at <= now;
  }
};

FaultProxy::FaultProxy(std::uint16_t target, std::size_t max_buffered_bytes)
    : target_(target), max_buffered_bytes_(max_buffered_bytes) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 64) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      ::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    throw std::runtime_error("fault proxy: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(a.sin_port);
  set_nonblocking(listen_fd_);
  thread_ = std::thread([this] { run(); });
}

FaultProxy::~FaultProxy() {
  stop_ = true;
  wake();
  thread_.join();
  conns_.clear();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void FaultProxy::set(Mode mode, std::chrono::milliseconds delay) {
  std::unique_lock lock(mu_);
  mode_ = mode;
  delay_ = delay;
  const std::uint64_t want = ++generation_;
  wake();
  taken_.wait(lock, [&] { return taken_generation_ >= want; });
}

FaultProxy::Mode FaultProxy::mode() const {
  std::lock_guard lock(mu_);
  return mode_;
}

void FaultProxy::wake() {
  const char c = 0;
  [[maybe_unused]] auto n = ::write(wake_[1], &c, 1);
}

void FaultProxy::accept_one() {
  const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  ++accepted_;
  if (mode() == Mode::cut) {
    // SO_LINGER 0: the dialler gets a reset, not a clean end of stream.
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
    return;
  }
  const int up = dial(target_);
  if (up < 0) {
    ::close(fd);
    return;
  }
  set_nodelay(fd);
  auto c = std::make_unique<Conn>();
  c->fd[0] = fd;
  c->fd[1] = up;
  conns_.push_back(std::move(c));
}

void FaultProxy::run() {
  std::vector<pollfd> fds;
  std::vector<char> buf(64 * 1024);
  while (!stop_) {
    Mode mode;
    std::chrono::milliseconds delay;
    std::uint64_t generation;
    {
      std::lock_guard lock(mu_);
      mode = mode_;
      delay = delay_;
      generation = generation_;
    }
    if (mode == Mode::cut) conns_.clear();
    std::erase_if(conns_, [](const auto& c) { return c->dead; });
    {
      std::lock_guard lock(mu_);
      taken_generation_ = generation;
    }
    taken_.notify_all();

    const auto now = Clock::now();
    int timeout_ms = 100;  // also how soon `stop_` is seen without a wake-up
    fds.clear();
    fds.push_back({listen_fd_, POLLIN, 0});
    fds.push_back({wake_[0], POLLIN, 0});
    for (const auto& c : conns_) {
      for (int s = 0; s < 2; ++s) {
        short ev = 0;
        if (c->queued[1 - s] < max_buffered_bytes_) ev |= POLLIN;  // read from s, queue towards the other
        if (c->ready(s, now)) ev |= POLLOUT;
        if (!c->towards[s].empty() && !c->ready(s, now)) {
          const auto wait = std::chrono::ceil<std::chrono::milliseconds>(c->towards[s].front().at - now);
          timeout_ms = std::min(timeout_ms, static_cast<int>(std::max<std::int64_t>(wait.count(), 1)));
        }
        fds.push_back({c->fd[s], ev, 0});
      }
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) {
      char drain[64];
      while (::read(wake_[0], drain, sizeof drain) > 0) {
      }
    }
    if (fds[0].revents & POLLIN) accept_one();

    const auto at = Clock::now();
    for (std::size_t k = 0; k < conns_.size() && 2 + 2 * k < fds.size(); ++k) {
      Conn& c = *conns_[k];
      for (int s = 0; s < 2 && !c.dead; ++s) {
        const short rev = fds[2 + 2 * k + static_cast<std::size_t>(s)].revents;
        if (rev & (POLLIN | POLLHUP | POLLERR)) {
          const ssize_t n = ::read(c.fd[s], buf.data(), buf.size());
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            c.dead = true;  // either side gone: the whole connection goes
          } else if (n > 0 && mode != Mode::drop) {
            c.towards[1 - s].push_back(
                {mode == Mode::delay ? at + delay : at, std::string(buf.data(), static_cast<std::size_t>(n)), 0});
            c.queued[1 - s] += static_cast<std::size_t>(n);
          }
        }
        while (!c.dead && c.ready(s, Clock::now())) {
          auto& front = c.towards[s].front();
          const ssize_t n =
              ::send(c.fd[s], front.bytes.data() + front.offset, front.bytes.size() - front.offset, MSG_NOSIGNAL);
          if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) c.dead = true;
            break;
          }
          front.offset += static_cast<std::size_t>(n);
          c.queued[s] -= static_cast<std::size_t>(n);
          if (s == 1) relayed_ += static_cast<std::uint64_t>(n);
          if (front.offset == front.bytes.size()) c.towards[s].pop_front();
        }
      }
    }
  }
}

FaultNet::FaultNet(const std::vector<std::uint16_t>& raft_ports) : n_(raft_ports.size()) {
  links_.resize(n_ * n_);
  for (std::size_t i = 0; i < n_; ++i) {
    for (std::size_t j = 0; j < n_; ++j) {
      if (i != j) links_[i * n_ + j] = std::make_unique<FaultProxy>(raft_ports[j]);
    }
  }
}

FaultProxy& FaultNet::link(std::size_t from, std::size_t to) {
  if (from >= n_ || to >= n_ || from == to)
    throw std::out_of_range("fault net: no link " + std::to_string(from) + "->" + std::to_string(to));
  return *links_[from * n_ + to];
}

void FaultNet::isolate(const std::set<std::size_t>& side, bool one_way) {
  for (std::size_t i : side) {
    for (std::size_t j = 0; j < n_; ++j) {
      if (side.contains(j)) continue;
      link(i, j).cut();
      if (!one_way) link(j, i).cut();
    }
  }
}

void FaultNet::drop_between(const std::set<std::size_t>& side) {
  for (std::size_t i : side) {
    for (std::size_t j = 0; j < n_; ++j) {
      if (side.contains(j)) continue;
      link(i, j).drop();
      link(j, i).drop();
    }
  }
}

void FaultNet::heal() {
  for (auto& l : links_) {
    if (l) l->pass();
  }
}

}  // namespace minga::testing
