// The HTTP monitor of a real node.
#include <gtest/gtest.h>

#include <algorithm>

#include "harness.h"

namespace minga::testing {
namespace {

TEST(NodeMonitor, HealthStatusMetricsAndLogs) {
  auto node = NodeProcess::start({"--id", "mon-1"});
  ASSERT_EQ(run_minga({"--server", node.address(), "text", "uppercase", "hola"}).exit_code, 0);
  ASSERT_EQ(run_minga({"--server", node.address(), "calc", "div", "1", "0"}).exit_code, 1);

  auto [hc, hbody] = http_get(node.monitor_port(), "/healthz");
  EXPECT_EQ(hc, 200);

  auto [sc, status] = http_get(node.monitor_port(), "/status");
  EXPECT_EQ(sc, 200);
  EXPECT_NE(status.find("\"id\":\"mon-1\""), std::string::npos) << status;
  EXPECT_NE(status.find("\"done\":1,\"failed\":1"), std::string::npos) << status;
  EXPECT_NE(status.find("\"open_connections\":"), std::string::npos);
  EXPECT_NE(status.find("\"uptime_seconds\":"), std::string::npos);

  auto [mc, metrics] = http_get(node.monitor_port(), "/metrics");
  EXPECT_EQ(mc, 200);
  EXPECT_NE(metrics.find("minga_task_duration_seconds_bucket{kind=\"uppercase\""), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("minga_tasks_total{kind=\"div\",result=\"error\"} 1"), std::string::npos) << metrics;

  auto [lc, logs] = http_get(node.monitor_port(), "/logs?n=50");
  EXPECT_EQ(lc, 200);
  EXPECT_NE(logs.find("action: node_start | result: success"), std::string::npos) << logs;

  auto [ic, index] = http_get(node.monitor_port(), "/");
  EXPECT_EQ(ic, 200);
  EXPECT_NE(index.find("/metrics"), std::string::npos);
}

TEST(NodeMonitor, LogsReturnsExactlyTheLastNLines) {
  auto node = NodeProcess::start();
  for (int i = 0; i < 6; ++i) {  // each logs a protocol_error line
    RawConnection c(node.port());
    ASSERT_TRUE(
        c.send(std::string("\xF9"
                           "Xjunk",
                           6)));
    ASSERT_TRUE(c.closed_by_peer(2s));
  }
  // The node may still log (its election, its apps' recovery) between two
  // reads: compare only reads with nothing logged between them.
  std::string all, five;
  const bool quiet = eventually(
      [&] {
        auto [all_code, before] = http_get(node.monitor_port(), "/logs?n=1000");
        auto [code, last] = http_get(node.monitor_port(), "/logs?n=5");
        auto [after_code, after] = http_get(node.monitor_port(), "/logs?n=1000");
        EXPECT_EQ(all_code, 200);
        EXPECT_EQ(code, 200);
        all = before;
        five = last;
        return before == after;
      },
      5s);
  ASSERT_TRUE(quiet) << "the node kept logging for 5 s";
  ASSERT_GT(std::count(all.begin(), all.end(), '\n'), 5) << all;
  EXPECT_EQ(std::count(five.begin(), five.end(), '\n'), 5) << five;
  ASSERT_GE(all.size(), five.size());
  EXPECT_EQ(all.substr(all.size() - five.size()), five);  // the last five, in order
}

TEST(NodeMonitor, LogsLiveTailStreamsNewEvents) {
  auto node = NodeProcess::start();
  RawConnection sse(node.monitor_port());
  ASSERT_TRUE(sse.send("GET /logs HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"));
  std::string head;
  for (std::string line = sse.read_line(3s); line != "\r"; line = sse.read_line(3s)) {
    ASSERT_FALSE(line.empty()) << "headers cut short: " << head;
    head += line + "\n";
  }
  EXPECT_NE(head.find("HTTP/1.1 200 OK"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Type: text/event-stream"), std::string::npos) << head;
  // An event after the tail opened arrives as an SSE data field.
  RawConnection bad(node.port());
  ASSERT_TRUE(
      bad.send(std::string("\xF9"
                           "Xlive",
                           6)));
  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i) {
    const std::string line = sse.read_line(3s);
    seen = line.rfind("data: ", 0) == 0 && line.find("action: protocol_error | result: fail") != std::string::npos;
  }
  EXPECT_TRUE(seen);
}

TEST(NodeMonitor, ConnectionsOverTheCapAreClosedAndLogged) {
  auto node = NodeProcess::start({"--max-connections", "2"});
  RawConnection a(node.port()), b(node.port());
  ASSERT_TRUE(a.send("PING\n") && b.send("PING\n"));
  ASSERT_EQ(a.read_line(3s), "PONG");
  ASSERT_EQ(b.read_line(3s), "PONG");
  RawConnection third(node.port());
  third.send("PING\n");
  EXPECT_TRUE(third.closed_by_peer(3s));
  EXPECT_TRUE(node.process().wait_for_output("action: accept | result: fail", 2s));
  EXPECT_NE(node.process().err().find("reason: connection limit reached"), std::string::npos);
  // The two admitted connections keep working.
  ASSERT_TRUE(a.send("ECHO still\n"));
  EXPECT_EQ(a.read_line(3s), "still");
}

}  // namespace
}  // namespace minga::testing
