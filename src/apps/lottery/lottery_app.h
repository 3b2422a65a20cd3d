// The national lottery app (requirement R5). PLACEHOLDER until implemented.
#pragma once

#include "apps/api/app.h"

namespace minga::lottery {

class LotteryApp final : public apps::App {
 public:
  std::string_view name() const override { return "lottery"; }
  Status start(apps::NodeServices&) override { return ok_status(); }
};

}  // namespace minga::lottery
