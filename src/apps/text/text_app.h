// The text app: task kinds uppercase (1), reverse (2), word_count (3) and
// sleep (4), from requirement R1.
#pragma once

#include "apps/api/app.h"

namespace minga::text {

class TextApp final : public apps::App {
 public:
  std::string_view name() const override { return "text"; }
  Status start(apps::NodeServices& node) override;
};

// Registers the kinds; `max_sleep_seconds` caps the sleep task.
void register_tasks(apps::TaskRegistry& registry, double max_sleep_seconds);

}  // namespace minga::text
