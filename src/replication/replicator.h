// The host of the apps' replicated state on one node: it owns the Raft
// driver, the peer transport and the forwarder, implements
// apps::Replication for the apps, and applies committed commands to them.
//
// The composition root (cluster/node) creates one, registers the apps'
// states, and starts it. A single node with no peers is a cluster of one:
// the same path, committing after its own fsync.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "apps/api/handlers.h"
#include "apps/api/replicated.h"
#include "replication/driver.h"
#include "replication/forwarder.h"
#include "replication/peer_transport.h"
#include "storage/file_system.h"

namespace boost::asio {
class io_context;
}

namespace minga::replication {

struct ReplicatorOptions {
  std::string id;                            // this node
  std::string data_dir;                      // the Raft state goes in data_dir/raft
  std::map<std::string, std::string> peers;  // id -> Raft HOST:PORT, for the first start
  // A new server joining a running cluster: it starts with no membership of
  // its own and waits for the leader (after `minga cluster add`).
  bool join_existing = false;
  std::string raft_host = "127.0.0.1";
  std::uint16_t raft_port = 7500;
  std::string advertise_raft;  // where peers dial this node; "" = raft_host:bound port
  std::string secret;
  std::chrono::milliseconds tick{50};
  std::uint32_t heartbeat_ticks = 1;
  std::uint32_t election_ticks = 6;
  std::uint64_t snapshot_entries = 10000;
  std::size_t max_command_bytes = 1u << 20;
  std::size_t max_frame_bytes = 4u << 20;  // forwarded proposals (the client port's limit)
  std::chrono::milliseconds request_timeout{10000};
};

class Replicator final : public apps::Replication, public Applier, public Outbox {
 public:
  Replicator(boost::asio::io_context& io, ReplicatorOptions options);
  ~Replicator() override;

  // Opens the log in data_dir/raft (bootstrapping it from `peers` on the
  // first start), binds the Raft port, and registers the cluster requests
  // (PROPOSE_REQUEST, CLUSTER_STATUS_REQUEST, CLUSTER_CHANGE_REQUEST).
  // Call after every app registered its state, before serving clients.
  // `client_address` and `monitor_address` are told to peers (followers
  // forward writes to the leader's client address).
  Status start(apps::Router& router, const std::string& client_address, const std::string& monitor_address);
  void stop();

  // --- apps::Replication
  void register_state(std::string name, apps::ReplicatedState& state) override;
  void propose(std::string_view name, std::string command, apps::ProposeCallback done) override;
  void read_barrier(apps::BarrierCallback ready) override;
  std::vector<apps::Member> members() const override;
  bool leading() const override;

  // Status for /status, `minga cluster status` and /leader.
  std::string status_json() const;
  std::string metrics_text() const;
  // A leader that has heard from a quorum within an election timeout.
  bool leading_with_quorum() const;
  // Apps' proposals made on this node and not answered yet (a draining node
  // waits for them before it stops the log).
  std::size_t proposals_in_flight() const { return proposals_in_flight_.load(std::memory_order_relaxed); }
  std::uint16_t raft_port() const { return raft_port_; }
  // For the coordination on the leader (cluster/leader_coordination), all
  // cheap and thread-safe, as of the raft loop's last turn:
  // this node is the leader (leading(), above);
  // the client address of the leader this node knows of ("" when none);
  std::string leader_client_address() const;
  // the client addresses known of the members of the current
  // configuration, this node's included.
  std::vector<std::string> member_client_addresses() const;
  std::string raft_address() const;

 private:
  // --- Applier (the apply thread)
  std::string apply(const raft::Entry& entry) override;
  std::string snapshot() override;
  Status restore(const std::string& data) override;
  // --- Outbox (the raft loop)
  void send(std::vector<raft::Message> messages) override;
  void tick() override;

  void propose_here(std::string data, std::function<void(Result<std::string>)> done, bool may_forward, std::string app,
                    std::string command);
  void register_handlers(apps::Router& router);
  Status load_members();
  void change(const std::string& op, const std::string& id, const std::string& raft_address,
              std::function<void(Result<std::uint64_t>)> done);
  // The members' addresses: applied from the log, kept in data_dir/raft/members.
  std::string apply_members(std::string_view command);
  void save_members_locked();
  void reconcile_peers();
  std::string name_of(raft::NodeId n) const;

  boost::asio::io_context& io_;
  ReplicatorOptions opt_;
  raft::NodeId self_;
  std::string raft_dir_;  // data_dir/raft: the log, its snapshot and the members file
  storage::PosixFileSystem fs_;
  std::map<std::string, apps::ReplicatedState*> states_;
  mutable std::mutex members_mu_;
  std::map<std::string, std::string> members_;  // id -> Raft address, this node included
  // raft loop: what the transport dials, and members removed lately (they
  // keep hearing from the leader for a while, to learn of their removal).
  std::map<std::string, std::string> dialled_;
  std::map<std::string, std::chrono::steady_clock::time_point> removed_at_;
  raft::Membership last_membership_;
  std::unique_ptr<PeerTransport> transport_;
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<Driver> driver_;
  std::atomic<std::size_t> proposals_in_flight_{0};
  std::uint16_t raft_port_ = 0;
  bool started_ = false;
};

}  // namespace minga::replication
