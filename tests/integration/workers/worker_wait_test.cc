// A worker started before its coordinator waits for it: the wait is logged
// as in progress, not as a failure, and the worker joins once it is up.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

namespace minga::testing {
namespace {

// A loopback port that nothing listens on right now.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(WorkerWait, AWorkerStartedFirstWaitsInProgressAndJoinsWhenTheCoordinatorComes) {
  const std::string port = std::to_string(free_port());
  const std::string address = "127.0.0.1:" + port;
  auto w = NodeProcess::start({"--role", "worker", "--id", "early", "--join", address, "--heartbeat-interval", "0.1"});
  ASSERT_TRUE(w.process().wait_for_output(
      "action: join | result: in_progress | coordinator: " + address + " | reason: waiting for the coordinator: ", 10s))
      << w.process().err();
  EXPECT_EQ(w.process().err().find("action: join | result: fail"), std::string::npos) << w.process().err();

  auto coord = NodeProcess::start({"--role", "coordinator", "--id", "coord", "--port", port});
  EXPECT_TRUE(w.process().wait_for_output("action: join | result: success | coordinator: " + address, 10s))
      << w.process().err();
  EXPECT_EQ(w.process().err().find("action: join | result: fail"), std::string::npos) << w.process().err();
  // The wait was logged once per reason, not once per redial.
  const std::string log = w.process().err();
  std::size_t waits = 0;
  for (auto at = log.find("action: join | result: in_progress"); at != std::string::npos;
       at = log.find("action: join | result: in_progress", at + 1)) {
    ++waits;
  }
  EXPECT_LE(waits, 2u) << log;
}

TEST(WorkerWait, WaitingLongerThanJoinWaitIsLoggedAsAFailureOnceAndTheWorkerKeepsTrying) {
  const std::string port = std::to_string(free_port());
  const std::string address = "127.0.0.1:" + port;
  auto w = NodeProcess::start(
      {"--role", "worker", "--id", "late", "--join", address, "--heartbeat-interval", "0.05", "--join-wait", "0.3"});
  ASSERT_TRUE(w.process().wait_for_output(
      "action: join | result: fail | coordinator: " + address + " | reason: no coordinator after 0.3 s: ", 10s))
      << w.process().err();
  EXPECT_TRUE(w.process().wait_for_output("; still trying every 50 ms\n", 1s)) << w.process().err();
  auto coord = NodeProcess::start({"--role", "coordinator", "--id", "coord", "--port", port});
  EXPECT_TRUE(w.process().wait_for_output("action: join | result: success | coordinator: " + address, 10s))
      << w.process().err();
  const std::string log = w.process().err();
  const auto first = log.find("action: join | result: fail");
  EXPECT_EQ(log.find("action: join | result: fail", first + 1), std::string::npos) << "logged once:\n" << log;
}

}  // namespace
}  // namespace minga::testing
