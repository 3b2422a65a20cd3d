#include "apps/files/repair.h"

#include <algorithm>
#include <future>
#include <limits>
#include <set>
#include <unordered_set>

#include "base/log.h"

namespace minga::files {
namespace {

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::set<std::string> ids_of(const std::vector<apps::Member>& members) {
  std::set<std::string> out;
  for (const auto& m : members) out.insert(m.id);
  return out;
}

}  // namespace

Repairer::Repairer(std::string self, BlobStore& store, Catalogue& catalogue, apps::Replication& log,
                   TransferOptions transfer, RepairOptions options,
                   std::function<Status(const pb::FileEntry&)> ensure_local)
    : self_(std::move(self)),
      store_(store),
      catalogue_(catalogue),
      log_(log),
      transfer_(transfer),
      options_(options),
      ensure_local_(std::move(ensure_local)) {}

Repairer::~Repairer() { stop(); }

void Repairer::start() {
  thread_ = std::thread([this] { loop(); });
}

void Repairer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// A pass soon after start, then every interval; a change of the members
// (one removed or added) brings the next pass forward to now.
void Repairer::loop() {
  auto due = std::chrono::steady_clock::now() + options_.first_delay;
  auto seen = ids_of(log_.members());
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const auto wake = std::min(due, std::chrono::steady_clock::now() + std::chrono::seconds(1));
    cv_.wait_until(lock, wake, [this] { return stopping_.load(); });
    if (stopping_) break;
    const auto now_members = ids_of(log_.members());
    if (now_members != seen) {
      seen = now_members;
      due = std::chrono::steady_clock::now();
    }
    if (std::chrono::steady_clock::now() < due) continue;
    lock.unlock();
    const auto result = pass(true);
    lock.lock();
    const bool synced = result.error().empty();
    due = std::chrono::steady_clock::now() +
          (synced ? options_.interval : std::min(options_.interval, options_.retry_delay));
  }
}

template <class T>
bool Repairer::wait(std::future<T>& f) const {
  const auto deadline = std::chrono::steady_clock::now() + transfer_.timeout;
  while (f.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    if (stopping_ || std::chrono::steady_clock::now() >= deadline) return false;
  }
  return true;
}

bool Repairer::sync_with_leader() {
  auto done = std::make_shared<std::promise<bool>>();
  auto f = done->get_future();
  log_.read_barrier([done](Status st) { done->set_value(st.ok()); });
  return wait(f) && f.get();
}

bool Repairer::re_replicate(const pb::FileEntry& e, const std::vector<apps::Member>& members,
                            std::vector<std::string> live, std::size_t wanted, std::vector<std::string>& unreachable) {
  if (auto st = ensure_local_(e); !st.ok()) {
    log::warn("files_replicate", "fail", {{"name", e.name()}, {"reason", st.error().message}});
    return false;
  }
  std::vector<std::string> next = live;
  for (const auto& m : choose_replicas(self_, members, e.sha256(), members.size())) {
    if (next.size() >= wanted) break;
    if (contains(next, m.id) || contains(unreachable, m.client_address)) continue;
    if (m.id != self_) {
      auto st = push_blob(store_, m.client_address, e.sha256(), e.size(), transfer_);
      if (!st.ok()) {
        // A member that is down costs one attempt per pass, not one per file.
        if (st.error().code == Errc::unavailable || st.error().code == Errc::timeout)
          unreachable.push_back(m.client_address);
        log::warn("files_replicate", "fail", {{"name", e.name()}, {"replica", m.id}, {"reason", st.error().message}});
        continue;
      }
    }
    next.push_back(m.id);
  }
  if (next.size() == live.size()) return false;
  pb::FilesCommand cmd;
  auto* set = cmd.mutable_set_replicas();
  set->set_name(e.name());
  set->set_sha256(e.sha256());
  for (const auto& id : next) set->add_replicas(id);
  auto done = std::make_shared<std::promise<Result<std::string>>>();
  auto f = done->get_future();
  log_.propose("files", cmd.SerializeAsString(), [done](Result<std::string> r) { done->set_value(std::move(r)); });
  if (!wait(f)) return false;
  auto res = f.get();
  pb::FilesApplied applied;
  if (!res.ok() || !applied.ParseFromString(res.value()) || !applied.found()) {
    log::warn("files_replicate", "fail",
              {{"name", e.name()}, {"reason", res.ok() ? "the name changed meanwhile" : res.error().message}});
    return false;
  }
  std::string ids;
  for (const auto& id : next) ids += (ids.empty() ? "" : ",") + id;
  log::info("files_replicate", "success", {{"name", e.name()}, {"sha256", e.sha256()}, {"replicas", ids}});
  ++replicated_;
  return next.size() >= wanted;
}

pb::FilesNodeCheck Repairer::pass(bool repair) {
  std::lock_guard one(pass_mu_);
  running_ = true;
  const auto started = std::chrono::steady_clock::now();
  pb::FilesNodeCheck out;
  out.set_node(self_);
  // Caught up with the leader: the catalogue holds every committed entry,
  // so a blob it does not name is really unreferenced.
  const bool synced = sync_with_leader();
  const auto entries = catalogue_.all();
  const auto members = log_.members();
  const auto member_ids = ids_of(members);
  const std::size_t wanted = std::max<std::size_t>(1, std::min(options_.replicas, members.size()));
  std::unordered_set<std::string> referenced;
  std::vector<std::string> unreachable;
  for (const auto& e : entries) {
    referenced.insert(e.sha256());
    if (stopping_) continue;  // shutting down: only the references still count
    if (contains({e.replicas().begin(), e.replicas().end()}, self_)) {
      out.set_files(out.files() + 1);
      auto here = store_.verify(e.sha256());
      if (!here.ok()) {
        const bool missing = here.error().code == Errc::not_found;
        if (!missing) log::warn("files_blob", "fail", {{"sha256", e.sha256()}, {"reason", here.error().message}});
        if (repair && ensure_local_(e).ok()) {
          if (missing) {
            out.set_fetched(out.fetched() + 1);
            ++fetched_;
          } else {
            out.set_repaired(out.repaired() + 1);
            ++repaired_;
          }
        } else {
          (missing ? out.add_missing() : out.add_corrupt())->assign(e.name());
        }
      }
    }
    std::vector<std::string> live;
    for (const auto& id : e.replicas()) {
      if (member_ids.count(id) && !contains(live, id)) live.push_back(id);
    }
    if (live.size() >= wanted || members.empty()) continue;
    const std::string& responsible = live.empty() ? members.front().id : live.front();
    if (responsible != self_) continue;
    if (repair && re_replicate(e, members, live, wanted, unreachable)) {
      out.set_replicated(out.replicated() + 1);
      continue;
    }
    out.add_under_replicated(e.name());
  }
  // The collector. Temporary files of uploads idle past the grace go too.
  const std::int64_t now_s = unix_ms() / 1000;
  const std::int64_t before = now_s - std::chrono::duration_cast<std::chrono::seconds>(options_.gc_grace).count();
  const bool collect = repair && synced && !stopping_;
  const auto blobs = store_.list(collect ? before : std::numeric_limits<std::int64_t>::min());
  std::uint64_t kept = 0;
  for (const auto& b : blobs) {
    if (collect && !referenced.count(b.hash) && b.mtime < before) {
      if (store_.remove_if_unchanged(b.hash, b.mtime).ok()) {
        log::info("files_collect", "success", {{"sha256", b.hash}});
        out.set_collected(out.collected() + 1);
        ++collected_;
        continue;
      }
    }
    ++kept;
  }
  out.set_blobs(kept);
  // Space of collected packed blobs back: segments mostly garbage rewritten.
  if (collect) store_.compact();
  if (!synced) out.set_error("cannot reach the leader: unreferenced blobs not collected");
  const auto millis = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  out.set_millis(millis);
  missing_ = static_cast<std::uint64_t>(out.missing_size());
  corrupt_ = static_cast<std::uint64_t>(out.corrupt_size());
  under_ = static_cast<std::uint64_t>(out.under_replicated_size());
  last_pass_millis_ = millis;
  last_pass_ms_ = unix_ms();
  ++passes_;
  running_ = false;
  log::info("files_pass", "success",
            {{"repair", repair ? "true" : "false"},
             {"files", std::to_string(out.files())},
             {"missing", std::to_string(out.missing_size())},
             {"corrupt", std::to_string(out.corrupt_size())},
             {"under_replicated", std::to_string(out.under_replicated_size())},
             {"fetched", std::to_string(out.fetched())},
             {"repaired", std::to_string(out.repaired())},
             {"replicated", std::to_string(out.replicated())},
             {"collected", std::to_string(out.collected())},
             {"millis", std::to_string(millis)}});
  return out;
}

void Repairer::add_status(json::Object& o) const {
  o.add("under_replicated", under_.load())
      .add("missing", missing_.load())
      .add("corrupt", corrupt_.load())
      .add("repairs_running", static_cast<std::uint64_t>(running_.load() ? 1 : 0))
      .add("passes", passes_.load())
      .add("last_pass_ms", last_pass_ms_.load())
      .add("last_pass_millis", last_pass_millis_.load())
      .add("pass_fetched", fetched_.load())
      .add("pass_repaired", repaired_.load())
      .add("replicated", replicated_.load())
      .add("collected", collected_.load());
}

std::string Repairer::metrics() const {
  std::string s;
  auto counter = [&s](const char* name, const char* help, std::uint64_t v, const char* type = "counter") {
    s += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
         std::to_string(v) + "\n";
  };
  counter("minga_files_repair_passes_total", "Repair passes run on this node.", passes_.load());
  counter("minga_files_repair_fetched_total", "Missing blobs the repair pass fetched from a replica.", fetched_.load());
  counter("minga_files_repair_repaired_total", "Corrupt blobs the repair pass replaced with good bytes.",
          repaired_.load());
  counter("minga_files_replicated_total", "Files copied to new replicas (replica set updated).", replicated_.load());
  counter("minga_files_collected_total", "Unreferenced blobs deleted after the grace period.", collected_.load());
  counter("minga_files_under_replicated",
          "Files this node is responsible for that the last pass left under-replicated.", under_.load(), "gauge");
  counter("minga_files_missing", "Blobs this node should hold that the last pass left missing.", missing_.load(),
          "gauge");
  counter("minga_files_corrupt", "Blobs the last pass left corrupt.", corrupt_.load(), "gauge");
  return s;
}

}  // namespace minga::files
