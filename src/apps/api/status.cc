#include "apps/api/status.h"

#include <map>

#include "base/json.h"

namespace minga::apps {

std::string status_json(const pb::StatusResponse& s) {
  const auto& t = s.tasks();
  const std::string tasks = json::Object()
                                .add("queued", static_cast<std::uint64_t>(t.queued()))
                                .add("waiting", static_cast<std::uint64_t>(t.waiting()))
                                .add("running", static_cast<std::uint64_t>(t.running()))
                                .add("done", static_cast<std::uint64_t>(t.done()))
                                .add("failed", static_cast<std::uint64_t>(t.failed()))
                                .add("rejected", static_cast<std::uint64_t>(t.rejected()))
                                .str();
  json::Object o;
  o.add("id", s.id())
      .add("version", s.version())
      .add("role", s.role())
      .add("uptime_seconds", s.uptime_seconds())
      .add("open_connections", static_cast<std::uint64_t>(s.open_connections()))
      .add("threads", static_cast<std::uint64_t>(s.threads()))
      .add_raw("tasks", tasks);
  // Sorted for stable output.
  const std::map<std::string, std::string> sections(s.sections().begin(), s.sections().end());
  for (const auto& [name, value] : sections) o.add_raw(name, value);
  return o.str();
}

}  // namespace minga::apps
