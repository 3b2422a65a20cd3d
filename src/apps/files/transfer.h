// Moving blobs between nodes over their client ports (docs/files.md): the
// node that took a put pushes the blob to the other replicas; a node that
// lacks a blob, or finds its copy corrupt, fetches it from a replica. Both
// block (net::Client): call them from the files app's own threads, never
// from an I/O thread. The network may lose or cut a transfer at any point;
// a blob becomes visible under its hash only after its bytes hashed right
// and were made durable, so a cut transfer leaves nothing but a temp file.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
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
};

// Makes `address` hold blob `hash` (of `size` bytes) durable, sending it
// from `store` unless the replica already has it.
Status push_blob(const BlobStore& store, const std::string& address, const std::string& hash, std::uint64_t size,
                 const TransferOptions& options);

// The same for a blob whose bytes are at hand (a put's, not yet in place
// here): `data` must hash to `hash`.
Status push_bytes(const std::string& address, const std::string& hash, std::string_view data,
                  const TransferOptions& options);

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
