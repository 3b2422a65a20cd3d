// Moving blobs between nodes over their client ports (docs/files.md): the
// node that took a put pushes the blob to the other replicas; a node that
// lacks a blob, or finds its copy corrupt, fetches it from a replica.
// push_blob, push_bytes and fetch_blob block (net::Client): call them from
// the files app's own threads, never from an I/O thread. A Pusher sends the
// small pushes of many puts to one replica together, on its own thread. The network may lose or cut a transfer at any
// point; a blob becomes visible under its hash only after its bytes hashed right and were made durable, so a cut
// transfer leaves nothing but a temp file.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "apps/api/replicated.h"
#include "apps/files/blob_store.h"
#include "net/client.h"

namespace minga::files {

// Connections to other nodes kept between transfers: a few idle ones per
// address, each handed to one transfer at a time. A kept connection idle
// longer than `max_idle` is closed rather than reused (the node at the
// other end drops idle clients after its read timeout).
class ConnectionPool {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ConnectionPool(std::size_t per_address = 16, std::chrono::milliseconds max_idle = std::chrono::seconds(5))
      : per_address_(per_address), max_idle_(max_idle) {}
  // A kept connection to `address` (reused = true), or a new one.
  Result<net::Client> take(const std::string& address, std::chrono::milliseconds timeout, bool& reused);
  // Keeps `c` for the next transfer to `address` (closed if enough are kept).
  void give(const std::string& address, net::Client c);
  // Closes every kept connection to `address`.
  void forget(const std::string& address);

 private:
  struct Idle {
    net::Client client;
    Clock::time_point since;
  };
  const std::size_t per_address_;
  const std::chrono::milliseconds max_idle_;
  std::mutex mu_;
  std::map<std::string, std::vector<Idle>> idle_;
};

struct TransferOptions {
  std::size_t chunk_bytes = 1u << 20;
  std::chrono::milliseconds timeout{10000};  // per request
  // Kept connections (nullptr: a new connection per transfer).
  std::shared_ptr<ConnectionPool> pool;
  // A Pusher's batch: at most this many pushes, and no push joins a batch
  // past this many bytes of frames (a single bigger one goes alone).
  std::size_t batch_pushes = 256;
  std::size_t batch_bytes = 8u << 20;
  // A Pusher closes its connection after this long without a push (the
  // node at the other end drops idle clients after its read timeout).
  std::chrono::milliseconds pusher_idle{5000};
};

// Makes `address` hold blob `hash` (of `size` bytes) durable, sending it
// from `store` unless the replica already has it.
Status push_blob(const BlobStore& store, const std::string& address, const std::string& hash, std::uint64_t size,
                 const TransferOptions& options);

// The same for a blob whose bytes are at hand (a put's, not yet in place
// here): `data` must hash to `hash`.
Status push_bytes(const std::string& address, const std::string& hash, std::string_view data,
                  const TransferOptions& options);

// The small pushes to one replica (a blob of at most one chunk whose bytes
// are at hand: a put's), batched and pipelined on one connection. push()
// queues the FilesBlobCommit frame, encoded on the caller's thread; the
// pusher's thread sends every push queued, up to the batch bounds, in one
// write, each with its own request id, and completes each push with its
// own answer as it arrives. While a batch is out, new pushes queue for the
// next, so the more puts are in flight, the fewer writes and wake-ups each
// costs. A batch not answered within `timeout` of its sending fails with
// timeout and its connection is closed. A connection that fails fails the
// unanswered pushes of its batch with its error (unavailable) and is
// replaced by a new one for the next batch; when it was kept from an
// earlier batch (the other node may have closed it meanwhile), the
// unanswered pushes go once more on a new connection first (a push is
// idempotent: blobs are named by their hash). The queue needs no bound of
// its own: each push is a put waiting for it on one of the app's threads.
class Pusher {
 public:
  using Clock = std::chrono::steady_clock;
  // The replica's answer; runs once per push on the pusher's thread (on
  // the caller's when the pusher is stopped): it must not block.
  using Done = std::function<void(Status)>;
  struct Counters {
    std::uint64_t pushes = 0;   // pushes sent (a retried one counts once)
    std::uint64_t batches = 0;  // writes of a batch (a retry counts again)
    std::uint64_t retries = 0;  // batches sent again on a new connection
    std::uint64_t connects = 0;
  };

  Pusher(std::string address, TransferOptions options);
  ~Pusher();  // stop()
  Pusher(const Pusher&) = delete;
  Pusher& operator=(const Pusher&) = delete;

  // Makes the replica hold blob `hash` durable, whose bytes are `data`
  // (copied; at most one chunk); `done` gets the replica's answer.
  void push(const std::string& hash, std::string_view data, Done done);
  // Answers every push queued or out with shutting_down, closes the
  // connection and joins the thread; later pushes are answered so at once.
  void stop();
  Counters counters() const;

 private:
  struct Push {
    std::uint64_t id = 0;
    std::string frame;
    Done done;
  };
  void run();
  // Sends `batch` and completes each of its pushes.
  void run_batch(std::vector<Push>& batch);
  // One write of the frames of `pending`, then its answers; completes and
  // removes each answered push. An error leaves the unanswered in it.
  Status exchange(std::vector<Push>& pending);

  const std::string address_;
  const TransferOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Push> queue_;
  std::uint64_t next_id_ = 1;
  std::atomic<bool> stopping_{false};
  Counters counters_;
  std::thread thread_;
  net::Client conn_;  // the pusher's thread only
};

// One Pusher per replica address, made on its first push.
class Pushers {
 public:
  explicit Pushers(TransferOptions options) : options_(std::move(options)) {}
  ~Pushers() { stop(); }
  void push(const std::string& address, const std::string& hash, std::string_view data, Pusher::Done done);
  // Stops every pusher (their pushes are answered with shutting_down).
  void stop();
  // The sums over all pushers.
  Pusher::Counters counters() const;

 private:
  const TransferOptions options_;
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::map<std::string, std::unique_ptr<Pusher>> pushers_;
};

// Copies blob `hash` from `address` into `store`; invalid_argument ("hash
// mismatch") when the replica's bytes are not that blob: they are dropped.
Status fetch_blob(const BlobStore& store, const std::string& address, const std::string& hash,
                  const TransferOptions& options);

// The replica set of a new blob: the proposer `self` first (it holds the
// blob already), then the other members with a client address by
// rendezvous hashing on the blob's hash, `count` in all (fewer when the
// cluster is smaller). Deterministic for a given membership.
std::vector<apps::Member> choose_replicas(const std::string& self, const std::vector<apps::Member>& members,
                                          const std::string& hash, std::size_t count);

}  // namespace minga::files
