// The fault proxy itself, against an echo server on 127.0.0.1: each mode
// does what the partition and chaos tests rely on.
#include "fault_proxy.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "harness.h"

namespace minga::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Echoes every connection until the peer closes; one thread per connection.
class EchoServer {
 public:
  EchoServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::thread([c] {
          char buf[4096];
          for (ssize_t n; (n = ::read(c, buf, sizeof buf)) > 0;) {
            if (::send(c, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) break;
          }
          ::close(c);
        }).detach();
      }
    });
  }
  ~EchoServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST(FaultProxy, PassRelaysBothWays) {
  EchoServer echo;
  FaultProxy proxy(echo.port());
  RawConnection c(proxy.port());
  ASSERT_TRUE(c.send("hola\n"));
  EXPECT_EQ(c.read_line(2s), "hola");
  EXPECT_EQ(proxy.accepted(), 1u);
  EXPECT_EQ(proxy.relayed_bytes(), 5u);
}

TEST(FaultProxy, DelayHoldsEachChunkBackInOrder) {
  EchoServer echo;
  FaultProxy proxy(echo.port());
  proxy.delay(150ms);
  RawConnection c(proxy.port());
  const auto t0 = Clock::now();
  ASSERT_TRUE(c.send("uno\n"));
  ASSERT_TRUE(c.send("dos\n"));
  EXPECT_EQ(c.read(8, 3s), "uno\ndos\n");
  // Both ways go through the proxy: at least two delays.
  EXPECT_GE(Clock::now() - t0, 300ms);
}

TEST(FaultProxy, DropKeepsTheConnectionAndDiscardsTheBytes) {
  EchoServer echo;
  FaultProxy proxy(echo.port());
  RawConnection c(proxy.port());
  ASSERT_TRUE(c.send("a\n"));
  ASSERT_EQ(c.read_line(2s), "a");
  proxy.drop();
  ASSERT_TRUE(c.send("lost\n"));
  EXPECT_EQ(c.read(1, 300ms), "");
  EXPECT_FALSE(c.closed_by_peer(100ms));
  proxy.pass();
  ASSERT_TRUE(c.send("b\n"));
  EXPECT_EQ(c.read_line(2s), "b");
}

TEST(FaultProxy, CutClosesConnectionsAndRefusesNewOnesUntilPass) {
  EchoServer echo;
  FaultProxy proxy(echo.port());
  RawConnection before(proxy.port());
  ASSERT_TRUE(before.send("x\n"));
  ASSERT_EQ(before.read_line(2s), "x");
  proxy.cut();
  EXPECT_TRUE(before.closed_by_peer(2s));
  RawConnection during(proxy.port());
  EXPECT_TRUE(during.closed_by_peer(2s));
  proxy.pass();
  RawConnection after(proxy.port());
  ASSERT_TRUE(after.send("y\n"));
  EXPECT_EQ(after.read_line(2s), "y");
}

TEST(FaultNet, IsolateCutsOnlyTheLinksAcrossTheSide) {
  EchoServer a, b, c;
  FaultNet net({a.port(), b.port(), c.port()});
  net.isolate({0});
  EXPECT_EQ(net.link(0, 1).mode(), FaultProxy::Mode::cut);
  EXPECT_EQ(net.link(2, 0).mode(), FaultProxy::Mode::cut);
  EXPECT_EQ(net.link(1, 2).mode(), FaultProxy::Mode::pass);
  net.heal();
  net.isolate({0}, true);
  EXPECT_EQ(net.link(0, 1).mode(), FaultProxy::Mode::cut);
  EXPECT_EQ(net.link(1, 0).mode(), FaultProxy::Mode::pass);
  net.heal();
  EXPECT_EQ(net.link(0, 1).mode(), FaultProxy::Mode::pass);
}

}  // namespace
}  // namespace minga::testing
