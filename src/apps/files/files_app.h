// Files: named files stored on a few replicas of the cluster
// (docs/files.md, docs/adr/006-files.md). The names are a catalogue
// replicated through the log; the bytes are blobs by SHA-256 in each
// replica's DATA_DIR/blobs, moved between nodes over their client ports,
// never through the log.
//
// Threads: frame handlers run on I/O threads and only decode, look up,
// append upload chunks and hand small pushed blobs to the blob journal
// (which answers them once durable, from its own syncer thread);
// whatever waits on disk sync or on another node (a put's commit, a blob
// push, a fetch, a full hash check) runs on the app's own pools (one for
// puts, gets and checks, which wait on other nodes; one for the pushes of
// big blobs to their replicas; one for landing blobs that other nodes push
// in chunks, which waits on this disk). The small pushes of all puts to one
// replica share that replica's pusher thread and connection (transfer.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "apps/api/app.h"
#include "apps/files/blob_store.h"
#include "apps/files/catalogue.h"
#include "apps/files/repair.h"
#include "apps/files/transfer.h"
#include "base/thread_pool.h"

namespace minga::files {

class FilesApp final : public apps::App {
 public:
  std::string_view name() const override { return "files"; }
  Status start(apps::NodeServices& node) override;
  void stop() override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Upload {
    std::unique_ptr<BlobWriter> writer;
    Clock::time_point touched;
  };

  void on_upload(std::string_view body, const apps::ResponderPtr& r);
  void on_put(std::string_view body, const apps::ResponderPtr& r);
  void on_blob_commit(std::string_view body, const apps::ResponderPtr& r);
  void on_get(std::string_view body, const apps::ResponderPtr& r);
  void on_blob_read(std::string_view body, const apps::ResponderPtr& r);
  void on_list(std::string_view body, const apps::ResponderPtr& r);
  void on_stat(std::string_view body, const apps::ResponderPtr& r);
  void on_remove(std::string_view body, const apps::ResponderPtr& r);
  void on_check(std::string_view body, const apps::ResponderPtr& r);

  // Drops the uploads idle longer than upload_idle_ (holding mu_).
  void drop_idle_uploads_locked();
  // Takes upload `id` out of the table (nullptr if unknown).
  std::unique_ptr<BlobWriter> take_upload(std::uint64_t id);
  // Whether `data` may be the whole blob sent inside a put or commit
  // (refused with an upload_id, above one chunk or files.max_size).
  Status check_inline(std::uint64_t upload_id, std::string_view data);
  // A writer holding `data` (checked as above), in memory if small.
  Result<std::unique_ptr<BlobWriter>> inline_writer(std::uint64_t upload_id, std::string_view data);
  // A pushed blob up to this size is hashed on the I/O thread (about 60 us);
  // a bigger one on disk_pool_.
  static constexpr std::size_t kHashHereBytes = 16u << 10;
  // Makes blob `hash` durable here from upload `id` (0: it must be here).
  Result<std::uint64_t> land_blob(std::uint64_t id, const std::string& hash);
  // Pool: push a blob to its replicas and commit its entry. The blob is
  // landed here already, or `local` (a small upload whose bytes are
  // checked) lands it here while the pushes send its bytes.
  void replicate_and_commit(pb::FileEntry entry, const apps::ResponderPtr& r, std::unique_ptr<BlobWriter> local);
  // The same for a put whose whole blob (at most kHashHereBytes, hashed
  // and checked) came with it, without a thread waiting: the pushes go
  // through the replicas' pushers and this node's copy through the
  // journal, and the last of them to answer proposes the entry.
  void replicate_and_commit_small(pb::FileEntry entry, const apps::ResponderPtr& r, std::string bytes);
  // The replica set of a new blob (this node first when it is one) and,
  // in `wanted`, how many replicas it should have.
  std::vector<apps::Member> put_targets(const std::string& hash, std::size_t& wanted) const;
  // After the pushes: the replicas holding the blob go into `entry`, which
  // is proposed if they are a write quorum of `wanted`; answers `r` either
  // way.
  void commit_put(pb::FileEntry entry, const std::vector<apps::Member>& targets, std::size_t wanted,
                  const std::vector<Status>& results, const apps::ResponderPtr& r);
  // Small puts between their arrival and their proposal, at most
  // kMaxSmallPuts (busy past that): they hold no thread, so this bounds
  // the memory they hold instead.
  std::atomic<std::size_t> small_puts_{0};
  static constexpr std::size_t kMaxSmallPuts = 4096;
  // Pool: a good local copy of the entry's blob, fetched or repaired from a
  // replica if this node lacks it or holds wrong bytes.
  Status ensure_local(const pb::FileEntry& entry);
  // Runs `job` on `pool`, or answers busy.
  static void offload(ThreadPool& pool, const apps::ResponderPtr& r, std::function<void()> job);
  // Runs `then` after the read barrier (now if `stale`).
  void after_barrier(bool stale, const apps::ResponderPtr& r, std::function<void()> then);
  // Checks `name`, waits for the barrier, and runs `then` with its entry;
  // answers invalid_argument or not_found itself.
  void with_entry(const std::string& name, bool stale, const apps::ResponderPtr& r,
                  std::function<void(pb::FileEntry)> then);
  // A read's length: `asked`, at most one chunk; 0 asks for one chunk.
  std::size_t read_length(std::uint64_t asked) const;

  // Set by stop(): a landing answered after it proposes nothing.
  std::atomic<bool> stopping_{false};
  apps::NodeServices* node_ = nullptr;
  apps::Replication* log_ = nullptr;
  std::unique_ptr<BlobStore> store_;
  // Puts and gets, which wait on other nodes; and landing blobs pushed by
  // other nodes in chunks, which waits only on this disk. Two pools, so that
  // nodes pushing to each other with every put thread busy still land the
  // blobs (a small pushed blob holds no thread while it waits).
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<ThreadPool> disk_pool_;
  // Pushes of blobs above one chunk to the replicas (each waits on another
  // node); the smaller go through the replicas' pushers, batched.
  std::unique_ptr<ThreadPool> push_pool_;
  std::unique_ptr<Pushers> pushers_;
  Catalogue catalogue_;
  std::unique_ptr<Repairer> repairer_;
  TransferOptions transfer_;
  std::size_t replicas_ = 3;
  std::uint64_t max_size_ = 1ull << 30;
  std::size_t max_uploads_ = 64;
  std::chrono::milliseconds upload_idle_{60000};

  std::mutex mu_;
  std::map<std::uint64_t, Upload> uploads_;
  std::uint64_t next_upload_ = 1;
  std::uint64_t repairs_ = 0;
  std::uint64_t fetches_ = 0;
};

}  // namespace minga::files
