#include "apps/api/handlers.h"

#include "base/assert.h"
#include "base/json.h"

namespace minga::apps {

void Router::add(std::uint32_t type, Handler handler) {
  MINGA_ASSERT(handlers_.emplace(type, std::move(handler)).second, "message type registered twice");
}

const Handler* Router::find(std::uint32_t type) const {
  auto it = handlers_.find(type);
  return it == handlers_.end() ? nullptr : &it->second;
}

std::string json_ok_raw(std::string_view raw_result_json) {
  return json::Object().add("ok", true).add_raw("result", raw_result_json).str();
}

std::string json_error(std::string_view message) { return json::Object().add("ok", false).add("error", message).str(); }

}  // namespace minga::apps
