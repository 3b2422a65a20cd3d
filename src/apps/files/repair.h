// The files app's repair pass (docs/files.md#repair): on each node, in the
// background (soon after start, every files.repair_interval, and soon after
// the membership changes) and on demand (`minga files check|repair`):
//
// - every file whose replica set lists this node: its blob is re-hashed; a
//   missing or corrupt blob is fetched from a replica whose bytes hash right
//   (a replica answering wrong bytes is never believed);
// - every file this node is responsible for (the first of its replicas that
//   is still a member; the first member when none is) with fewer member
//   replicas than wanted: the blob is copied to new replicas chosen among
//   the members and the replica set updated through the log;
// - once this node has caught up with the leader (read barrier), blobs no
//   entry refers to, last written more than files.gc_grace ago, are deleted.
//
// Blocking (disk and network): runs on its own thread or the app's pool,
// never on an I/O thread; one pass at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "apps/api/replicated.h"
#include "apps/files/blob_store.h"
#include "apps/files/catalogue.h"
#include "apps/files/transfer.h"
#include "base/json.h"
#include "proto/files.pb.h"

namespace minga::files {

struct RepairOptions {
  std::chrono::milliseconds interval{300000};   // files.repair_interval
  std::chrono::milliseconds first_delay{2000};  // the pass soon after start
  std::chrono::milliseconds retry_delay{5000};  // next pass when one could not sync with the leader
  std::chrono::milliseconds gc_grace{3600000};  // files.gc_grace
  std::size_t replicas = 3;                     // files.replicas
};

class Repairer {
 public:
  // `ensure_local` gives this node a good copy of an entry's blob (fetched
  // or repaired from a replica), or says why it cannot.
  Repairer(std::string self, BlobStore& store, Catalogue& catalogue, apps::Replication& log, TransferOptions transfer,
           RepairOptions options, std::function<Status(const pb::FileEntry&)> ensure_local);
  ~Repairer();

  // Starts and stops the background thread.
  void start();
  void stop();

  // One pass now (waits for a running one); `repair` fixes what it finds.
  pb::FilesNodeCheck pass(bool repair);

  // /status files section fields and /metrics lines.
  void add_status(json::Object& o) const;
  std::string metrics() const;

 private:
  void loop();
  // Copies the entry's blob to members until `wanted` member replicas hold
  // it and proposes the new set; true once committed with enough replicas.
  bool re_replicate(const pb::FileEntry& e, const std::vector<apps::Member>& members, std::vector<std::string> live,
                    std::size_t wanted, std::vector<std::string>& unreachable);
  bool sync_with_leader();
  // Waits for `f` up to the transfer timeout, or less if the node stops.
  template <class T>
  bool wait(std::future<T>& f) const;

  const std::string self_;
  BlobStore& store_;
  Catalogue& catalogue_;
  apps::Replication& log_;
  const TransferOptions transfer_;
  const RepairOptions options_;
  const std::function<Status(const pb::FileEntry&)> ensure_local_;

  std::mutex pass_mu_;  // one pass at a time
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stopping_{false};

  std::atomic<bool> running_{false};
  std::atomic<std::uint64_t> passes_{0}, fetched_{0}, repaired_{0}, replicated_{0}, collected_{0};
  std::atomic<std::uint64_t> missing_{0}, corrupt_{0}, under_{0};  // what the last pass left
  std::atomic<std::int64_t> last_pass_ms_{0};                      // unix ms of the last pass's end; 0 = none
  std::atomic<std::uint64_t> last_pass_millis_{0};
};

}  // namespace minga::files
