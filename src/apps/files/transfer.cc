#include "apps/files/transfer.h"

#include <algorithm>
#include <functional>

#include "net/client.h"
#include "proto/files.pb.h"

namespace minga::files {
namespace {

Result<net::Client> dial(const std::string& address, std::chrono::milliseconds timeout) {
  auto ep = net::parse_endpoint(address);
  if (!ep.ok()) return ep.error();
  return net::Client::connect(ep.value(), timeout);
}

// Runs `transfer` over a connection to `address`: a kept one if the pool
// has one, given back after a success. A kept connection that the other
// node closed meanwhile fails with unavailable before anything happened
// there that matters (a transfer is idempotent: blobs are named by their
// hash), so the transfer runs once more over a new connection.
Status with_connection(const std::string& address, const TransferOptions& options,
                       const std::function<Status(net::Client&)>& transfer) {
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    auto c = options.pool ? options.pool->take(address, options.timeout, reused) : dial(address, options.timeout);
    if (!c.ok()) return c.error();
    Status st = transfer(c.value());
    if (st.ok()) {
      if (options.pool) options.pool->give(address, std::move(c.value()));
      return st;
    }
    if (!(reused && attempt == 0 && st.error().code == Errc::unavailable)) return st;
    // The other node closed it (it restarted, or dropped it as idle): the
    // other kept ones are likely closed too.
    options.pool->forget(address);
  }
}

// Reads up to `length` bytes of the blob from `offset`.
using BlobReader = std::function<Result<std::string>(std::uint64_t offset, std::size_t length)>;

Status push_over(net::Client& c, const BlobReader& read, const std::string& hash, std::uint64_t size,
                 const TransferOptions& options) {
  pb::FilesBlobCommitRequest ask;
  ask.set_sha256(hash);
  ask.set_size(size);
  // A blob of one chunk goes at once, inside the commit: asking first
  // whether the replica holds it would cost as much as sending it.
  if (size <= options.chunk_bytes) {
    auto data = read(0, options.chunk_bytes);
    if (!data.ok()) return data.error();
    if (data->size() != size) return Error{Errc::internal, "blob " + hash + " does not have its size"};
    ask.set_data(std::move(data.value()));
    auto done = c.call(pb::FILES_BLOB_COMMIT_REQUEST, ask, pb::FILES_BLOB_COMMIT_RESPONSE, options.timeout);
    if (!done.ok()) return done.error();
    return ok_status();
  }
  auto held = c.call(pb::FILES_BLOB_COMMIT_REQUEST, ask, pb::FILES_BLOB_COMMIT_RESPONSE, options.timeout);
  if (held.ok()) return ok_status();
  if (held.error().code != Errc::not_found) return held.error();
  pb::FilesUploadRequest up;
  up.set_size(size);
  std::uint64_t offset = 0;
  do {
    auto data = read(offset, options.chunk_bytes);
    if (!data.ok()) return data.error();
    if (data->empty() && offset < size) return Error{Errc::internal, "blob " + hash + " is shorter than its size"};
    up.set_offset(offset);
    offset += data->size();
    up.set_data(std::move(data.value()));
    auto r = c.call<pb::FilesUploadResponse>(pb::FILES_UPLOAD_REQUEST, up, pb::FILES_UPLOAD_RESPONSE, options.timeout);
    if (!r.ok()) return r.error();
    up.set_upload_id(r->upload_id());
    up.clear_size();
  } while (offset < size);
  ask.set_upload_id(up.upload_id());
  auto done = c.call(pb::FILES_BLOB_COMMIT_REQUEST, ask, pb::FILES_BLOB_COMMIT_RESPONSE, options.timeout);
  if (!done.ok()) return done.error();
  return ok_status();
}

Status fetch_over(net::Client& c, const BlobStore& store, const std::string& hash, const TransferOptions& options) {
  auto writer = store.begin();
  if (!writer.ok()) return writer.error();
  pb::FilesBlobReadRequest req;
  req.set_sha256(hash);
  req.set_length(options.chunk_bytes);
  for (;;) {
    req.set_offset(writer.value()->size());
    auto r = c.call<pb::FilesBlobReadResponse>(pb::FILES_BLOB_READ_REQUEST, req, pb::FILES_BLOB_READ_RESPONSE,
                                               options.timeout);
    if (!r.ok()) return r.error();
    if (auto st = writer.value()->append(r->data()); !st.ok()) return st;
    if (writer.value()->size() >= r->size() || r->data().empty()) break;
  }
  auto h = writer.value()->finish(hash);
  if (!h.ok()) return h.error();
  return ok_status();
}

}  // namespace

Result<net::Client> ConnectionPool::take(const std::string& address, std::chrono::milliseconds timeout, bool& reused) {
  {
    std::lock_guard lock(mu_);
    auto& kept = idle_[address];
    const auto now = Clock::now();
    while (!kept.empty()) {
      Idle idle = std::move(kept.back());
      kept.pop_back();
      if (now - idle.since <= max_idle_ && idle.client.connected()) {
        reused = true;
        return std::move(idle.client);
      }
    }
  }
  reused = false;
  return dial(address, timeout);
}

void ConnectionPool::forget(const std::string& address) {
  std::lock_guard lock(mu_);
  idle_.erase(address);
}

void ConnectionPool::give(const std::string& address, net::Client c) {
  if (!c.connected()) return;
  std::lock_guard lock(mu_);
  auto& kept = idle_[address];
  if (kept.size() < per_address_) kept.push_back(Idle{std::move(c), Clock::now()});
}

Status push_blob(const BlobStore& store, const std::string& address, const std::string& hash, std::uint64_t size,
                 const TransferOptions& options) {
  const BlobReader read = [&](std::uint64_t offset, std::size_t length) { return store.read(hash, offset, length); };
  return with_connection(address, options, [&](net::Client& c) { return push_over(c, read, hash, size, options); });
}

Status push_bytes(const std::string& address, const std::string& hash, std::string_view data,
                  const TransferOptions& options) {
  const BlobReader read = [&](std::uint64_t offset, std::size_t length) -> Result<std::string> {
    if (offset >= data.size()) return std::string();
    return std::string(data.substr(offset, length));
  };
  return with_connection(address, options,
                         [&](net::Client& c) { return push_over(c, read, hash, data.size(), options); });
}

Status fetch_blob(const BlobStore& store, const std::string& address, const std::string& hash,
                  const TransferOptions& options) {
  return with_connection(address, options, [&](net::Client& c) { return fetch_over(c, store, hash, options); });
}

std::vector<apps::Member> choose_replicas(const std::string& self, const std::vector<apps::Member>& members,
                                          const std::string& hash, std::size_t count) {
  std::vector<std::pair<std::string, apps::Member>> ranked;
  std::vector<apps::Member> out;
  for (const auto& m : members) {
    if (m.id == self) {
      out.push_back(m);
    } else if (!m.client_address.empty()) {
      ranked.emplace_back(sha256_hex(hash + "/" + m.id), m);
    }
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [score, m] : ranked) {
    if (out.size() >= count) break;
    out.push_back(m);
  }
  return out;
}

}  // namespace minga::files
