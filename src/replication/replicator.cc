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
    : io_(io), opt_(std::move(options)), self_(node_number(opt_.id)) {}

Replicator::~Replicator() { stop(); }

void Replicator::register_state(std::string name, apps::ReplicatedState& state) { states_[std::move(name)] = &state; }

std::string Replicator::raft_address() const {
  return opt_.advertise_raft.empty() ? opt_.raft_host + ":" + std::to_string(raft_port_) : opt_.advertise_raft;
}

Status Replicator::load_members() {
  static storage::PosixFileSystem fs;
  const std::string dir = (std::filesystem::path(opt_.data_dir) / "raft").string();
  if (auto st = fs.create_dir(opt_.data_dir); !st.ok()) return st;
  if (auto st = fs.create_dir(dir); !st.ok()) return st;
  std::map<std::string, std::string> wanted = opt_.peers;
  wanted[opt_.id] = raft_address();
  auto text = fs.read(dir + "/" + kMembersFile, 1u << 20);
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
      log::warn(
          "cluster_members", "fail",
          {{"reason", "--peers disagrees with the membership recovered from " + dir + "; using the recovered one"},
           {"recovered", encode_members(others)}});
    }
    members_[opt_.id] = raft_address();
    return ok_status();
  }
  members_ = std::move(wanted);
  return storage::write_atomically(fs, dir, kMembersFile, encode_members(members_));
}

Status Replicator::start(apps::Router& router, const std::string& client_address, const std::string& monitor_address) {
  TransportOptions to;
  to.self = opt_.id;
  to.client_address = client_address;
  to.monitor_address = monitor_address;
  to.secret = opt_.secret;
  to.listen_host = opt_.raft_host;
  to.listen_port = opt_.raft_port;
  to.read_timeout = opt_.tick * (opt_.election_ticks * 4);
  transport_ = std::make_unique<PeerTransport>(io_, to, [this](std::vector<raft::Message> ms) {
    if (driver_) driver_->deliver(std::move(ms));
  });
  auto port = transport_->start();
  if (!port.ok()) return port.error();
  raft_port_ = port.value();
  if (auto st = load_members(); !st.ok()) return st;
  transport_->set_peers(members_);

  raft::Membership bootstrap;
  for (const auto& [id, address] : members_) bootstrap.voters.insert(node_number(id));
  static storage::PosixFileSystem fs;
  const std::string dir = (std::filesystem::path(opt_.data_dir) / "raft").string();
  auto storage = storage::RaftStorage::open(fs, dir, bootstrap);
  if (!storage.ok())
    return Error{Errc::internal, "cannot open the Raft log in " + dir + ": " + storage.error().message};
  const auto& report = storage.value()->report();
  const auto& init = storage.value()->initial_state();
  log::info("raft_recover", "success",
            {{"dir", dir},
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
  d.name_of = [t = transport_.get()](raft::NodeId n) { return t->name_of(n); };
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
  propose_here(rc.SerializeAsString(), std::move(done), true, std::string(name), std::move(command));
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
  return s.SerializeAsString();
}

Status Replicator::restore(const std::string& data) {
  pb::StateSnapshot s;
  if (!s.ParseFromString(data)) return Error{Errc::internal, "the snapshot does not decode"};
  for (auto& [name, state] : states_) {
    auto it = s.apps().find(name);
    if (auto st = state->restore(it == s.apps().end() ? std::string_view() : std::string_view(it->second)); !st.ok()) {
      return Error{Errc::internal, "app " + name + ": " + st.error().message};
    }
  }
  return ok_status();
}

void Replicator::send(std::vector<raft::Message> messages) { transport_->send(std::move(messages)); }

void Replicator::tick() {
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
    m->set_role(s.membership.is_learner(n) ? "learner" : n == s.leader ? "leader" : "follower");
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
  router.add(pb::CLUSTER_STATUS_REQUEST, [this](std::string_view, apps::ResponderPtr r) {
    r->reply(pb::CLUSTER_STATUS_RESPONSE, cluster_status(opt_.id, self_, driver_->status(), *transport_, raft_address(),
                                                         opt_.tick * opt_.election_ticks));
  });
}

}  // namespace minga::replication
