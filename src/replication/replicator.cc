#include "replication/replicator.h"

#include <filesystem>
#include <random>
#include <sstream>

#include <google/protobuf/util/json_util.h>

#include "base/log.h"
#include "proto/raft.pb.h"
#include "replication/codec.h"
#include "storage/file_system.h"

namespace minga::replication {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kMembersFile = "members";
constexpr const char* kMembersApp = "minga.members";

std::string encode_members(const std::map<std::string, std::string>& members) {
  std::string out;
  for (const auto& [id, address] : members) out += id + " " + address + "\n";
  return out;
}

std::map<std::string, std::string> decode_members(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string id, address;
  while (in >> id >> address) out[id] = address;
  return out;
}

const char* role_word(raft::RoleKind r) {
  switch (r) {
    case raft::RoleKind::leader:
      return "leader";
    case raft::RoleKind::candidate:
      return "candidate";
    case raft::RoleKind::pre_candidate:
      return "pre_candidate";
    case raft::RoleKind::follower:
      break;
  }
  return "follower";
}

}  // namespace

Replicator::Replicator(boost::asio::io_context& io, ReplicatorOptions options)
    : io_(io),
      opt_(std::move(options)),
      self_(node_number(opt_.id)),
      raft_dir_((std::filesystem::path(opt_.data_dir) / "raft").string()) {}

Replicator::~Replicator() { stop(); }

void Replicator::register_state(std::string name, apps::ReplicatedState& state) { states_[std::move(name)] = &state; }

std::string Replicator::raft_address() const {
  return opt_.advertise_raft.empty() ? opt_.raft_host + ":" + std::to_string(raft_port_) : opt_.advertise_raft;
}

Status Replicator::load_members() {
  if (auto st = fs_.create_dir(opt_.data_dir); !st.ok()) return st;
  if (auto st = fs_.create_dir(raft_dir_); !st.ok()) return st;
  std::map<std::string, std::string> wanted = opt_.peers;
  wanted[opt_.id] = raft_address();
  auto text = fs_.read(raft_dir_ + "/" + kMembersFile, 1u << 20);
  if (text.ok()) {
    members_ = decode_members(text.value());
    if (!members_.contains(opt_.id)) {
      return Error{Errc::invalid_argument, "the data dir " + opt_.data_dir +
                                               " belongs to another node (its members "
                                               "do not include '" +
                                               opt_.id + "')"};
    }
    std::map<std::string, std::string> others = members_;
    others.erase(opt_.id);
    if (!opt_.peers.empty() && opt_.peers != others) {
      log::warn("cluster_members", "fail",
                {{"reason",
                  "--peers disagrees with the membership recovered from " + raft_dir_ + "; using the recovered one"},
                 {"recovered", encode_members(others)}});
    }
    members_[opt_.id] = raft_address();
    return ok_status();
  }
  members_ = std::move(wanted);
  return storage::write_atomically(fs_, raft_dir_, kMembersFile, encode_members(members_));
}

Status Replicator::start(apps::Router& router, const std::string& client_address, const std::string& monitor_address) {
  TransportOptions to;
  to.self = opt_.id;
  to.client_address = client_address;
  to.monitor_address = monitor_address;
  to.secret = opt_.secret;
  to.listen_host = opt_.raft_host;
  to.listen_port = opt_.raft_port;
  to.raft_address = opt_.advertise_raft;  // "": the bound address
  to.read_timeout = opt_.tick * (opt_.election_ticks * 4);
  to.snapshot_dir = raft_dir_;  // an incoming snapshot is assembled beside the log
  to.on_duplicate_id = [](const std::string& reason) {
    log::error("node_start", "fail", {{"reason", reason}});
    spdlog::default_logger()->flush();
    std::_Exit(1);
  };
  transport_ = std::make_unique<PeerTransport>(io_, to, [this](std::vector<raft::Message> ms) {
    if (driver_) driver_->deliver(std::move(ms));
  });
  auto port = transport_->start();
  if (!port.ok()) return port.error();
  raft_port_ = port.value();
  if (auto st = load_members(); !st.ok()) return st;
  {
    std::lock_guard lock(members_mu_);
    transport_->set_peers(members_);
  }

  raft::Membership bootstrap;
  if (!opt_.join_existing) {
    for (const auto& [id, address] : members_) bootstrap.voters.insert(node_number(id));
  }
  auto storage = storage::RaftStorage::open(fs_, raft_dir_, bootstrap);
  if (!storage.ok())
    return Error{Errc::internal, "cannot open the Raft log in " + raft_dir_ + ": " + storage.error().message};
  const auto& report = storage.value()->report();
  const auto& init = storage.value()->initial_state();
  log::info("raft_recover", "success",
            {{"dir", raft_dir_},
             {"fresh", report.fresh ? "yes" : "no"},
             {"term", std::to_string(init.hard_state.term.value)},
             {"snapshot_index", std::to_string(init.snapshot.index.value)},
             {"entries", std::to_string(init.entries.size())},
             {"members", std::to_string(members_.size())}});

  forwarder_ = std::make_unique<Forwarder>(io_, opt_.request_timeout, opt_.max_frame_bytes);
  DriverOptions d;
  d.id = self_;
  d.tick = opt_.tick;
  d.heartbeat_ticks = opt_.heartbeat_ticks;
  d.election_ticks = opt_.election_ticks;
  d.snapshot_entries = opt_.snapshot_entries;
  d.request_timeout = opt_.request_timeout;
  d.seed = std::random_device{}() ^ (static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()) << 1);
  d.name_of = [this](raft::NodeId n) { return name_of(n); };
  driver_ = std::make_unique<Driver>(d, std::move(storage.value()), *this, *this);
  register_handlers(router);
  if (auto st = driver_->start(); !st.ok()) return st;
  started_ = true;
  log::info("raft_start", "success",
            {{"id", opt_.id},
             {"raft_address", raft_address()},
             {"voters", std::to_string(bootstrap.voters.size())},
             {"authentication", opt_.secret.empty() ? "none (Raft port on loopback only)" : "cluster secret"}});
  return ok_status();
}

void Replicator::stop() {
  if (!started_) return;
  started_ = false;
  if (driver_) driver_->stop();
  if (forwarder_) forwarder_->stop();
  if (transport_) transport_->stop();
  log::info("shutdown", "success", {{"resource", "raft"}, {"raft_address", raft_address()}});
}

void Replicator::propose(std::string_view name, std::string command, apps::ProposeCallback done) {
  if (command.size() > opt_.max_command_bytes) {
    done(Error{Errc::invalid_argument, "a command of " + std::to_string(command.size()) +
                                           " bytes is above the log's limit of " +
                                           std::to_string(opt_.max_command_bytes)});
    return;
  }
  if (!driver_) {
    done(Error{Errc::not_yet, "the replicated log is not started yet"});
    return;
  }
  pb::ReplicatedCommand rc;
  rc.set_app(std::string(name));
  rc.set_command(command);
  proposals_in_flight_.fetch_add(1, std::memory_order_relaxed);
  propose_here(
      rc.SerializeAsString(),
      [this, done = std::move(done)](Result<std::string> r) {
        done(std::move(r));
        proposals_in_flight_.fetch_sub(1, std::memory_order_relaxed);
      },
      true, std::string(name), std::move(command));
}

void Replicator::propose_here(std::string data, std::function<void(Result<std::string>)> done, bool may_forward,
                              std::string app, std::string command) {
  // A follower that knows the leader forwards at once, without a turn of the
  // raft loop that would only refuse the proposal (two thread hand-offs per
  // write). If the hint is stale, the leader it names refuses a forwarded
  // write with not_leader, as it would after the slow path.
  if (may_forward) {
    const raft::NodeId hint = driver_->leader_hint();
    if (hint != raft::kNoNode && hint != self_) {
      const std::string address = transport_->client_address_of(hint);
      if (!address.empty()) {
        forwarder_->forward(address, std::move(app), std::move(command), std::move(done));
        return;
      }
    }
  }
  driver_->propose(std::move(data), [this, done = std::move(done), may_forward, app = std::move(app),
                                     command = std::move(command)](Result<std::string> r) mutable {
    if (r.ok() || r.error().code != Errc::not_leader) {
      done(std::move(r));
      return;
    }
    const raft::NodeId leader = driver_->status().leader;
    if (leader == raft::kNoNode || leader == self_) {
      done(Error{Errc::not_leader, "no leader now (an election is under way); retry"});
      return;
    }
    const std::string address = transport_->client_address_of(leader);
    if (!may_forward || address.empty()) {
      const std::string name = transport_->name_of(leader);
      done(
          Error{Errc::not_leader, "not the leader; the leader is " + name + (address.empty() ? "" : " at " + address)});
      return;
    }
    forwarder_->forward(address, std::move(app), std::move(command), std::move(done));
  });
}

void Replicator::read_barrier(apps::BarrierCallback ready) {
  if (!driver_) {
    ready(Error{Errc::not_yet, "the replicated log is not started yet"});
    return;
  }
  driver_->read_barrier([this, ready = std::move(ready)](Status st) {
    if (!st.ok() && st.error().code == Errc::not_leader) {
      ready(Error{Errc::not_leader, "no leader now (an election is under way); retry"});
      return;
    }
    ready(std::move(st));
  });
}

std::string Replicator::apply(const raft::Entry& entry) {
  pb::ReplicatedCommand rc;
  if (!rc.ParseFromString(entry.data)) {
    log::warn("apply", "fail", {{"index", std::to_string(entry.index.value)}, {"reason", "not a replicated command"}});
    return {};
  }
  if (rc.app() == kMembersApp) return apply_members(rc.command());
  auto it = states_.find(rc.app());
  if (it == states_.end()) {
    log::warn("apply", "fail", {{"index", std::to_string(entry.index.value)}, {"reason", "unknown app " + rc.app()}});
    return {};
  }
  return it->second->apply(entry.index.value, rc.command());
}

std::string Replicator::snapshot() {
  pb::StateSnapshot s;
  for (auto& [name, state] : states_) (*s.mutable_apps())[name] = state->snapshot();
  pb::Members members;
  {
    std::lock_guard lock(members_mu_);
    for (const auto& [id, address] : members_) {
      auto* m = members.add_members();
      m->set_id(id);
      m->set_raft_address(address);
    }
  }
  (*s.mutable_apps())[kMembersApp] = members.SerializeAsString();
  return s.SerializeAsString();
}

std::string Replicator::apply_members(std::string_view command) {
  pb::MemberAddress m;
  if (!m.ParseFromArray(command.data(), static_cast<int>(command.size())) || m.id().empty()) {
    log::warn("apply", "fail", {{"reason", "a member address that does not decode"}});
    return {};
  }
  std::lock_guard lock(members_mu_);
  if (m.id() == opt_.id) return {};  // this node knows its own address
  members_[m.id()] = m.raft_address();
  save_members_locked();
  log::info("cluster_members", "success", {{"member", m.id()}, {"raft_address", m.raft_address()}});
  return {};
}

void Replicator::save_members_locked() {
  if (auto st = storage::write_atomically(fs_, raft_dir_, kMembersFile, encode_members(members_)); !st.ok()) {
    log::warn("cluster_members", "fail", {{"reason", "cannot save " + raft_dir_ + "/members: " + st.error().message}});
  }
}

// The transport dials the members of the current configuration whose
// address is known, and for 10 s those just removed, so that they learn of
// their removal and stay quiet (the raft loop, every tick).
void Replicator::reconcile_peers() {
  const raft::Membership m = driver_->status().membership;
  const auto now = Clock::now();
  for (raft::NodeId gone : last_membership_.voters) {
    if (!m.contains(gone)) removed_at_[transport_->name_of(gone)] = now;
  }
  for (raft::NodeId gone : last_membership_.learners) {
    if (!m.contains(gone)) removed_at_[transport_->name_of(gone)] = now;
  }
  last_membership_ = m;
  std::erase_if(removed_at_, [&](const auto& kv) { return now - kv.second > std::chrono::seconds(10); });
  std::map<std::string, std::string> dial;
  {
    std::lock_guard lock(members_mu_);
    for (const auto& [id, address] : members_) {
      // A server waiting to join (no membership yet) dials everyone it knows.
      if (m.contains(node_number(id)) || m.voters.empty() || removed_at_.contains(id)) dial[id] = address;
    }
  }
  if (dial == dialled_) return;
  dialled_ = dial;
  transport_->set_peers(dial);
}

void Replicator::change(const std::string& op, const std::string& id, const std::string& raft_address,
                        std::function<void(Result<std::uint64_t>)> done) {
  const raft::NodeId n = node_number(id);
  auto as_index = [done](Result<raft::Index> r) {
    if (!r.ok()) {
      done(r.error());
    } else {
      done(r.value().value);
    }
  };
  if (op == "remove") {
    driver_->change([n](raft::Core& c) { return c.remove(n); }, as_index);
    return;
  }
  if (op == "transfer") {
    driver_->change(
        [n](raft::Core& c) -> Result<raft::Index> {
          auto st = c.transfer_leadership(n);
          if (!st.ok()) return st.error();
          return raft::Index(0);
        },
        as_index);
    return;
  }
  // add: the address first (so every node can dial it), then the learner.
  pb::MemberAddress m;
  m.set_id(id);
  m.set_raft_address(raft_address);
  pb::ReplicatedCommand rc;
  rc.set_app(kMembersApp);
  rc.set_command(m.SerializeAsString());
  propose_here(rc.SerializeAsString(),
               [this, n, as_index](Result<std::string> r) {
                 if (!r.ok()) {
                   as_index(r.error());
                   return;
                 }
                 driver_->change([n](raft::Core& c) { return c.add_learner(n); }, as_index);
               },
               false, {}, {});
}

Status Replicator::restore(const std::string& data) {
  pb::StateSnapshot s;
  if (!s.ParseFromString(data)) return Error{Errc::internal, "the snapshot does not decode"};
  if (auto it = s.apps().find(kMembersApp); it != s.apps().end()) {
    pb::Members members;
    if (!members.ParseFromString(it->second)) return Error{Errc::internal, "the members in the snapshot do not decode"};
    std::lock_guard lock(members_mu_);
    for (const auto& m : members.members()) {
      if (m.id() != opt_.id) members_[m.id()] = m.raft_address();
    }
    save_members_locked();
  }
  for (auto& [name, state] : states_) {
    auto it = s.apps().find(name);
    if (auto st = state->restore(it == s.apps().end() ? std::string_view() : std::string_view(it->second)); !st.ok()) {
      return Error{Errc::internal, "app " + name + ": " + st.error().message};
    }
  }
  return ok_status();
}

std::vector<apps::Member> Replicator::members() const {
  std::vector<apps::Member> out;
  if (!driver_) return out;
  const raft::Membership m = driver_->status().membership;
  std::lock_guard lock(members_mu_);
  for (const auto& [id, address] : members_) {
    const raft::NodeId n = node_number(id);
    if (m.contains(n)) out.push_back({id, transport_->client_address_of(n)});
  }
  return out;
}

std::string Replicator::name_of(raft::NodeId n) const {
  {
    std::lock_guard lock(members_mu_);
    for (const auto& [id, address] : members_) {
      if (node_number(id) == n) return id;
    }
  }
  return transport_->name_of(n);
}

void Replicator::send(std::vector<raft::Message> messages) {
  for (const raft::Message& m : messages) {
    if (m.type == raft::MessageType::snapshot && m.snapshot) {
      log::info("snapshot_send", "in_progress",
                {{"peer", name_of(m.to)},
                 {"index", std::to_string(m.snapshot->meta.index.value)},
                 {"bytes", std::to_string(m.snapshot->data.size())}});
    }
  }
  transport_->send(std::move(messages));
}

void Replicator::tick() {
  reconcile_peers();
  transport_->tick();
  forwarder_->tick();
}

bool Replicator::leading_with_quorum() const {
  if (!driver_) return false;
  const DriverStatus s = driver_->status();
  if (s.role != raft::RoleKind::leader) return false;
  const auto window = opt_.tick * opt_.election_ticks;
  const auto now = Clock::now();
  std::size_t heard = s.membership.is_voter(self_) ? 1 : 0;
  for (const PeerView& p : transport_->peers()) {
    if (!s.membership.is_voter(node_number(p.id))) continue;
    if (p.last_heard && now - *p.last_heard <= window) ++heard;
  }
  return heard >= s.membership.quorum();
}

bool Replicator::leading() const { return driver_ && driver_->leader_hint() == self_; }

std::string Replicator::leader_client_address() const {
  if (!driver_) return {};
  const raft::NodeId leader = driver_->leader_hint();
  return leader == raft::kNoNode ? std::string() : transport_->client_address_of(leader);
}

std::vector<std::string> Replicator::member_client_addresses() const {
  std::vector<std::string> out;
  if (!driver_) return out;
  const raft::Membership m = driver_->status().membership;
  if (m.contains(self_)) out.push_back(transport_->client_address_of(self_));
  for (const PeerView& p : transport_->peers()) {
    if (m.contains(node_number(p.id)) && !p.client_address.empty()) out.push_back(p.client_address);
  }
  return out;
}

namespace {

pb::ClusterStatusResponse cluster_status(const std::string& self_id, raft::NodeId self, const DriverStatus& s,
                                         const PeerTransport& transport, const std::string& raft_address,
                                         std::chrono::milliseconds window) {
  pb::ClusterStatusResponse r;
  r.set_id(self_id);
  r.set_role(role_word(s.role));
  r.set_term(s.term.value);
  r.set_leader(s.leader == raft::kNoNode ? std::string() : transport.name_of(s.leader));
  r.set_leader_address(s.leader == raft::kNoNode ? std::string() : transport.client_address_of(s.leader));
  r.set_commit_index(s.commit.value);
  r.set_applied_index(s.applied.value);
  r.set_last_index(s.last_index.value);
  r.set_snapshot_index(s.snapshot_index.value);
  const auto now = Clock::now();
  std::size_t reachable_voters = s.membership.is_voter(self) ? 1 : 0;
  auto* me = r.add_members();
  me->set_id(self_id);
  me->set_raft_address(raft_address);
  me->set_client_address(transport.client_address_of(self));
  me->set_monitor_address(transport.options().monitor_address);
  me->set_role(s.membership.is_learner(self) ? "learner" : role_word(s.role));
  me->set_voter(s.membership.is_voter(self));
  me->set_match_index(s.last_index.value);
  me->set_last_contact_seconds(0);
  me->set_link_up(true);
  for (const PeerView& p : transport.peers()) {
    const raft::NodeId n = node_number(p.id);
    auto* m = r.add_members();
    m->set_id(p.id);
    m->set_raft_address(p.raft_address);
    m->set_client_address(p.client_address);
    m->set_monitor_address(p.monitor_address);
    m->set_voter(s.membership.is_voter(n));
    m->set_role(!s.membership.contains(n)    ? "removed"
                : s.membership.is_learner(n) ? "learner"
                : n == s.leader              ? "leader"
                                             : "follower");
    if (auto it = s.match.find(n); it != s.match.end()) {
      m->set_match_index(it->second.value);
      m->set_lag_entries(s.last_index.value - std::min(s.last_index.value, it->second.value));
    }
    m->set_link_up(p.link_up);
    m->set_last_contact_seconds(p.last_heard ? std::chrono::duration<double>(now - *p.last_heard).count() : -1);
    if (m->voter() && p.last_heard && now - *p.last_heard <= window * 2) ++reachable_voters;
  }
  const std::size_t quorum = s.membership.quorum();
  r.set_can_lose(static_cast<std::uint32_t>(reachable_voters > quorum ? reachable_voters - quorum : 0));
  return r;
}

}  // namespace

std::string Replicator::status_json() const {
  if (!driver_) return "null";
  auto r =
      cluster_status(opt_.id, self_, driver_->status(), *transport_, raft_address(), opt_.tick * opt_.election_ticks);
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(r, &out, o);
  return out;
}

std::string Replicator::metrics_text() const {
  if (!driver_) return {};
  const DriverStatus s = driver_->status();
  std::string out;
  auto gauge = [&out](const char* name, const char* help, std::uint64_t v, const char* type = "gauge") {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(v) + "\n";
  };
  gauge("minga_raft_term", "Current Raft term", s.term.value);
  gauge("minga_raft_is_leader", "1 on the leader", s.role == raft::RoleKind::leader ? 1 : 0);
  gauge("minga_raft_commit_index", "Highest committed log index known here", s.commit.value);
  gauge("minga_raft_applied_index", "Highest log index applied to the apps here", s.applied.value);
  gauge("minga_raft_apply_lag_entries", "Committed entries not yet applied",
        s.commit.value - std::min(s.commit.value, s.applied.value));
  gauge("minga_raft_last_index", "Last index of the local log", s.last_index.value);
  gauge("minga_raft_elections_total", "Elections this node started", s.elections, "counter");
  gauge("minga_raft_leader_changes_total", "Leader changes seen", s.leader_changes, "counter");
  gauge("minga_raft_proposals_total", "Commands proposed on this node as leader", s.proposals, "counter");
  out +=
      "# HELP minga_raft_peer_link_up 1 when this node's link to the peer is up\n"
      "# TYPE minga_raft_peer_link_up gauge\n";
  for (const PeerView& p : transport_->peers()) {
    out += "minga_raft_peer_link_up{peer=\"" + p.id + "\"} " + (p.link_up ? "1" : "0") + "\n";
  }
  out += driver_->fsync_histogram_text();
  return out;
}

void Replicator::register_handlers(apps::Router& router) {
  router.add(pb::PROPOSE_REQUEST, [this](std::string_view body, apps::ResponderPtr r) {
    pb::ProposeRequest req;
    if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      r->fail(Errc::bad_frame, "cannot decode ProposeRequest");
      return;
    }
    if (!states_.contains(req.app())) {
      r->fail(Errc::invalid_argument, "no app '" + req.app() + "' on this node");
      return;
    }
    pb::ReplicatedCommand rc;
    rc.set_app(req.app());
    rc.set_command(req.command());
    // Proposed here only: a forwarded write is never forwarded again.
    propose_here(rc.SerializeAsString(),
                 [r](Result<std::string> res) {
                   if (!res.ok()) {
                     r->fail(res.error());
                     return;
                   }
                   pb::ProposeResponse resp;
                   resp.set_result(std::move(res.value()));
                   r->reply(pb::PROPOSE_RESPONSE, resp);
                 },
                 false, {}, {});
  });
  router.add(pb::CLUSTER_CHANGE_REQUEST, [this](std::string_view body, apps::ResponderPtr r) {
    pb::ClusterChangeRequest req;
    if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      r->fail(Errc::bad_frame, "cannot decode ClusterChangeRequest");
      return;
    }
    const std::string& id = req.id();
    if (id.empty() || id.size() > 64 ||
        id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
            std::string::npos) {
      r->fail(Errc::invalid_argument, "a member id is 1 to 64 letters, digits, '-', '_' or '.', got '" + id + "'");
      return;
    }
    const DriverStatus s = driver_->status();
    if (s.role != raft::RoleKind::leader) {
      const std::string address = s.leader == raft::kNoNode ? std::string() : transport_->client_address_of(s.leader);
      r->fail(Errc::not_leader,
              address.empty() ? "not the leader, and no leader is known now; retry"
                              : "not the leader; the leader is " + transport_->name_of(s.leader) + " at " + address);
      return;
    }
    std::string op;
    switch (req.op()) {
      case pb::ClusterChangeRequest::ADD: {
        if (s.membership.contains(node_number(id))) {
          r->fail(Errc::invalid_argument, "'" + id + "' is already a member");
          return;
        }
        if (auto ep = net::parse_endpoint(req.raft_address()); !ep.ok()) {
          r->fail(Errc::invalid_argument, "the Raft address of '" + id + "': " + ep.error().message);
          return;
        }
        op = "add";
        break;
      }
      case pb::ClusterChangeRequest::REMOVE:
        op = "remove";
        break;
      case pb::ClusterChangeRequest::TRANSFER:
        op = "transfer";
        break;
      default:
        r->fail(Errc::invalid_argument, "unknown cluster change");
        return;
    }
    if (op != "add" && !s.membership.contains(node_number(id))) {
      r->fail(Errc::not_found, "'" + id + "' is not a member");
      return;
    }
    log::info("cluster_change", "in_progress", {{"op", op}, {"member", id}});
    change(op, id, req.raft_address(), [r, op, id](Result<std::uint64_t> res) {
      if (!res.ok()) {
        log::warn("cluster_change", "fail", {{"op", op}, {"member", id}, {"reason", res.error().message}});
        r->fail(res.error());
        return;
      }
      log::info("cluster_change", "success", {{"op", op}, {"member", id}, {"index", std::to_string(res.value())}});
      pb::ClusterChangeResponse resp;
      resp.set_index(res.value());
      r->reply(pb::CLUSTER_CHANGE_RESPONSE, resp);
    });
  });
  router.add(pb::CLUSTER_STATUS_REQUEST, [this](std::string_view, apps::ResponderPtr r) {
    r->reply(pb::CLUSTER_STATUS_RESPONSE, cluster_status(opt_.id, self_, driver_->status(), *transport_, raft_address(),
                                                         opt_.tick * opt_.election_ticks));
  });
}

}  // namespace minga::replication
