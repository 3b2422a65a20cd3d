#include "apps/files/transfer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace minga::files {
namespace {

using namespace std::chrono_literals;

// A listening socket on 127.0.0.1 (connections wait in its backlog).
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  ~Listener() { ::close(fd_); }
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

TEST(ConnectionPool, AGivenBackConnectionIsReusedAndForgetOrIdlenessClosesIt) {
  Listener server;
  ConnectionPool pool(2, 10s);
  bool reused = true;
  auto first = pool.take(server.address(), 1s, reused);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_FALSE(reused);
  pool.give(server.address(), std::move(first.value()));
  auto again = pool.take(server.address(), 1s, reused);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(reused);
  pool.give(server.address(), std::move(again.value()));
  pool.forget(server.address());
  auto fresh = pool.take(server.address(), 1s, reused);
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(reused);

  ConnectionPool brief(2, 1ms);
  auto c = brief.take(server.address(), 1s, reused);
  ASSERT_TRUE(c.ok());
  brief.give(server.address(), std::move(c.value()));
  std::this_thread::sleep_for(20ms);
  auto stale = brief.take(server.address(), 1s, reused);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(reused);
}

TEST(ConnectionPool, AnUnreachableAddressIsUnavailable) {
  ConnectionPool pool;
  bool reused = true;
  auto c = pool.take("127.0.0.1:1", 500ms, reused);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Errc::unavailable);
  EXPECT_FALSE(reused);
}

}  // namespace
}  // namespace minga::files
