#include "apps/api/tasks.h"

#include "base/assert.h"
#include "base/json.h"
#include "base/number.h"

namespace minga::apps {

void TaskRegistry::add(TaskDef def) {
  MINGA_ASSERT(!def.key.empty() && def.run, "a task kind needs a key and a body");
  auto owned = std::make_unique<TaskDef>(std::move(def));
  const TaskDef* p = owned.get();
  MINGA_ASSERT(by_name_.emplace(p->key, p).second, "task key registered twice");
  if (p->code != 0) MINGA_ASSERT(by_name_.emplace(std::to_string(p->code), p).second, "task code registered twice");
  defs_.push_back(std::move(owned));
}

const TaskDef* TaskRegistry::find(std::string_view key_or_code) const {
  auto it = by_name_.find(key_or_code);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<const TaskDef*> TaskRegistry::all() const {
  std::vector<const TaskDef*> out;
  for (const auto& d : defs_) out.push_back(d.get());
  return out;
}

std::string task_value_text(const pb::TaskResponse& r) {
  switch (r.value_case()) {
    case pb::TaskResponse::kText:
      return r.text();
    case pb::TaskResponse::kNumber:
      return format_double(r.number());
    case pb::TaskResponse::kInteger:
      return std::to_string(r.integer());
    case pb::TaskResponse::kBigInteger:
      return r.big_integer();
    case pb::TaskResponse::VALUE_NOT_SET:
      break;
  }
  return "";
}

std::string task_value_json(const pb::TaskResponse& r) {
  if (r.value_case() == pb::TaskResponse::kText) return json::quote(r.text());
  if (r.value_case() == pb::TaskResponse::VALUE_NOT_SET) return "null";
  return task_value_text(r);
}

}  // namespace minga::apps
