#include "http/dashboard_parse.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "base/json.h"

namespace minga::http {

MetricSample parse_metrics(std::string_view text) {
  MetricSample s;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string_view::npos) continue;
    const double value = std::strtod(std::string(line.substr(space + 1)).c_str(), nullptr);
    const std::string_view name = line.substr(0, line.find_first_of("{ "));
    if (name == "minga_tasks_total") {
      s.tasks += value;
    } else if (name == "minga_task_duration_seconds_sum") {
      s.duration_sum += value;
    } else if (name == "minga_task_duration_seconds_count") {
      s.duration_count += value;
    } else if (name == "minga_task_duration_seconds_bucket") {
      const auto le = line.find("le=\"");
      if (le == std::string_view::npos) continue;
      const auto end = line.find('"', le + 4);
      const std::string bound(line.substr(le + 4, end - le - 4));
      const double b = bound == "+Inf" ? 1e300 : std::strtod(bound.c_str(), nullptr);
      s.buckets[b] += value;
    } else if (name == "minga_raft_elections_total") {
      s.elections += value;
    }
  }
  return s;
}

// The q-quantile (0..1) of the tasks answered between two samples, from the
// histogram's buckets: the upper bound of the bucket that holds it; -1
// without tasks.
double quantile_ms(const MetricSample& before, const MetricSample& after, double q) {
  const double total = after.duration_count - before.duration_count;
  if (total <= 0) return -1;
  for (const auto& [le, count] : after.buckets) {
    double prev = 0;
    if (auto it = before.buckets.find(le); it != before.buckets.end()) prev = it->second;
    if (count - prev >= q * total) return le >= 1e300 ? -1 : le * 1000.0;
  }
  return -1;
}

// A ring line "2026-12-02 15:50:01.123 info  [n1] message"; a line in
// another shape (the JSON format) is kept whole as the text.
LogLine parse_log_line(const std::string& fallback_node, const std::string& line) {
  LogLine l;
  l.node = fallback_node;
  if (line.size() > 25 && line[4] == '-' && line[10] == ' ' && line[19] == '.') {
    l.ts = line.substr(0, 23);
    std::size_t p = 24;
    const auto sp = line.find(' ', p);
    l.level = line.substr(p, sp - p);
    p = line.find_first_not_of(' ', sp);
    if (p != std::string::npos && line[p] == '[') {
      const auto close = line.find("] ", p);
      if (close != std::string::npos) {
        l.node = line.substr(p + 1, close - p - 1);
        p = close + 2;
      }
    }
    l.text = p == std::string::npos ? std::string() : line.substr(p);
  } else {
    l.text = line;
    if (const auto lv = line.find("\"level\":\""); lv != std::string::npos) {
      l.level = line.substr(lv + 9, line.find('"', lv + 9) - lv - 9);
    }
  }
  return l;
}

// The time of a ring line ("2026-12-02 15:50:01.123", local time, as
// spdlog writes it) in ms since the epoch; 0 if it is not in that shape.
std::int64_t log_time_ms(const std::string& ts) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(ts.c_str(), "%d-%d-%d %d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &ms) != 7) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  const std::time_t t = std::mktime(&tm);
  return t < 0 ? 0 : static_cast<std::int64_t>(t) * 1000 + ms;
}

std::string log_json(const LogLine& l) {
  return json::Object().add("node", l.node).add("ts", l.ts).add("level", l.level).add("text", l.text).str();
}

// The value of "key: " in an event line ("action: election | result: ... | term: 4").
std::string field(std::string_view text, std::string_view key) {
  const std::string needle = std::string(key) + ": ";
  std::size_t at = 0;
  while ((at = text.find(needle, at)) != std::string_view::npos) {
    if (at == 0 || text.substr(at - 2, 2) == "| ") {
      const auto start = at + needle.size();
      const auto end = text.find(" |", start);
      return std::string(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    }
    at += needle.size();
  }
  return {};
}

}  // namespace minga::http
