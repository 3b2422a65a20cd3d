#include "apps/files/transfer.h"

#include <algorithm>
#include <functional>

#include "base/thread_name.h"
#include "net/client.h"
#include "proto/files.pb.h"
#include "proto/minga.pb.h"
#include "wire/frame.h"

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

Pusher::Pusher(std::string address, TransferOptions options)
    : address_(std::move(address)), options_(std::move(options)) {
  thread_ = named_thread("files-pusher", [this] { run(); });
}

Pusher::~Pusher() { stop(); }

void Pusher::push(const std::string& hash, std::string_view data, Done done) {
  pb::FilesBlobCommitRequest ask;
  ask.set_sha256(hash);
  ask.set_size(data.size());
  ask.set_data(std::string(data));
  // The frame is made here, on the put's thread; its header waits for the
  // request id.
  Push p;
  p.frame.resize(wire::kHeaderBytes);
  ask.AppendToString(&p.frame);
  p.done = std::move(done);
  bool queued = false;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      p.id = next_id_++;
      wire::encode_header(p.frame.data(), pb::FILES_BLOB_COMMIT_REQUEST, p.id,
                          static_cast<std::uint32_t>(p.frame.size() - wire::kHeaderBytes));
      queue_.push_back(std::move(p));
      queued = true;
    }
  }
  if (!queued) {
    p.done(Error{Errc::shutting_down, "the node is shutting down"});
    return;
  }
  cv_.notify_one();
}

void Pusher::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

Pusher::Counters Pusher::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void Pusher::run() {
  std::unique_lock lock(mu_);
  const auto ready = [this] { return stopping_ || !queue_.empty(); };
  for (;;) {
    if (!ready()) {
      if (conn_.connected()) {
        if (!cv_.wait_for(lock, options_.pusher_idle, ready)) conn_.close();  // idle for long
        continue;
      }
      cv_.wait(lock, ready);
    }
    if (stopping_) break;
    std::vector<Push> batch;
    std::size_t bytes = 0;
    while (!queue_.empty() && batch.size() < options_.batch_pushes &&
           (batch.empty() || bytes + queue_.front().frame.size() <= options_.batch_bytes)) {
      bytes += queue_.front().frame.size();
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    counters_.pushes += batch.size();
    lock.unlock();
    run_batch(batch);
    lock.lock();
  }
  std::deque<Push> left;
  left.swap(queue_);
  lock.unlock();
  conn_.close();
  for (auto& p : left) p.done(Error{Errc::shutting_down, "the node is shutting down"});
}

void Pusher::run_batch(std::vector<Push>& batch) {
  for (int attempt = 0;; ++attempt) {
    const bool reused = conn_.connected();
    Status st = ok_status();
    if (!reused) {
      auto c = dial(address_, options_.timeout);
      if (c.ok()) {
        conn_ = std::move(c.value());
        std::lock_guard lock(mu_);
        ++counters_.connects;
      } else {
        st = c.error();
      }
    }
    if (st.ok()) st = exchange(batch);
    if (st.ok()) return;
    conn_.close();
    if (stopping_) {
      st = Error{Errc::shutting_down, "the node is shutting down"};
    } else if (reused && attempt == 0 && st.error().code == Errc::unavailable) {
      // The other node closed the kept connection (it restarted, or dropped
      // it as idle): the unanswered go once more on a new one.
      std::lock_guard lock(mu_);
      ++counters_.retries;
      continue;
    }
    for (auto& p : batch) p.done(st);
    batch.clear();
    return;
  }
}

Status Pusher::exchange(std::vector<Push>& pending) {
  std::string out;
  std::size_t bytes = 0;
  for (const auto& p : pending) bytes += p.frame.size();
  out.reserve(bytes);
  for (const auto& p : pending) out += p.frame;
  {
    std::lock_guard lock(mu_);
    ++counters_.batches;
  }
  if (auto st = conn_.send_raw(out, options_.timeout); !st.ok()) return st;
  const auto deadline = Clock::now() + options_.timeout;
  while (!pending.empty()) {
    // In slices, so that stop() is noticed while a replica takes its time.
    const auto now = Clock::now();
    if (stopping_) return Error{Errc::shutting_down, "the node is shutting down"};
    if (now >= deadline) return Error{Errc::timeout, "timed out waiting for " + address_};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    auto f = conn_.receive(std::clamp(left, std::chrono::milliseconds(1), std::chrono::milliseconds(50)));
    if (!f.ok()) {
      if (f.error().code == Errc::timeout) continue;
      return f.error();
    }
    auto it = std::find_if(pending.begin(), pending.end(), [&](const Push& p) { return p.id == f->header.request_id; });
    if (it == pending.end()) continue;  // not one of this batch's
    Status st = ok_status();
    if (f->header.type == pb::ERROR) {
      st = net::decode_error(f->body);
    } else if (f->header.type != pb::FILES_BLOB_COMMIT_RESPONSE) {
      st = Error{Errc::bad_frame, "unexpected answer type " + std::to_string(f->header.type)};
    }
    Done done = std::move(it->done);
    if (it != pending.end() - 1) *it = std::move(pending.back());
    pending.pop_back();
    done(std::move(st));
  }
  return ok_status();
}

void Pushers::push(const std::string& address, const std::string& hash, std::string_view data, Pusher::Done done) {
  Pusher* pusher = nullptr;
  {
    std::lock_guard lock(mu_);
    if (!stopped_) {
      auto& slot = pushers_[address];
      if (!slot) slot = std::make_unique<Pusher>(address, options_);
      pusher = slot.get();
    }
  }
  if (!pusher) {
    done(Error{Errc::shutting_down, "the node is shutting down"});
    return;
  }
  pusher->push(hash, data, std::move(done));
}

void Pushers::stop() {
  std::vector<Pusher*> all;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    for (auto& [address, p] : pushers_) all.push_back(p.get());
  }
  for (Pusher* p : all) p->stop();
}

Pusher::Counters Pushers::counters() const {
  std::lock_guard lock(mu_);
  Pusher::Counters sum;
  for (const auto& [address, p] : pushers_) {
    const auto c = p->counters();
    sum.pushes += c.pushes;
    sum.batches += c.batches;
    sum.retries += c.retries;
    sum.connects += c.connects;
  }
  return sum;
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
