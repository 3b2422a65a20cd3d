// Task kinds: the unit of work a node runs on its pool and a coordinator
// spreads over workers. Apps register their kinds in a TaskRegistry.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "proto/minga.pb.h"

namespace minga::apps {

struct TaskDef {
  using Wait = std::function<Result<double>(const pb::TaskRequest&)>;
  using Body = std::function<Result<pb::TaskResponse>(const pb::TaskRequest&)>;
  std::string key;         // "uppercase"
  std::uint32_t code = 0;  // 1; 0 when the kind has no numeric code
  std::string help;        // one line for --help and docs
  // Set for kinds that wait rather than compute (sleep): validates the
  // request and returns how long to wait, without blocking any thread.
  Wait wait_seconds;
  // The work itself; runs on a pool thread (after the wait, if any).
  Body run;
  // Request fields the kind needs ("text", "a", ...): a text-mode command
  // without one is answered `missing field "b"` instead of running on zeros.
  std::vector<std::string> reads;
};

class TaskRegistry {
 public:
  void add(TaskDef def);
  // By key ("uppercase") or numeric code ("1"); null when unknown.
  const TaskDef* find(std::string_view key_or_code) const;
  std::vector<const TaskDef*> all() const;

 private:
  std::vector<std::unique_ptr<TaskDef>> defs_;
  std::map<std::string, const TaskDef*, std::less<>> by_name_;
};

// A task's answer as plain text ("HOLA", "15") and as a JSON value
// ("\"HOLA\"", "15"; 128-bit integers stay exact JSON numbers).
std::string task_value_text(const pb::TaskResponse& response);
std::string task_value_json(const pb::TaskResponse& response);

using TaskCallback = std::function<void(Result<pb::TaskResponse>)>;

// Runs a task somewhere: on this node's pool, or on a worker chosen by the
// coordinator. The callback runs exactly once, on any thread.
class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  virtual void run(pb::TaskRequest request, TaskCallback done) = 0;
};

}  // namespace minga::apps
