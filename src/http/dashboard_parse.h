// What the dashboard reads from the members' monitors, parsed: /metrics
// (Prometheus text) and log lines of the ring (/logs?after=). Pure: no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace minga::http {

// What the dashboard reads in /metrics: the tasks answered, their latency
// histogram (summed over kinds) and the elections started.
struct MetricSample {
  std::chrono::steady_clock::time_point at;  // set by the caller
  double tasks = 0;
  double duration_sum = 0;
  double duration_count = 0;
  std::map<double, double> buckets;  // le -> cumulative count
  double elections = 0;
};

struct LogLine {
  std::string node;
  std::string ts;  // "2026-12-02 15:50:01.123"
  std::string level;
  std::string text;
};

MetricSample parse_metrics(std::string_view text);

// The q-quantile (0..1) of the tasks answered between two samples, from the
// histogram's buckets: the upper bound of the bucket that holds it; -1
// without tasks.
double quantile_ms(const MetricSample& before, const MetricSample& after, double q);

// A ring line "2026-12-02 15:50:01.123 info  [n1] message"; a line in
// another shape (the JSON format) is kept whole as the text.
LogLine parse_log_line(const std::string& fallback_node, const std::string& line);

// The time of a ring line ("2026-12-02 15:50:01.123", local time, as
// spdlog writes it) in ms since the epoch; 0 if it is not in that shape.
std::int64_t log_time_ms(const std::string& ts);

std::string log_json(const LogLine& l);

// The value of "key: " in an event line ("action: election | result: ... | term: 4").
std::string field(std::string_view text, std::string_view key);

}  // namespace minga::http
