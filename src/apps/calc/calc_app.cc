#include "apps/calc/calc_app.h"

#include "apps/calc/calc_ops.h"
#include "base/number.h"

namespace minga::calc {

void register_tasks(apps::TaskRegistry& registry) {
  static constexpr std::pair<const char*, const char*> kOps[] = {
      {"add", "a + b"}, {"sub", "a - b"}, {"mul", "a * b"}, {"div", "a / b (b != 0)"}};
  for (const auto& [key, help] : kOps) {
    const Op op = *find_op(key);
    registry.add({key,
                  0,
                  help,
                  nullptr,
                  [op](const pb::TaskRequest& req) -> Result<pb::TaskResponse> {
                    auto r = apply(op, req.a(), req.b());
                    if (!r.ok()) return r.error();
                    pb::TaskResponse out;
                    out.set_number(r.value());
                    return out;
                  },
                  {"a", "b"}});
  }
  registry.add({"sum_squares_range",
                0,
                "lo^2 + ... + hi^2, exact (128-bit)",
                nullptr,
                [](const pb::TaskRequest& req) -> Result<pb::TaskResponse> {
                  auto r = sum_squares_range(req.lo(), req.hi());
                  if (!r.ok()) return r.error();
                  pb::TaskResponse out;
                  out.set_big_integer(format_u128(r.value()));
                  return out;
                },
                {}});  // lo and hi come from the coordinator's parts, never from text mode
}

Status CalcApp::start(apps::NodeServices& node) {
  register_tasks(node.tasks());
  return ok_status();
}

}  // namespace minga::calc
