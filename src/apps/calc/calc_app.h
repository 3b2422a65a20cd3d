// The calculator app: task kinds add, sub, mul, div (operands a, b) and
// sum_squares_range (bounds lo, hi), the part a worker computes of sumsq.
#pragma once

#include "apps/api/app.h"

namespace minga::calc {

class CalcApp final : public apps::App {
 public:
  std::string_view name() const override { return "calc"; }
  Status start(apps::NodeServices& node) override;
};

void register_tasks(apps::TaskRegistry& registry);

}  // namespace minga::calc
