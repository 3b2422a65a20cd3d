#include "http/dashboard.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include <google/protobuf/util/json_util.h>

#include "base/json.h"
#include "base/log.h"
#include "http/assets.h"
#include "http/dashboard_parse.h"
#include "http/fetch.h"
#include "http/monitor.h"
#include "proto/lottery.pb.h"
#include "proto/minga.pb.h"
#include "proto/raft.pb.h"
#include "proto/records.pb.h"

namespace minga::http {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kFetchTimeout = 300ms;
// Without a subscriber for this long, the gathering pauses.
constexpr auto kIdleAfter = 5s;
constexpr std::size_t kMaxEvents = 512;
constexpr std::size_t kMaxLogLines = 1000;
constexpr std::size_t kMaxRecords = 500;
constexpr std::size_t kMaxTimeline = 200;
constexpr std::size_t kMaxPoints = 240;  // two minutes of chart at 500 ms

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

template <typename Message>
bool parse_json(const std::string& text, Message& m) {
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(text, &m, o).ok();
}

std::string strip(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string array(const std::deque<std::string>& items, std::size_t last = SIZE_MAX) {
  std::string out = "[";
  const std::size_t from = items.size() > last ? items.size() - last : 0;
  for (std::size_t i = from; i < items.size(); ++i) {
    if (i > from) out += ',';
    out += items[i];
  }
  return out + "]";
}

struct NodeView {
  std::string id;
  std::string monitor;
  bool reachable = false;
  std::string note;  // why it is not reachable
  pb::ClusterStatusResponse status;
};

}  // namespace

struct Dashboard::Impl {
  std::string self;  // this node's monitor HOST:PORT
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  Clock::time_point last_subscriber{};

  // --- guarded by mu: what a new subscriber gets, and the events after it
  std::string self_id;
  std::string cluster;  // the last "cluster" event
  std::string workers = "null";
  std::string lottery = "null";
  std::string files = "null";  // {"list": GET /api/v1/files?stale=true, "status": /status's files section}
  std::string ml = "null";     // GET /api/v1/ml/jobs
  std::deque<std::string> points;
  std::deque<std::string> timeline;
  std::deque<std::string> records;
  std::deque<std::string> logs;
  std::deque<std::pair<std::uint64_t, std::string>> events;
  std::uint64_t next_seq = 1;

  // --- the gathering thread's own
  std::map<std::string, MetricSample> samples;  // by node id
  std::map<std::string, std::uint64_t> log_cursor;
  std::map<std::string, std::string> last_role;
  std::map<std::string, bool> last_reachable;
  std::string last_leader;
  std::uint64_t last_term = 0;
  std::uint64_t records_after = 0;
  std::string last_lottery_status;

  // Keeps `body` as the last `type` event's content and publishes it, when
  // it is new and differs from what was kept.
  void publish_if_changed(std::string& kept, std::string body, const std::string& type) {
    if (body.empty() || body == kept) return;
    kept = std::move(body);
    publish("{\"type\":\"" + type + "\",\"" + type + "\":" + kept + "}");
  }
  void publish(std::string event) {
    events.emplace_back(next_seq++, std::move(event));
    while (events.size() > kMaxEvents) events.pop_front();
  }
  void push_timeline(std::string entry) {
    timeline.push_back(entry);
    while (timeline.size() > kMaxTimeline) timeline.pop_front();
    publish(R"({"type":"raft","entries":[)" + entry + "]}");
  }

  void run();
  void gather();
  std::vector<std::string> events_for(std::uint64_t& cursor);
};

void Dashboard::Impl::run() {
  std::unique_lock lock(mu);
  while (!stopping) {
    const bool active = Clock::now() - last_subscriber < kIdleAfter;
    if (active) {
      lock.unlock();
      const auto started = Clock::now();
      try {
        gather();
      } catch (const std::exception& e) {
        log::warn("dashboard_gather", "fail", {{"reason", e.what()}});
      }
      lock.lock();
      cv.wait_until(lock, started + kDashboardPollInterval, [this] { return stopping; });
    } else {
      cv.wait_for(lock, 1s, [this] { return stopping || Clock::now() - last_subscriber < kIdleAfter; });
    }
  }
}

void Dashboard::Impl::gather() {
  const std::int64_t now_ms = wall_ms();
  // This node's view names the members and their monitor addresses.
  std::vector<NodeView> nodes;
  NodeView me;
  me.monitor = self;
  if (auto r = fetch(self, "/api/v1/cluster", kFetchTimeout); r && r->status == 200) {
    me.reachable = parse_json(r->body, me.status);
  }
  if (!me.reachable) return;  // stopping, or the API is not mounted yet
  me.id = me.status.id();
  for (const auto& m : me.status.members()) {
    NodeView v;
    v.id = m.id();
    v.monitor = m.monitor_address();
    if (v.id == me.id) {
      v = me;
    } else if (!v.monitor.empty()) {
      if (auto r = fetch(v.monitor, "/api/v1/cluster", kFetchTimeout); r && r->status == 200) {
        v.reachable = parse_json(r->body, v.status);
        // A monitor address that reaches another node (0.0.0.0 advertised
        // from a node bound to all addresses reaches this one) is no answer.
        if (v.reachable && v.status.id() != v.id) {
          v.note = "its monitor address " + v.monitor + " answers as " + v.status.id();
          v.reachable = false;
          v.status = pb::ClusterStatusResponse();
        }
      } else {
        v.note = r ? "its monitor answered HTTP " + std::to_string(r->status)
                   : "its monitor " + v.monitor + " does not answer";
      }
    } else {
      v.note = "no monitor address known yet";
    }
    nodes.push_back(std::move(v));
  }
  if (nodes.empty()) nodes.push_back(me);

  // The leader: the one that says so with the highest term.
  const NodeView* leader = nullptr;
  for (const auto& v : nodes) {
    if (v.reachable && v.status.role() == "leader" && (leader == nullptr || v.status.term() > leader->status.term())) {
      leader = &v;
    }
  }
  std::map<std::string, const pb::MemberStatus*> leader_view, self_view;
  if (leader != nullptr) {
    for (const auto& m : leader->status.members()) leader_view[m.id()] = &m;
  }
  for (const auto& m : me.status.members()) self_view[m.id()] = &m;

  std::vector<std::string> raft_entries;
  auto entry = [&](std::string_view kind, const std::string& node, std::uint64_t term, std::string text,
                   std::int64_t at_ms = 0) {
    raft_entries.push_back(json::Object()
                               .add("t", at_ms > 0 ? at_ms : now_ms)
                               .add("kind", kind)
                               .add("node", node)
                               .add("term", term)
                               .add("text", text)
                               .str());
  };

  std::string list = "[";
  std::uint64_t max_term = 0;
  for (const auto& v : nodes) {
    const auto& s = v.status;
    const auto* lv = leader_view.count(v.id) ? leader_view[v.id] : nullptr;
    const auto* sv = self_view.count(v.id) ? self_view[v.id] : nullptr;
    const bool voter = sv != nullptr ? sv->voter() : (lv != nullptr && lv->voter());
    std::string health = "ok";
    if (!v.reachable) {
      health = "down";
    } else if (s.leader().empty()) {
      health = "no leader";
    } else if (lv != nullptr && v.id != leader->id && lv->lag_entries() > 100) {
      health = "lagging";
    } else if (lv != nullptr && v.id != leader->id && lv->last_contact_seconds() > 1.0) {
      health = "slow";
    }
    if (v.reachable) max_term = std::max(max_term, s.term());
    json::Object o;
    o.add("id", v.id)
        .add("monitor", v.monitor)
        .add("reachable", v.reachable)
        .add("role", v.reachable ? s.role() : std::string("unreachable"))
        .add("voter", voter)
        .add("term", s.term())
        .add("leader", s.leader())
        .add("commit", s.commit_index())
        .add("applied", s.applied_index())
        .add("last", s.last_index())
        .add("snapshot", s.snapshot_index())
        .add("match", lv != nullptr ? lv->match_index() : 0)
        .add("lag", lv != nullptr ? static_cast<std::int64_t>(lv->lag_entries()) : -1)
        .add("last_contact", lv != nullptr ? lv->last_contact_seconds() : -1.0)
        .add("link_up", sv != nullptr ? sv->link_up() : v.reachable)
        .add("health", health)
        .add("note", v.note);
    if (list.size() > 1) list += ',';
    list += o.str();

    // What changed since the last round, for the Raft timeline.
    const std::string role = v.reachable ? s.role() : "unreachable";
    if (auto it = last_reachable.find(v.id); it != last_reachable.end() && it->second != v.reachable) {
      entry(v.reachable ? "up" : "down", v.id, s.term(),
            v.reachable ? v.id + " answers again" : v.id + " does not answer");
    }
    last_reachable[v.id] = v.reachable;
    if (v.reachable) {
      if (auto it = last_role.find(v.id); it != last_role.end() && it->second != role && it->second != "unreachable") {
        entry("role", v.id, s.term(),
              v.id + ": " + it->second + " -> " + role + " (term " + std::to_string(s.term()) + ")");
      }
      last_role[v.id] = role;
    }
  }
  list += "]";
  const std::string leader_id = leader != nullptr ? leader->id : std::string();
  const std::uint64_t term = leader != nullptr ? leader->status.term() : max_term;
  if (leader_id != last_leader) {
    entry("leader", leader_id, term,
          leader_id.empty() ? "no leader (was " + last_leader + ")"
                            : leader_id + " leads in term " + std::to_string(term) +
                                  (last_leader.empty() ? std::string() : " (was " + last_leader + ")"));
    last_leader = leader_id;
  }
  last_term = term;
  const auto& fault = leader != nullptr ? leader->status : me.status;
  std::size_t voters = 0;
  std::size_t answering_voters = 0;
  for (const auto& m : fault.members()) {
    if (!m.voter()) continue;
    ++voters;
    for (const auto& v : nodes) answering_voters += v.id == m.id() && v.reachable ? 1 : 0;
  }
  // The leader counts a voter until it has been silent for two election
  // timeouts; a voter that does not answer here counts as lost at once.
  const std::size_t quorum = voters / 2 + 1;
  const std::int64_t can_lose =
      leader == nullptr
          ? 0
          : std::min<std::int64_t>(
                fault.can_lose(), answering_voters > quorum ? static_cast<std::int64_t>(answering_voters - quorum) : 0);
  const std::string cluster_event = json::Object()
                                        .add("type", "cluster")
                                        .add("t", now_ms)
                                        .add("serving", me.id)
                                        .add("leader", leader_id)
                                        .add("term", term)
                                        .add("voters", static_cast<std::uint64_t>(voters))
                                        .add("can_lose", can_lose)
                                        .add("interval_ms", static_cast<std::int64_t>(kDashboardPollInterval.count()))
                                        .add_raw("nodes", list)
                                        .str();

  // Metrics and logs of every reachable member.
  std::string rates = "{", means = "{", p95s = "{";
  std::vector<LogLine> new_lines;
  for (const auto& v : nodes) {
    if (!v.reachable) continue;
    if (auto r = fetch(v.monitor, "/metrics", kFetchTimeout); r && r->status == 200) {
      MetricSample now = parse_metrics(r->body);
      now.at = Clock::now();
      if (auto it = samples.find(v.id); it != samples.end()) {
        const MetricSample& before = it->second;
        const double dt = std::chrono::duration<double>(now.at - before.at).count();
        const double done = now.tasks - before.tasks;
        const double n = now.duration_count - before.duration_count;
        auto sep = [](std::string& s) {
          if (s.size() > 1) s += ',';
        };
        sep(rates);
        rates += json::quote(v.id) + ":" + std::to_string(dt > 0 ? std::max(0.0, done) / dt : 0.0);
        sep(means);
        means += json::quote(v.id) + ":" +
                 (n > 0 ? std::to_string((now.duration_sum - before.duration_sum) / n * 1000.0) : std::string("null"));
        const double p95 = quantile_ms(before, now, 0.95);
        sep(p95s);
        p95s += json::quote(v.id) + ":" + (p95 >= 0 ? std::to_string(p95) : std::string("null"));
      }
      samples[v.id] = std::move(now);
    }
    auto& cursor = log_cursor[v.id];
    if (auto r = fetch(v.monitor, "/logs?after=" + std::to_string(cursor), kFetchTimeout); r && r->status == 200) {
      if (auto it = r->headers.find("x-minga-log-last"); it != r->headers.end()) {
        const std::uint64_t last = std::strtoull(it->second.c_str(), nullptr, 10);
        std::string_view body = r->body;
        while (!body.empty()) {
          const auto nl = body.find('\n');
          std::string line(body.substr(0, nl));
          body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
          if (line.empty()) continue;
          LogLine l = parse_log_line(v.id, line);
          // The node's own words on elections, with its own clock.
          if (cursor != 0 || last < 200) {
            const std::string action = field(l.text, "action");
            if (action == "election" || action == "leader_elected") {
              const std::string t = field(l.text, "term");
              entry(action, l.node, std::strtoull(t.c_str(), nullptr, 10),
                    action == "election" ? l.node + " starts an election for term " + t
                                         : l.node + " won the election for term " + t,
                    log_time_ms(l.ts));
            }
          }
          new_lines.push_back(std::move(l));
        }
        cursor = last;
      }
    }
  }
  rates += "}";
  means += "}";
  p95s += "}";
  std::stable_sort(new_lines.begin(), new_lines.end(), [](const LogLine& a, const LogLine& b) { return a.ts < b.ts; });
  if (new_lines.size() > kMaxLogLines) {
    new_lines.erase(new_lines.begin(), new_lines.end() - static_cast<std::ptrdiff_t>(kMaxLogLines));
  }

  // This node's apps, through its own API (writes and reads are forwarded
  // as any API client's).
  std::string records_event;
  if (auto r = fetch(self, "/api/v1/records?stale=true&after=" + std::to_string(records_after), kFetchTimeout);
      r && r->status == 200) {
    pb::RecordsListResponse list_records;
    if (parse_json(r->body, list_records) && list_records.records_size() > 0) {
      std::string items = "[";
      std::deque<std::string> added;
      for (const auto& rec : list_records.records()) {
        const std::string one = json::Object().add("index", rec.index()).add("text", rec.text()).str();
        if (items.size() > 1) items += ',';
        items += one;
        added.push_back(one);
        records_after = std::max(records_after, rec.index());
      }
      records_event = R"({"type":"records","records":)" + items + "]}";
      std::lock_guard g(mu);
      for (auto& a : added) records.push_back(std::move(a));
      while (records.size() > kMaxRecords) records.pop_front();
    }
  }
  std::string workers_body, lottery_body, files_body, ml_body;
  if (auto r = fetch(self, "/api/v1/workers", kFetchTimeout); r && r->status == 200) workers_body = strip(r->body);
  // The ML job table (the model registry) with each job's epochs.
  if (auto r = fetch(self, "/api/v1/ml/jobs", kFetchTimeout); r && r->status == 200) ml_body = strip(r->body);
  // The catalogue as this node applied it, and its files section of
  // /status (null when the node has none).
  if (auto r = fetch(self, "/api/v1/files?stale=true", kFetchTimeout); r && r->status == 200) {
    std::string section = "null";
    if (auto st = fetch(self, "/api/v1/status", kFetchTimeout); st && st->status == 200) {
      pb::StatusResponse status;
      if (parse_json(st->body, status)) {
        if (auto it = status.sections().find("files"); it != status.sections().end()) section = it->second;
      }
    }
    files_body = json::Object().add_raw("list", strip(r->body)).add_raw("status", section).str();
  }
  if (auto r = fetch(self, "/api/v1/lottery", kFetchTimeout); r && r->status == 200) {
    lottery_body = strip(r->body);
    pb::LotteryStatusResponse st;
    if (parse_json(lottery_body, st) && st.draw_done()) {
      // The winners of every agency once drawn (asked each round until the
      // status stops changing, so a late agency is not missed).
      if (lottery_body != last_lottery_status) {
        last_lottery_status = lottery_body;
        std::string winners = "{";
        for (const auto& a : st.agencies()) {
          if (auto w =
                  fetch(self, "/api/v1/lottery/agencies/" + std::to_string(a.agency()) + "/winners", kFetchTimeout);
              w && w->status == 200) {
            if (winners.size() > 1) winners += ',';
            winners += json::quote(std::to_string(a.agency())) + ":" + strip(w->body);
          }
        }
        winners += "}";
        lottery_body = json::Object().add_raw("status", lottery_body).add_raw("winners", winners).str();
      } else {
        lottery_body = lottery;
      }
    } else if (!lottery_body.empty()) {
      last_lottery_status = lottery_body;
      lottery_body = json::Object().add_raw("status", lottery_body).add_raw("winners", "{}").str();
    }
  }

  std::lock_guard g(mu);
  self_id = me.id;
  cluster = cluster_event;
  publish(cluster_event);
  for (auto& e : raft_entries) push_timeline(std::move(e));
  const std::string point =
      json::Object().add("t", now_ms).add_raw("rate", rates).add_raw("mean_ms", means).add_raw("p95_ms", p95s).str();
  points.push_back(point);
  while (points.size() > kMaxPoints) points.pop_front();
  publish(R"({"type":"metrics","points":[)" + point + "]}");
  if (!records_event.empty()) publish(std::move(records_event));
  publish_if_changed(workers, std::move(workers_body), "workers");
  publish_if_changed(files, std::move(files_body), "files");
  publish_if_changed(ml, std::move(ml_body), "ml");
  publish_if_changed(lottery, std::move(lottery_body), "lottery");
  if (!new_lines.empty()) {
    std::string items = "[";
    for (const auto& l : new_lines) {
      std::string one = log_json(l);
      if (items.size() > 1) items += ',';
      items += one;
      logs.push_back(std::move(one));
    }
    while (logs.size() > kMaxLogLines) logs.pop_front();
    publish(R"({"type":"logs","lines":)" + items + "]}");
  }
}

std::vector<std::string> Dashboard::Impl::events_for(std::uint64_t& cursor) {
  std::vector<std::string> out;
  std::lock_guard g(mu);
  const bool was_idle = Clock::now() - last_subscriber >= kIdleAfter;
  last_subscriber = Clock::now();
  if (was_idle) cv.notify_all();
  // A new subscriber, or one that fell behind the events kept: the whole
  // state first.
  // `cursor` is the sequence number of the next event this subscriber
  // needs; 0 before the snapshot.
  if (cursor == 0 || (!events.empty() && cursor < events.front().first)) {
    out.push_back(json::Object()
                      .add("type", "hello")
                      .add("node", self_id)
                      .add("monitor", self)
                      .add("interval_ms", static_cast<std::int64_t>(kDashboardPollInterval.count()))
                      .str());
    if (!cluster.empty()) out.push_back(cluster);
    out.push_back(R"({"type":"metrics","reset":true,"points":)" + array(points) + "}");
    out.push_back(R"({"type":"raft","reset":true,"entries":)" + array(timeline) + "}");
    out.push_back(R"({"type":"records","reset":true,"records":)" + array(records) + "}");
    out.push_back(R"({"type":"workers","workers":)" + workers + "}");
    out.push_back(R"({"type":"lottery","lottery":)" + lottery + "}");
    out.push_back(R"({"type":"files","files":)" + files + "}");
    out.push_back(R"({"type":"ml","ml":)" + ml + "}");
    out.push_back(R"({"type":"logs","reset":true,"lines":)" + array(logs) + "}");
    cursor = next_seq;
    return out;
  }
  for (const auto& [seq, e] : events) {
    if (seq >= cursor) out.push_back(e);
  }
  cursor = next_seq;
  return out;
}

Dashboard::Dashboard() : impl_(std::make_unique<Impl>()) {}
Dashboard::~Dashboard() { stop(); }

void Dashboard::mount(Monitor& monitor) {
  for (const auto& asset : dashboard_assets()) {
    monitor.add_route(std::string(asset.path), [&asset](const Request& r) { return asset_response(asset, r); });
    if (asset.path == "/index.html") {
      monitor.add_route("/", [&asset](const Request& r) { return asset_response(asset, r); });
    }
  }
  monitor.add_feed(std::string(kEventsPath), [this](std::uint64_t& cursor) { return events(cursor); });
}

void Dashboard::start(std::string self_monitor, std::string node_id) {
  impl_->self = std::move(self_monitor);
  impl_->self_id = std::move(node_id);
  impl_->thread = std::thread([this] { impl_->run(); });
}

void Dashboard::stop() {
  {
    std::lock_guard g(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::vector<std::string> Dashboard::events(std::uint64_t& cursor) { return impl_->events_for(cursor); }

}  // namespace minga::http
