#include "cluster/cluster_ops.h"

#include <memory>

#include "apps/calc/sum_squares.h"
#include "base/json.h"
#include "cluster/workers_json.h"

namespace minga::cluster {
namespace {

template <class Message>
bool decode(std::string_view body, Message& m, const apps::ResponderPtr& r, const char* name) {
  if (m.ParseFromArray(body.data(), static_cast<int>(body.size()))) return true;
  r->fail(Errc::bad_frame, std::string("cannot decode ") + name);
  return false;
}

}  // namespace

void add_cluster_ops(apps::NodeServices& node, const std::string& role, ClusterOps ops) {
  auto shared = std::make_shared<ClusterOps>(std::move(ops));
  auto& router = node.router();
  router.add(pb::SUM_SQUARES_REQUEST, [shared](std::string_view body, apps::ResponderPtr r) {
    pb::SumSquaresRequest req;
    if (!decode(body, req, r, "SumSquaresRequest")) return;
    shared->sum_squares(req.n(), [r](Result<pb::SumSquaresResponse> res) {
      if (res.ok()) {
        r->reply(pb::SUM_SQUARES_RESPONSE, res.value());
      } else {
        r->fail(res.error());
      }
    });
  });
  router.add(pb::WORKERS_REQUEST, [shared](std::string_view, apps::ResponderPtr r) {
    shared->workers([r](Result<pb::WorkersResponse> res) {
      if (res.ok()) {
        r->reply(pb::WORKERS_RESPONSE, res.value());
      } else {
        r->fail(res.error());
      }
    });
  });
  const std::string refusal_prefix = "node " + node.node_id() + " has role " + role;
  router.add(pb::WORKER_HEARTBEAT, [shared, refusal_prefix](std::string_view body, apps::ResponderPtr r) {
    if (!shared->heartbeat) {
      r->fail(Errc::invalid_argument, refusal_prefix + "; workers join a node with --role coordinator");
      return;
    }
    pb::WorkerHeartbeat hb;
    if (!decode(body, hb, r, "WorkerHeartbeat")) return;
    auto res = shared->heartbeat(hb);
    if (res.ok()) {
      r->reply(pb::WORKER_HEARTBEAT_RESPONSE, res.value());
    } else {
      r->fail(res.error());
    }
  });
  router.add(pb::WORKER_ATTACH_REQUEST, [shared, refusal_prefix](std::string_view body, apps::ResponderPtr r) {
    if (!shared->attach) {
      r->fail(Errc::invalid_argument, refusal_prefix + "; only --role worker nodes take work from a coordinator");
      return;
    }
    pb::WorkerAttachRequest req;
    if (!decode(body, req, r, "WorkerAttachRequest")) return;
    auto res = shared->attach(req);
    if (res.ok()) {
      r->reply(pb::WORKER_ATTACH_RESPONSE, res.value());
    } else {
      r->fail(res.error());
    }
  });
  // `sum_squares` is the calculator seed's name for the same operation.
  auto sum_squares_op = [shared](const pb::JsonCommand& cmd, apps::JsonReply reply) {
    if (!cmd.has_n()) {
      reply(apps::json_error("missing field \"n\""));
      return;
    }
    auto n = calc::parse_sum_squares_n(cmd.n());
    if (!n.ok()) {
      reply(apps::json_error(n.error().message));
      return;
    }
    shared->sum_squares(n.value(), [reply = std::move(reply)](Result<pb::SumSquaresResponse> res) {
      reply(res.ok() ? calc::sum_squares_json(res.value()) : apps::json_error(res.error().message));
    });
  };
  node.add_json_op("sumsq", sum_squares_op);
  node.add_json_op("sum_squares", sum_squares_op);
  node.add_json_op("workers", [shared](const pb::JsonCommand&, apps::JsonReply reply) {
    shared->workers([reply = std::move(reply)](Result<pb::WorkersResponse> res) {
      if (!res.ok()) {
        reply(apps::json_error(res.error().message));
        return;
      }
      const std::string table = workers_json(res.value());
      reply(R"({"ok":true,)" + table.substr(1));
    });
  });
}

ClusterOps local_cluster_ops(apps::NodeServices& node, const LocalRunner& counters, unsigned capacity,
                             std::function<std::string()> address) {
  ClusterOps ops;
  apps::NodeServices* services = &node;
  ops.sum_squares = [services](std::uint64_t n, SumSquaresCallback done) {
    if (auto st = calc::check_sum_squares_n(n); !st.ok()) {
      done(st.error());
      return;
    }
    if (n == 0) {
      pb::SumSquaresResponse r;
      r.set_result("0");
      done(std::move(r));
      return;
    }
    pb::TaskRequest req;
    req.set_kind("sum_squares_range");
    req.set_lo(1);
    req.set_hi(n);
    services->runner().run(std::move(req), [n, done = std::move(done)](Result<pb::TaskResponse> r) {
      if (!r.ok()) {
        done(r.error());
        return;
      }
      calc::SumSquaresGather gather({calc::Range{1, n}});
      if (auto st = gather.set(0, r->big_integer(), r->worker(), {}); !st.ok()) {
        done(st.error());
        return;
      }
      done(gather.response());
    });
  };
  ops.workers = [services, &counters, capacity, address = std::move(address)](WorkersCallback done) {
    pb::WorkersResponse resp;
    resp.set_coordinator_id(services->node_id());
    resp.set_policy("local");
    const auto c = counters.counters();
    auto* w = resp.add_workers();
    w->set_id(services->node_id());
    w->set_address(address());
    w->set_state("live");
    w->set_capacity(capacity);
    w->set_in_flight(static_cast<std::uint32_t>(counters.in_flight()));
    w->set_done(c.done);
    w->set_failed(c.failed);
    done(std::move(resp));
  };
  return ops;
}

}  // namespace minga::cluster
