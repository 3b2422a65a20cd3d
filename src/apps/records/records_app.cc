#include "apps/records/records_app.h"

#include "base/json.h"
#include "base/number.h"

namespace minga::records {
namespace {

std::string list_json(const pb::RecordsListResponse& list) {
  std::string items = "[";
  for (const auto& r : list.records()) {
    if (items.size() > 1) items += ",";
    items += json::Object().add("index", static_cast<std::uint64_t>(r.index())).add("text", r.text()).str();
  }
  items += "]";
  return json::Object().add_raw("records", items).add("more", list.more()).str();
}

}  // namespace

Status RecordsApp::start(apps::NodeServices& node) {
  auto max = node.settings().get_int("records.max_bytes", "MINGA_RECORDS_MAX_BYTES", 4096);
  if (!max.ok()) return max.error();
  if (max.value() < 1 || max.value() > (1 << 20)) {
    return Error{Errc::invalid_argument, "records.max_bytes must be from 1 to 1048576"};
  }
  max_bytes_ = static_cast<std::size_t>(max.value());
  apps::Replication& log = node.replication();
  log.register_state("records", state_);

  node.router().add(pb::RECORDS_ADD_REQUEST, [this, &log](std::string_view body, apps::ResponderPtr r) {
    pb::RecordsAddRequest req;
    if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      r->fail(Errc::bad_frame, "cannot decode RecordsAddRequest");
      return;
    }
    if (auto st = validate(req.text(), max_bytes_); !st.ok()) {
      r->fail(st.error());
      return;
    }
    log.propose("records", req.text(), [r](Result<std::string> res) {
      if (!res.ok()) {
        r->fail(res.error());
        return;
      }
      pb::RecordsAddResponse resp;
      if (!resp.ParseFromString(res.value())) {
        r->fail(Errc::internal, "the applied record has no index");
        return;
      }
      r->reply(pb::RECORDS_ADD_RESPONSE, resp);
    });
  });

  node.router().add(pb::RECORDS_LIST_REQUEST, [this, &log](std::string_view body, apps::ResponderPtr r) {
    pb::RecordsListRequest req;
    if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      r->fail(Errc::bad_frame, "cannot decode RecordsListRequest");
      return;
    }
    if (req.stale()) {
      r->reply(pb::RECORDS_LIST_RESPONSE, state_.list(req.after()));
      return;
    }
    log.read_barrier([this, r, after = req.after()](Status st) {
      if (!st.ok()) {
        r->fail(st.error());
        return;
      }
      r->reply(pb::RECORDS_LIST_RESPONSE, state_.list(after));
    });
  });

  node.add_status_section("records", [this] {
    return json::Object().add("count", state_.count()).add("max_bytes", static_cast<std::uint64_t>(max_bytes_)).str();
  });
  // What this node has applied (a local read): every node shows the same
  // list once it has caught up.
  node.add_monitor_json("/records", [this](std::string_view query) {
    std::uint64_t after = 0;
    const auto pos = query.find("after=");
    if (pos != std::string_view::npos) {
      auto n = parse_u64(query.substr(pos + 6, query.find('&', pos) - pos - 6));
      if (n.ok()) after = n.value();
    }
    return list_json(state_.list(after));
  });
  // Live: each record as it is applied here, one JSON object an event.
  node.add_monitor_feed("/records", [this](std::uint64_t& cursor) {
    std::vector<std::string> events;
    const auto list = state_.list(cursor, 256u << 10);
    for (const auto& r : list.records()) {
      events.push_back(json::Object().add("index", static_cast<std::uint64_t>(r.index())).add("text", r.text()).str());
      cursor = r.index();
    }
    return events;
  });
  node.add_api_route(apps::api_route<pb::RecordsAddRequest, pb::RecordsAddResponse>(
      "POST", "/records", pb::RECORDS_ADD_REQUEST, pb::RECORDS_ADD_RESPONSE));
  node.add_api_route(apps::api_route<pb::RecordsListRequest, pb::RecordsListResponse>(
      "GET", "/records", pb::RECORDS_LIST_REQUEST, pb::RECORDS_LIST_RESPONSE));
  return ok_status();
}

}  // namespace minga::records
