#include "net/client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/number.h"
#include "proto/minga.pb.h"

namespace minga::net {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits until `fd` is ready for `events`; false on timeout.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Error{Errc::invalid_argument, "address must be HOST:PORT, got '" + std::string(text) + "'"};
  }
  auto port = parse_u64(text.substr(colon + 1));
  if (!port.ok() || port.value() == 0 || port.value() > 65535) {
    return Error{Errc::invalid_argument, "invalid port in '" + std::string(text) + "'"};
  }
  std::string host(text.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return Endpoint{host, static_cast<std::uint16_t>(port.value())};
}

Error decode_error(std::string_view body) {
  pb::ErrorResponse e;
  if (!e.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Error{Errc::bad_frame, "cannot decode the server's error"};
  }
  return Error{static_cast<Errc>(e.code()), e.message()};
}

Client::~Client() { close(); }

Client::Client(Client&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), next_request_id_(other.next_request_id_), in_(std::move(other.in_)) {}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    next_request_id_ = other.next_request_id_;
    in_ = std::move(other.in_);
  }
  return *this;
}

void Client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<Client> Client::connect(const Endpoint& endpoint, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(endpoint.port);
  if (int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Error{Errc::unavailable, "cannot resolve " + endpoint.host + ": " + gai_strerror(rc)};
  }
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      if (wait_fd(fd, POLLOUT, deadline)) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        errno = ETIMEDOUT;
      }
    }
    if (rc == 0) {
      ::freeaddrinfo(res);
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return Client(fd);
    }
    last_error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return Error{Errc::unavailable, "cannot reach " + endpoint.str() + ": " + last_error};
}

Status Client::send_raw(std::string_view bytes, Millis timeout) {
  if (fd_ < 0) return Error{Errc::unavailable, "not connected"};
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (!wait_fd(fd_, POLLOUT, deadline)) return Error{Errc::timeout, "timed out sending to the server"};
      continue;
    }
    close();
    return Error{Errc::unavailable, std::string("connection lost: ") + std::strerror(errno)};
  }
  return ok_status();
}

Status Client::send(std::uint32_t type, std::uint64_t request_id, std::string_view body, Millis timeout) {
  std::string frame;
  frame.reserve(wire::kHeaderBytes + body.size());
  wire::encode(frame, type, request_id, body);
  return send_raw(frame, timeout);
}

Result<ReceivedFrame> Client::receive(Millis timeout) {
  if (fd_ < 0) return Error{Errc::unavailable, "not connected"};
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    wire::Decoded d = wire::decode(in_, SIZE_MAX / 2);
    if (d.status == wire::Decoded::Status::frame) {
      ReceivedFrame f{d.header, std::string(d.body)};
      in_.erase(0, d.consumed);
      return f;
    }
    if (d.status == wire::Decoded::Status::error) {
      close();
      return Error{Errc::bad_frame, std::string("bad frame from server: ") + wire::to_string(d.error)};
    }
    char buf[64 * 1024];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (!wait_fd(fd_, POLLIN, deadline)) return Error{Errc::timeout, "timed out waiting for the server"};
      continue;
    }
    close();
    return Error{Errc::unavailable, n == 0 ? "the server closed the connection" : "connection lost"};
  }
}

Result<std::string> Client::call(std::uint32_t type, const google::protobuf::MessageLite& request,
                                 std::uint32_t expected_type, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::uint64_t id = next_request_id_++;
  if (auto s = send(type, id, request.SerializeAsString(), timeout); !s.ok()) return s.error();
  for (;;) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    auto f = receive(left.count() > 0 ? left : Millis(0));
    if (!f.ok()) return f.error();
    if (f->header.request_id != id) continue;  // a late answer to an earlier, timed-out call
    if (f->header.type == pb::ERROR) return decode_error(f->body);
    if (f->header.type != expected_type) {
      return Error{Errc::bad_frame, "unexpected answer type " + std::to_string(f->header.type)};
    }
    return std::move(f->body);
  }
}

}  // namespace minga::net
