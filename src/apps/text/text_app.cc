#include "apps/text/text_app.h"

#include <cmath>

#include "apps/text/text_ops.h"
#include "base/number.h"

namespace minga::text {
namespace {

pb::TaskResponse text_answer(std::string s) {
  pb::TaskResponse r;
  r.set_text(std::move(s));
  return r;
}

template <class Fn>
apps::TaskDef::Body text_task(Fn fn) {
  return [fn](const pb::TaskRequest& req) -> Result<pb::TaskResponse> {
    auto out = fn(req.text());
    if (!out.ok()) return out.error();
    return text_answer(std::move(out).value());
  };
}

}  // namespace

void register_tasks(apps::TaskRegistry& registry, double max_sleep_seconds) {
  registry.add({"uppercase", 1, "upper-case the text (Unicode-aware)", nullptr, text_task(uppercase), {"text"}});
  registry.add({"reverse", 2, "reverse the text by user-perceived characters", nullptr, text_task(reverse), {"text"}});
  registry.add({"word_count",
                3,
                "count the words, split on white space",
                nullptr,
                [](const pb::TaskRequest& req) -> Result<pb::TaskResponse> {
                  auto n = word_count(req.text());
                  if (!n.ok()) return n.error();
                  pb::TaskResponse r;
                  r.set_integer(static_cast<std::int64_t>(n.value()));
                  return r;
                },
                {"text"}});
  registry.add({"sleep",
                4,
                "wait the given seconds without holding a thread",
                [max_sleep_seconds](const pb::TaskRequest& req) -> Result<double> {
                  const double s = req.seconds();
                  if (!std::isfinite(s) || s < 0) {
                    return Error{Errc::invalid_argument, "sleep needs a number of seconds >= 0"};
                  }
                  if (s > max_sleep_seconds) {
                    return Error{Errc::invalid_argument, "sleep of " + format_double(s) +
                                                             " s is above the maximum of " +
                                                             format_double(max_sleep_seconds) + " s"};
                  }
                  return s;
                },
                [](const pb::TaskRequest& req) -> Result<pb::TaskResponse> {
                  return text_answer("slept " + format_double(req.seconds()) + " s");
                },
                {"seconds"}});
}

Status TextApp::start(apps::NodeServices& node) {
  auto max_sleep = node.settings().get_double("tasks.max_sleep_seconds", "MINGA_MAX_SLEEP_SECONDS", 60);
  if (!max_sleep.ok()) return max_sleep.error();
  if (max_sleep.value() < 0) return Error{Errc::invalid_argument, "tasks.max_sleep_seconds must be >= 0"};
  register_tasks(node.tasks(), max_sleep.value());
  return ok_status();
}

}  // namespace minga::text
