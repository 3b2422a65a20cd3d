// The HTTP monitor of a real node.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace minga::testing
