#include "http/fetch.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string_view>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace minga::http {

using Clock = std::chrono::steady_clock;

std::optional<Reply> fetch(const std::string& host_port, const std::string& path, std::chrono::milliseconds timeout) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = host_port.substr(0, colon);
  const std::string port = host_port.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) return std::nullopt;
  const int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    return std::nullopt;
  }
  const auto deadline = Clock::now() + timeout;
  auto wait = [&](short events) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, static_cast<int>(left)) == 1 && (p.revents & (events | POLLHUP | POLLERR)) != 0;
  };
  std::optional<Reply> out;
  const int rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  bool connected = rc == 0;
  if (!connected && errno == EINPROGRESS && wait(POLLOUT)) {
    int err = 0;
    socklen_t len = sizeof err;
    connected = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
  }
  if (connected) {
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host_port +
                                "\r\nAccept: application/json, text/plain\r\nConnection: close\r\n\r\n";
    std::size_t sent = 0;
    bool ok = true;
    while (ok && sent < request.size()) {
      const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        ok = wait(POLLOUT);
      } else {
        ok = false;
      }
    }
    std::string raw;
    char buf[16384];
    while (ok) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        raw.append(buf, static_cast<std::size_t>(n));
        if (raw.size() > 8 * 1024 * 1024) ok = false;
      } else if (n == 0) {
        break;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        ok = wait(POLLIN);
      } else {
        ok = false;
      }
    }
    const auto head_end = raw.find("\r\n\r\n");
    if (ok && head_end != std::string::npos && raw.rfind("HTTP/1.", 0) == 0 && raw.size() > 12) {
      Reply r;
      r.status = std::atoi(raw.c_str() + 9);
      std::string_view head(raw.data(), head_end);
      std::size_t pos = head.find("\r\n");
      while (pos != std::string_view::npos) {
        const auto next = head.find("\r\n", pos + 2);
        const auto line =
            head.substr(pos + 2, next == std::string_view::npos ? std::string_view::npos : next - pos - 2);
        if (const auto c = line.find(':'); c != std::string_view::npos) {
          std::string name(line.substr(0, c));
          for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          std::string_view value = line.substr(c + 1);
          while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
          r.headers[name] = std::string(value);
        }
        pos = next;
      }
      r.body = raw.substr(head_end + 4);
      out = std::move(r);
    }
  }
  ::close(fd);
  return out;
}

}  // namespace minga::http
