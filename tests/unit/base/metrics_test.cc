#include "base/metrics.h"

#include <gtest/gtest.h>

namespace minga::metrics {
namespace {

TEST(Metrics, CountersAndHistogramsRenderInPrometheusFormat) {
  Registry& r = Registry::global();
  r.counter("test_requests_total", "Requests", {{"kind", "a\"b"}}).inc(3);
  auto& h = r.histogram("test_latency_seconds", "Latency", {{"kind", "x"}});
  h.observe(0.0004);
  h.observe(2);
  const std::string text = r.render();
  EXPECT_NE(text.find("# TYPE test_requests_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_requests_total{kind=\"a\\\"b\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_bucket{kind=\"x\",le=\"0.0005\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_bucket{kind=\"x\",le=\"1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_bucket{kind=\"x\",le=\"5\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_bucket{kind=\"x\",le=\"+Inf\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_count{kind=\"x\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_sum{kind=\"x\"} 2.0004\n"), std::string::npos) << text;
}

TEST(Metrics, SameNameAndLabelsIsTheSameMetric) {
  Registry& r = Registry::global();
  Counter& a = r.counter("test_same_total", "Same", {{"k", "v"}});
  Counter& b = r.counter("test_same_total", "Same", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &r.counter("test_same_total", "Same", {{"k", "w"}}));
}

}  // namespace
}  // namespace minga::metrics
