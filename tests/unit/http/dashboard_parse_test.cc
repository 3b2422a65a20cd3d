// The dashboard's parsers of /metrics and of ring log lines.
#include "http/dashboard_parse.h"

#include <gtest/gtest.h>

namespace minga::http {
namespace {

constexpr const char* kBefore =
    "# HELP minga_tasks_total Tasks answered, by kind and result\n"
    "# TYPE minga_tasks_total counter\n"
    "minga_tasks_total{kind=\"uppercase\",result=\"ok\"} 10\n"
    "minga_tasks_total{kind=\"div\",result=\"error\"} 2\n"
    "minga_task_duration_seconds_bucket{kind=\"uppercase\",le=\"0.001\"} 8\n"
    "minga_task_duration_seconds_bucket{kind=\"uppercase\",le=\"0.01\"} 10\n"
    "minga_task_duration_seconds_bucket{kind=\"uppercase\",le=\"+Inf\"} 10\n"
    "minga_task_duration_seconds_bucket{kind=\"div\",le=\"0.001\"} 2\n"
    "minga_task_duration_seconds_bucket{kind=\"div\",le=\"0.01\"} 2\n"
    "minga_task_duration_seconds_bucket{kind=\"div\",le=\"+Inf\"} 2\n"
    "minga_task_duration_seconds_sum{kind=\"uppercase\"} 0.02\n"
    "minga_task_duration_seconds_count{kind=\"uppercase\"} 10\n"
    "minga_task_duration_seconds_sum{kind=\"div\"} 0.001\n"
    "minga_task_duration_seconds_count{kind=\"div\"} 2\n"
    "minga_raft_elections_total 1\n";

TEST(DashboardParse, MetricsSumTasksAndTheHistogramOverKinds) {
  const MetricSample s = parse_metrics(kBefore);
  EXPECT_EQ(s.tasks, 12);
  EXPECT_EQ(s.duration_count, 12);
  EXPECT_DOUBLE_EQ(s.duration_sum, 0.021);
  EXPECT_EQ(s.buckets.at(0.001), 10);
  EXPECT_EQ(s.buckets.at(0.01), 12);
  EXPECT_EQ(s.buckets.at(1e300), 12);
  EXPECT_EQ(s.elections, 1);
}

TEST(DashboardParse, TheQuantileIsTheBucketThatHoldsItBetweenTwoSamples) {
  const MetricSample before = parse_metrics(kBefore);
  MetricSample after = before;
  // 100 more tasks: 90 under 1 ms, 10 between 1 and 10 ms.
  after.duration_count += 100;
  after.buckets[0.001] += 90;
  after.buckets[0.01] += 100;
  after.buckets[1e300] += 100;
  EXPECT_DOUBLE_EQ(quantile_ms(before, after, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(quantile_ms(before, after, 0.9), 1.0);
  EXPECT_DOUBLE_EQ(quantile_ms(before, after, 0.95), 10.0);
  EXPECT_EQ(quantile_ms(before, before, 0.95), -1);  // no task in between
}

TEST(DashboardParse, ARingLineGivesTimeLevelNodeAndText) {
  const LogLine l =
      parse_log_line("nX", "2026-12-02 15:50:01.123 info  [n2] action: election | result: in_progress | term: 4");
  EXPECT_EQ(l.ts, "2026-12-02 15:50:01.123");
  EXPECT_EQ(l.level, "info");
  EXPECT_EQ(l.node, "n2");
  EXPECT_EQ(l.text, "action: election | result: in_progress | term: 4");
  EXPECT_EQ(field(l.text, "action"), "election");
  EXPECT_EQ(field(l.text, "term"), "4");
  EXPECT_EQ(field(l.text, "result"), "in_progress");
  EXPECT_EQ(field(l.text, "missing"), "");
  EXPECT_EQ(
      log_json(l),
      R"({"node":"n2","ts":"2026-12-02 15:50:01.123","level":"info","text":"action: election | result: in_progress | term: 4"})");
  const LogLine w = parse_log_line("n1", "2026-12-02 15:50:01.123 warning [n1] action: x | result: fail | k: v");
  EXPECT_EQ(w.level, "warning");
  EXPECT_EQ(w.text, "action: x | result: fail | k: v");
}

TEST(DashboardParse, ALineInAnotherShapeIsKeptWholeUnderTheNodeItCameFrom) {
  const std::string json = R"({"time":"x","level":"warning","msg":"action: a | result: fail | k: v"})";
  const LogLine l = parse_log_line("n3", json);
  EXPECT_EQ(l.node, "n3");
  EXPECT_EQ(l.ts, "");
  EXPECT_EQ(l.level, "warning");
  EXPECT_EQ(l.text, json);
}

TEST(DashboardParse, TheLineTimeIsLocalTimeInMilliseconds) {
  EXPECT_EQ(log_time_ms("not a time"), 0);
  const std::int64_t a = log_time_ms("2026-12-02 15:50:01.123");
  const std::int64_t b = log_time_ms("2026-12-02 15:50:02.000");
  EXPECT_GT(a, 0);
  EXPECT_EQ(b - a, 877);
}

}  // namespace
}  // namespace minga::http
