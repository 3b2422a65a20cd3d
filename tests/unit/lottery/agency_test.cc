// The agency against a scripted server on 127.0.0.1 that answers every
// request with one error: which errors it sends again, and for how long.
#include "apps/lottery/agency.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "proto/minga.pb.h"
#include "wire/frame.h"

namespace minga::lottery {
namespace {

using namespace std::chrono_literals;

// Accepts connections one at a time and answers each request frame with an
// ERROR frame of `code`; counts the requests. Stops on destruction.
class ErrorServer {
 public:
  explicit ErrorServer(pb::ErrorCode code) : code_(code) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ErrorServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  static bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 20) > 0;
  }
  void serve() {
    while (!stop_) {
      if (!readable(fd_)) continue;
      const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      answer_all(conn);
      ::close(conn);
    }
  }
  void answer_all(int conn) {
    std::string in;
    while (!stop_) {
      if (!readable(conn)) continue;
      char buf[4096];
      const ssize_t n = ::read(conn, buf, sizeof buf);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
      while (true) {
        const wire::Decoded d = wire::decode(in, wire::kDefaultMaxBodyBytes);
        if (d.status != wire::Decoded::Status::frame) break;
        ++requests_;
        pb::ErrorResponse e;
        e.set_code(code_);
        e.set_message("scripted error");
        std::string out;
        wire::encode(out, pb::ERROR, d.header.request_id, e.SerializeAsString());
        in.erase(0, d.consumed);
        if (::write(conn, out.data(), out.size()) != static_cast<ssize_t>(out.size())) return;
      }
    }
  }

  pb::ErrorCode code_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

std::vector<pb::Bet> one_bet() {
  pb::Bet b;
  b.set_first_name("Ana");
  b.set_last_name("Sosa");
  b.set_document("123");
  b.set_birth_date("1990-01-01");
  b.set_number(1);
  return {b};
}

AgencyOptions options_for(std::uint16_t port) {
  AgencyOptions o;
  o.agency = 1;
  o.servers = {net::Endpoint{"127.0.0.1", port}};
  o.retry_for = 300ms;
  return o;
}

TEST(LotteryAgency, BadFrameAnswerIsNotSentAgain) {
  ErrorServer server(pb::BAD_FRAME);
  const std::atomic<bool> stop{false};
  Agency agency(options_for(server.port()), stop);
  const Status batch = agency.send_bets(one_bet());
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.error().code, Errc::bad_frame);
  EXPECT_EQ(batch.error().message, "scripted error");
  const Status finished = agency.notify_finished();
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.error().code, Errc::bad_frame);
  EXPECT_EQ(server.requests(), 2);  // once each, no resend
}

// Bounded in wall-clock time: runs alone (tests/CMakeLists.txt).
TEST(LotteryAgencyTiming, BusyAnswersAreRetriedOnlyForRetryFor) {
  ErrorServer server(pb::BUSY);
  const std::atomic<bool> stop{false};
  Agency agency(options_for(server.port()), stop);
  const auto started = std::chrono::steady_clock::now();
  const Status batch = agency.send_bets(one_bet());
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.error().code, Errc::unavailable);
  EXPECT_EQ(batch.error().message, "scripted error (gave up after 300 ms)");
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
  EXPECT_GT(server.requests(), 1);  // busy is worth sending again, for a while
  const int before = server.requests();
  const Status finished = agency.notify_finished();
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.error().code, Errc::unavailable);
  EXPECT_GT(server.requests(), before + 1);
}

}  // namespace
}  // namespace minga::lottery
