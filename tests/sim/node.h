// One simulated server: a consensus core, its driver, the real storage code
// (storage::RaftStorage) on a simulated disk, and its append-list state
// machine. The driver follows raft/ready.h to the letter: early messages at
// once; the entries of a Ready are written, then made durable after a
// simulated fsync latency (a crash in between loses or tears the unsynced
// writes), then the hard state is saved, and only then are messages sent,
// entries applied, reads answered and the core advanced. Any storage error
// stops the node (fail-stop); it recovers from its disk on restart.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "base/random.h"
#include "base/result.h"
#include "raft/core.h"
#include "sim/checker.h"
#include "sim/model.h"
#include "sim/sim_fs.h"
#include "storage/raft_storage.h"

namespace minga::sim {

// What a node reports to the world around it.
class NodeHooks {
 public:
  virtual ~NodeHooks() = default;
  virtual void send(raft::Message m) = 0;
  virtual void on_entries(std::uint64_t node, const std::vector<raft::Entry>& entries, raft::Term prev_term) = 0;
  virtual void on_apply(std::uint64_t node, const raft::Entry& e, std::uint64_t state_hash) = 0;
  virtual void on_install(std::uint64_t node, const raft::SnapshotMeta& meta, std::uint64_t state_hash) = 0;
  virtual void on_reply(std::uint64_t op, std::vector<std::uint64_t> result) = 0;
  // The node stopped on a disk error; `recovered` tells whether its disk can
  // be recovered from.
  virtual void on_fail_stop(std::uint64_t node, const Status& recovered) = 0;
  virtual void trace(const std::string& line) = 0;
};

struct NodeOptions {
  std::uint64_t id = 0;
  raft::Config raft;  // id and seed are set by the node
  std::uint64_t max_sync_latency_steps = 2;
  std::uint64_t compact_every_entries = 30;
  std::uint64_t segment_bytes = 4096;  // small: segments rotate and get deleted often
  bool ack_before_sync = false;        // test-only driver bugs (SimOptions)
  bool read_without_read_index = false;
};

class SimNode {
 public:
  SimNode(const NodeOptions& options, NodeHooks& hooks, const raft::Membership& bootstrap);

  std::uint64_t id() const { return opt_.id; }
  bool up() const { return core_ != nullptr; }
  const raft::Core* core() const { return core_.get(); }
  raft::Core* core() { return core_.get(); }
  const ListMachine& machine() const { return sm_; }
  bool write_pending() const { return pending_.has_value(); }
  // The pending write changes the durable term or vote.
  bool pending_vote_change() const;
  // The terms of the durable log (what a restart would load).
  const LogView& durable_log() const { return durable_; }

  // Power loss: volatile state and unsynced writes are lost (or torn). Fails
  // when the disk left behind cannot be recovered, or when recovery lost
  // something that was synced (a storage or driver bug).
  Status crash(Random& rng);
  // Recovers from the disk; fails (the node stays down) on a read error.
  Status restart(std::uint64_t seed);
  // The server is replaced by a brand-new one with the same id: an empty
  // disk and no membership of its own, waiting to be added as a learner.
  Status replace_with_new_server(std::uint64_t seed);

  void tick(std::uint64_t now, Random& rng);
  void deliver(std::uint64_t now, Random& rng, const raft::Message& m);
  // Completes a simulated fsync whose latency has elapsed.
  void poll_disk(std::uint64_t now, Random& rng);

  // Client requests. An error means the request certainly had no effect.
  Status append(std::uint64_t now, Random& rng, std::uint64_t op);
  Status read(std::uint64_t now, Random& rng, std::uint64_t op);

  SimFs& fs() { return fs_; }

 private:
  struct Pending {
    raft::Ready rd;
    std::uint64_t done_at = 0;
  };
  void pump(std::uint64_t now, Random& rng);
  bool start_write(std::uint64_t now, Random& rng);
  Status complete_write();
  storage::StorageOptions storage_options() const;
  void apply(const raft::Entry& e);
  void serve_reads();
  void maybe_compact(Random& rng);
  void fail_stop(Random& rng, const Error& e);
  Status load_durable_view();
  void drop_memory();  // the process is gone: core, storage handle, pending work
  Status lose_volatile_state(Random& rng);

  NodeOptions opt_;
  NodeHooks& hooks_;
  raft::Membership bootstrap_;
  SimFs fs_;
  std::unique_ptr<storage::RaftStorage> store_;
  std::unique_ptr<raft::Core> core_;
  ListMachine sm_;
  std::optional<Pending> pending_;
  raft::HardState durable_hs_;    // as last made durable
  raft::HardState recovered_hs_;  // as the last recovery found it
  LogView durable_;
  std::map<std::uint64_t, raft::Index> appends_;               // op -> index proposed
  std::map<std::uint64_t, std::optional<raft::Index>> reads_;  // op -> read index once confirmed
};

}  // namespace minga::sim
