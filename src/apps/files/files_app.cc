#include "apps/files/files_app.h"

#include <algorithm>
#include <condition_variable>
#include <thread>

#include "apps/files/names.h"
#include "base/json.h"
#include "base/log.h"
#include "http/monitor.h"
#include "net/client.h"

namespace minga::files {
namespace {

// A put whose bytes (`has`) are not the size it names (`says`).
Error size_mismatch(std::uint64_t has, std::uint64_t says) {
  return make_error(Errc::invalid_argument,
                    "the upload has " + std::to_string(has) + " bytes, the put says " + std::to_string(says));
}

template <class Message>
bool decode(std::string_view body, Message& m, const apps::ResponderPtr& r, const char* what) {
  if (m.ParseFromArray(body.data(), static_cast<int>(body.size()))) return true;
  r->fail(Errc::bad_frame, std::string("cannot decode ") + what);
  return false;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string entry_json(const pb::FileEntry& e) {
  std::string replicas = "[";
  for (const auto& id : e.replicas()) {
    if (replicas.size() > 1) replicas += ",";
    replicas += json::quote(id);
  }
  return json::Object()
      .add("name", e.name())
      .add("size", static_cast<std::uint64_t>(e.size()))
      .add("sha256", e.sha256())
      .add("created_ms", static_cast<std::int64_t>(e.created_ms()))
      .add("index", static_cast<std::uint64_t>(e.index()))
      .add_raw("replicas", replicas + "]")
      .str();
}

}  // namespace

Status FilesApp::start(apps::NodeServices& node) {
  node_ = &node;
  log_ = &node.replication();
  const auto& s = node.settings();
  auto replicas = s.get_int("files.replicas", "MINGA_FILES_REPLICAS", 3);
  if (!replicas.ok()) return replicas.error();
  if (replicas.value() < 1 || replicas.value() > 15)
    return Error{Errc::invalid_argument, "files.replicas must be 1 to 15"};
  auto max_size = s.get_int("files.max_size", "MINGA_FILES_MAX_SIZE", 1ll << 30);
  if (!max_size.ok()) return max_size.error();
  if (max_size.value() < 0) return Error{Errc::invalid_argument, "files.max_size must be 0 or more"};
  auto pack_max = s.get_int("files.pack_max", "MINGA_FILES_PACK_MAX", 64 << 10);
  if (!pack_max.ok()) return pack_max.error();
  if (pack_max.value() < 0 || pack_max.value() > static_cast<std::int64_t>(BlobJournal::kMaxBlob))
    return Error{Errc::invalid_argument,
                 "files.pack_max must be 0 to " + std::to_string(BlobJournal::kMaxBlob) + " bytes"};
  replicas_ = static_cast<std::size_t>(replicas.value());
  max_size_ = static_cast<std::uint64_t>(max_size.value());
  store_ = std::make_unique<BlobStore>((node.data_dir() / "blobs").string(), nullptr,
                                       static_cast<std::uint64_t>(pack_max.value()));
  // Blobs acknowledged before a crash but not yet checkpointed are put back
  // in place before this node serves anything.
  auto replayed = store_->recover();
  if (!replayed.ok()) return replayed.error();
  if (replayed.value() > 0) log::info("files_journal", "success", {{"replayed", std::to_string(replayed.value())}});
  transfer_.pool = std::make_shared<ConnectionPool>();
  pushers_ = std::make_unique<Pushers>(transfer_);
  RepairOptions repair;
  repair.replicas = replicas_;
  auto seconds = [&s](const char* key, const char* env, double fallback, std::chrono::milliseconds& out) -> Status {
    auto v = s.get_double(key, env, fallback);
    if (!v.ok()) return v.error();
    if (!(v.value() > 0) || v.value() > 1e9)
      return Error{Errc::invalid_argument, std::string(key) + " must be a positive number of seconds"};
    out = std::chrono::milliseconds(static_cast<std::int64_t>(v.value() * 1000));
    return ok_status();
  };
  if (auto st = seconds("files.repair_interval", "MINGA_FILES_REPAIR_INTERVAL", 300, repair.interval); !st.ok())
    return st;
  if (auto st = seconds("files.gc_grace", "MINGA_FILES_GC_GRACE", 3600, repair.gc_grace); !st.ok()) return st;
  repair.first_delay = std::min(repair.first_delay, repair.interval);
  repairer_ = std::make_unique<Repairer>(node.node_id(), *store_, catalogue_, *log_, transfer_, repair,
                                         [this](const pb::FileEntry& e) { return ensure_local(e); });
  // Blocking work: each put holds a thread while it waits for its replicas,
  // and each landing blob one while it waits for its group commit; the
  // more wait at once, the more share one fdatasync.
  pool_ = std::make_unique<ThreadPool>(32, 256, "files-put");
  disk_pool_ = std::make_unique<ThreadPool>(32, 256, "files-land");
  push_pool_ = std::make_unique<ThreadPool>(64, 512, "files-push");
  log_->register_state("files", catalogue_);

  auto route = [this, &node](std::uint32_t type, auto handler) { node.router().add(type, this, handler); };
  route(pb::FILES_UPLOAD_REQUEST, &FilesApp::on_upload);
  route(pb::FILES_PUT_REQUEST, &FilesApp::on_put);
  route(pb::FILES_BLOB_COMMIT_REQUEST, &FilesApp::on_blob_commit);
  route(pb::FILES_GET_REQUEST, &FilesApp::on_get);
  route(pb::FILES_BLOB_READ_REQUEST, &FilesApp::on_blob_read);
  route(pb::FILES_LIST_REQUEST, &FilesApp::on_list);
  route(pb::FILES_STAT_REQUEST, &FilesApp::on_stat);
  route(pb::FILES_REMOVE_REQUEST, &FilesApp::on_remove);
  route(pb::FILES_CHECK_REQUEST, &FilesApp::on_check);

  node.add_status_section("files", [this] {
    std::lock_guard lock(mu_);
    json::Object o;
    o.add("count", catalogue_.count())
        .add("bytes", catalogue_.total_bytes())
        .add("replicas", static_cast<std::uint64_t>(replicas_))
        .add("max_size", max_size_)
        .add("uploads", static_cast<std::uint64_t>(uploads_.size()))
        .add("fetches", fetches_)
        .add("repairs", repairs_);
    const auto journal = store_->journal_counters();
    o.add("journal_appends", journal.appends)
        .add("journal_syncs", journal.syncs)
        .add("journal_checkpoints", journal.checkpoints)
        .add("packed_blobs", static_cast<std::uint64_t>(store_->packed()))
        .add("pack_segments", static_cast<std::uint64_t>(store_->pack_segments()));
    repairer_->add_status(o);
    return o.str();
  });
  node.add_metrics([this] {
    std::uint64_t fetches = 0, repairs = 0;
    {
      std::lock_guard lock(mu_);
      fetches = fetches_;
      repairs = repairs_;
    }
    return "# HELP minga_files_count Files in this node's applied catalogue.\n# TYPE minga_files_count gauge\n"
           "minga_files_count " +
           std::to_string(catalogue_.count()) +
           "\n# HELP minga_files_bytes Bytes of the files in this node's applied catalogue.\n"
           "# TYPE minga_files_bytes gauge\nminga_files_bytes " +
           std::to_string(catalogue_.total_bytes()) +
           "\n# HELP minga_files_fetches_total Blobs fetched from a replica (on read or by the repair pass).\n"
           "# TYPE minga_files_fetches_total counter\nminga_files_fetches_total " +
           std::to_string(fetches) +
           "\n# HELP minga_files_repairs_total Corrupt blobs replaced by good bytes from a replica.\n"
           "# TYPE minga_files_repairs_total counter\nminga_files_repairs_total " +
           std::to_string(repairs) + "\n" + repairer_->metrics();
  });
  // This node's applied catalogue (a local read), for the monitor;
  // `?prefix=P` keeps the names that start with P.
  node.add_monitor_json("/files", [this](std::string_view query) {
    const auto list = catalogue_.list(http::query_param(query, "prefix"), "", 4u << 20);
    std::string items = "[";
    for (const auto& e : list.files()) items += (items.size() > 1 ? "," : "") + entry_json(e);
    return json::Object().add_raw("files", items + "]").add("more", list.more()).str();
  });
  node.add_api_route(apps::api_route<pb::FilesListRequest, pb::FilesListResponse>(
      "GET", "/files", pb::FILES_LIST_REQUEST, pb::FILES_LIST_RESPONSE));
  node.add_api_route(apps::api_route<pb::FilesStatRequest, pb::FilesStatResponse>(
      "GET", "/files/stat", pb::FILES_STAT_REQUEST, pb::FILES_STAT_RESPONSE));
  // `{name}` is one path segment, percent-decoded: a name's '/' goes as %2F.
  node.add_api_route(apps::api_route<pb::FilesRemoveRequest, pb::FilesRemoveResponse>(
      "DELETE", "/files/{name}", pb::FILES_REMOVE_REQUEST, pb::FILES_REMOVE_RESPONSE));
  repairer_->start();
  return ok_status();
}

void FilesApp::stop() {
  stopping_ = true;
  if (repairer_) repairer_->stop();
  // First, so that the puts waiting on their pushes are answered now.
  if (pushers_) pushers_->stop();
  if (pool_) pool_->shutdown();
  if (disk_pool_) disk_pool_->shutdown();
  if (push_pool_) push_pool_->shutdown();
  std::lock_guard lock(mu_);
  uploads_.clear();
}

void FilesApp::offload(ThreadPool& pool, const apps::ResponderPtr& r, std::function<void()> job) {
  if (!pool.try_submit(std::move(job))) r->fail(Errc::busy, "too many file transfers in progress");
}

void FilesApp::after_barrier(bool stale, const apps::ResponderPtr& r, std::function<void()> then) {
  if (stale) {
    then();
    return;
  }
  log_->read_barrier([r, then = std::move(then)](Status st) {
    if (!st.ok()) {
      r->fail(st.error());
      return;
    }
    then();
  });
}

void FilesApp::with_entry(const std::string& name, bool stale, const apps::ResponderPtr& r,
                          std::function<void(pb::FileEntry)> then) {
  if (auto st = validate_name(name); !st.ok()) {
    r->fail(st.error());
    return;
  }
  after_barrier(stale, r, [this, r, name, then = std::move(then)] {
    auto entry = catalogue_.find(name);
    if (!entry) {
      r->fail(Errc::not_found, "no file " + name);
      return;
    }
    then(std::move(*entry));
  });
}

std::size_t FilesApp::read_length(std::uint64_t asked) const {
  return asked == 0 ? transfer_.chunk_bytes : std::min<std::size_t>(asked, transfer_.chunk_bytes);
}

void FilesApp::drop_idle_uploads_locked() {
  const auto now = Clock::now();
  for (auto it = uploads_.begin(); it != uploads_.end();) {
    it = now - it->second.touched > upload_idle_ ? uploads_.erase(it) : std::next(it);
  }
}

std::unique_ptr<BlobWriter> FilesApp::take_upload(std::uint64_t id) {
  std::lock_guard lock(mu_);
  // Also here and for bytes inside a put or commit, so that an abandoned
  // upload does not stay open (keeping the journal lingering for it).
  drop_idle_uploads_locked();
  auto it = uploads_.find(id);
  if (it == uploads_.end()) return nullptr;
  auto w = std::move(it->second.writer);
  uploads_.erase(it);
  return w;
}

// One chunk, appended on the I/O thread (a page-cache write; the fsync
// waits for the commit, on the pool).
void FilesApp::on_upload(std::string_view body, const apps::ResponderPtr& r) {
  pb::FilesUploadRequest req;
  if (!decode(body, req, r, "FilesUploadRequest")) return;
  if (req.data().size() > transfer_.chunk_bytes) {
    r->fail(Errc::invalid_argument, "a chunk holds at most " + std::to_string(transfer_.chunk_bytes) + " bytes");
    return;
  }
  std::uint64_t id = req.upload_id();
  std::unique_ptr<BlobWriter> w;
  if (id == 0) {
    if (req.size() > max_size_) {
      r->fail(Errc::invalid_argument, "a file of " + std::to_string(req.size()) + " bytes is above files.max_size (" +
                                          std::to_string(max_size_) + ")");
      return;
    }
    {
      std::lock_guard lock(mu_);
      drop_idle_uploads_locked();
      if (uploads_.size() >= max_uploads_) {
        r->fail(Errc::busy, "too many uploads in progress");
        return;
      }
      id = next_upload_++;
    }
    auto made = store_->begin();
    if (!made.ok()) {
      r->fail(made.error());
      return;
    }
    w = std::move(made.value());
  } else {
    w = take_upload(id);
    if (!w) {
      r->fail(Errc::not_found, "no upload " + std::to_string(id) + " (finished, idle too long, or another node's)");
      return;
    }
  }
  if (req.offset() != w->size()) {
    r->fail(Errc::invalid_argument,
            "chunk at offset " + std::to_string(req.offset()) + ", expected " + std::to_string(w->size()));
    return;  // the upload is dropped: its chunks came out of order
  }
  if (w->size() + req.data().size() > max_size_) {
    r->fail(Errc::invalid_argument, "the file is above files.max_size (" + std::to_string(max_size_) + " bytes)");
    return;
  }
  if (auto st = w->append(req.data()); !st.ok()) {
    r->fail(st.error());
    return;
  }
  pb::FilesUploadResponse resp;
  resp.set_upload_id(id);
  resp.set_received(w->size());
  {
    std::lock_guard lock(mu_);
    uploads_[id] = Upload{std::move(w), Clock::now()};
  }
  r->reply(pb::FILES_UPLOAD_RESPONSE, resp);
}

Status FilesApp::check_inline(std::uint64_t upload_id, std::string_view data) {
  if (upload_id != 0) return Error{Errc::invalid_argument, "a request carries an upload_id or data, not both"};
  if (data.size() > transfer_.chunk_bytes)
    return Error{Errc::invalid_argument,
                 "inline data holds at most " + std::to_string(transfer_.chunk_bytes) + " bytes"};
  if (data.size() > max_size_)
    return Error{Errc::invalid_argument, "a file of " + std::to_string(data.size()) +
                                             " bytes is above files.max_size (" + std::to_string(max_size_) + ")"};
  std::lock_guard lock(mu_);
  drop_idle_uploads_locked();
  return ok_status();
}

Result<std::unique_ptr<BlobWriter>> FilesApp::inline_writer(std::uint64_t upload_id, std::string_view data) {
  if (auto st = check_inline(upload_id, data); !st.ok()) return st.error();
  auto w = store_->begin();
  if (!w.ok()) return w.error();
  if (auto st = w.value()->append(data); !st.ok()) return st.error();
  return std::move(w.value());
}

Result<std::uint64_t> FilesApp::land_blob(std::uint64_t id, const std::string& hash) {
  if (!valid_hash(hash)) return Error{Errc::invalid_argument, "sha256 must be 64 lower-case hex digits"};
  if (id == 0) {
    if (!store_->has(hash)) return Error{Errc::not_found, "no blob " + hash + " here; upload it"};
    store_->touch(hash);  // about to be referenced again: the collector's grace starts over
    return store_->size(hash);
  }
  auto w = take_upload(id);
  if (!w)
    return Error{Errc::not_found, "no upload " + std::to_string(id) + " (finished, idle too long, or another node's)"};
  const std::uint64_t size = w->size();
  auto landed = w->finish(hash);
  if (!landed.ok()) return landed.error();
  return size;
}

void FilesApp::on_blob_commit(std::string_view body, const apps::ResponderPtr& r) {
  pb::FilesBlobCommitRequest req;
  if (!decode(body, req, r, "FilesBlobCommitRequest")) return;
  if (req.has_data() && req.data().size() != req.size()) {
    r->fail(Errc::invalid_argument, "blob " + req.sha256() + " has " + std::to_string(req.data().size()) +
                                        " bytes, not " + std::to_string(req.size()));
    return;
  }
  if (req.has_data() && req.data().size() <= BlobJournal::kMaxBlob) {
    // The whole blob came with the request: checked here and handed to the
    // journal, no thread waits for the disk. The answer comes from the
    // landing's completion, after the fdatasync covering the blob and with
    // its file in place.
    if (auto st = check_inline(req.upload_id(), req.data()); !st.ok()) {
      r->fail(st.error());
      return;
    }
    auto answer = [r](Status st) {
      if (!st.ok()) {
        r->fail(st.error());
        return;
      }
      r->reply(pb::FILES_BLOB_COMMIT_RESPONSE, pb::FilesBlobCommitResponse());
    };
    if (req.data().size() <= kHashHereBytes) {
      store_->land(req.sha256(), req.data(), std::move(answer));
      return;
    }
    // A bigger one is hashed on a pool thread, which does not wait either.
    offload(*disk_pool_, r, [this, req = std::move(req), answer = std::move(answer)] {
      store_->land(req.sha256(), req.data(), answer);
    });
    return;
  }
  offload(*disk_pool_, r, [this, r, req] {
    if (req.has_data()) {
      // Above the journal's limit (a chunk size above it): the direct path.
      auto w = inline_writer(req.upload_id(), req.data());
      auto landed = w.ok() ? w.value()->finish(req.sha256()) : Result<std::string>(w.error());
      if (!landed.ok()) {
        r->fail(landed.error());
        return;
      }
      r->reply(pb::FILES_BLOB_COMMIT_RESPONSE, pb::FilesBlobCommitResponse());
      return;
    }
    auto size = land_blob(req.upload_id(), req.sha256());
    if (!size.ok()) {
      r->fail(size.error());
      return;
    }
    if (size.value() != req.size()) {
      r->fail(Errc::invalid_argument, "blob " + req.sha256() + " has " + std::to_string(size.value()) + " bytes, not " +
                                          std::to_string(req.size()));
      return;
    }
    r->reply(pb::FILES_BLOB_COMMIT_RESPONSE, pb::FilesBlobCommitResponse());
  });
}

void FilesApp::on_put(std::string_view body, const apps::ResponderPtr& r) {
  pb::FilesPutRequest req;
  if (!decode(body, req, r, "FilesPutRequest")) return;
  if (auto st = validate_name(req.name()); !st.ok()) {
    r->fail(st.error());
    return;
  }
  if (req.has_data() && req.upload_id() == 0 && req.data().size() <= kHashHereBytes) {
    // A small file, whole in the request: hashed here, and from there on
    // no thread waits for it (replicate_and_commit_small).
    if (auto st = check_inline(0, req.data()); !st.ok()) {
      r->fail(st.error());
      return;
    }
    if (req.data().size() != req.size()) {
      r->fail(size_mismatch(req.data().size(), req.size()));
      return;
    }
    const std::string hash = sha256_hex(req.data());
    if (hash != req.sha256()) {
      r->fail(hash_mismatch(hash, req.sha256()));
      return;
    }
    pb::FileEntry e;
    e.set_name(req.name());
    e.set_sha256(hash);
    e.set_size(req.data().size());
    replicate_and_commit_small(std::move(e), r, std::move(*req.mutable_data()));
    return;
  }
  offload(*pool_, r, [this, r, req] {
    pb::FileEntry e;
    e.set_name(req.name());
    e.set_sha256(req.sha256());
    // A small upload: its bytes go to the replicas while this node makes
    // them durable, so that the put waits for one disk sync, not two in a
    // row. Its hash is checked first: a wrong one leaves nothing anywhere.
    if (req.has_data() || (req.upload_id() != 0 && valid_hash(req.sha256()))) {
      std::unique_ptr<BlobWriter> w;
      if (req.has_data()) {
        auto made = inline_writer(req.upload_id(), req.data());
        if (!made.ok()) {
          r->fail(made.error());
          return;
        }
        w = std::move(made.value());
      } else {
        w = take_upload(req.upload_id());
      }
      if (!w) {
        r->fail(Errc::not_found,
                "no upload " + std::to_string(req.upload_id()) + " (finished, idle too long, or another node's)");
        return;
      }
      if (w->size() != req.size()) {
        r->fail(size_mismatch(w->size(), req.size()));
        return;
      }
      if (const std::string* bytes = w->small_bytes()) {
        const std::string hash = sha256_hex(*bytes);
        if (hash != req.sha256()) {
          r->fail(hash_mismatch(hash, req.sha256()));
          return;
        }
        e.set_size(w->size());
        replicate_and_commit(std::move(e), r, std::move(w));
        return;
      }
      auto landed = w->finish(req.sha256());
      if (!landed.ok()) {
        r->fail(landed.error());
        return;
      }
      e.set_size(w->size());
      replicate_and_commit(std::move(e), r, nullptr);
      return;
    }
    auto size = land_blob(req.upload_id(), req.sha256());
    if (!size.ok()) {
      r->fail(size.error());
      return;
    }
    if (size.value() != req.size()) {
      r->fail(size_mismatch(size.value(), req.size()));
      return;
    }
    e.set_size(size.value());
    replicate_and_commit(std::move(e), r, nullptr);
  });
}

std::vector<apps::Member> FilesApp::put_targets(const std::string& hash, std::size_t& wanted) const {
  const auto members = log_->members();
  wanted = std::max<std::size_t>(1, std::min(replicas_, members.size()));
  return choose_replicas(node_->node_id(), members, hash, wanted);
}

void FilesApp::replicate_and_commit_small(pb::FileEntry entry, const apps::ResponderPtr& r, std::string bytes) {
  if (small_puts_.fetch_add(1) >= kMaxSmallPuts) {
    small_puts_.fetch_sub(1);
    r->fail(Errc::busy, "too many file transfers in progress");
    return;
  }
  // What the pushes and the landing share; the last of them to answer
  // (on a pusher's or the journal's thread) commits.
  struct Put {
    pb::FileEntry entry;
    apps::ResponderPtr r;
    std::vector<apps::Member> targets;
    std::size_t wanted = 1;
    std::vector<Status> results;
    std::mutex mu;
    std::size_t running = 0;
  };
  auto put = std::make_shared<Put>();
  put->entry = std::move(entry);
  put->r = r;
  put->targets = put_targets(put->entry.sha256(), put->wanted);
  put->results.assign(put->targets.size(), ok_status());
  put->running = put->targets.size();
  auto finished = [this, put](std::size_t i, Status st) {
    {
      std::lock_guard lock(put->mu);
      put->results[i] = std::move(st);
      if (--put->running != 0) return;
    }
    small_puts_.fetch_sub(1);
    if (stopping_) {
      put->r->fail(Errc::shutting_down, "the node is stopping");
      return;
    }
    commit_put(std::move(put->entry), put->targets, put->wanted, put->results, put->r);
  };
  if (put->targets.empty()) {
    small_puts_.fetch_sub(1);
    commit_put(std::move(put->entry), put->targets, put->wanted, put->results, put->r);
    return;
  }
  const std::string hash = put->entry.sha256();
  std::size_t self = put->targets.size();
  for (std::size_t i = 0; i < put->targets.size(); ++i) {
    if (put->targets[i].id == node_->node_id()) {
      self = i;
      continue;
    }
    pushers_->push(put->targets[i].client_address, hash, bytes,
                   [finished, i](Status st) { finished(i, std::move(st)); });
  }
  if (self < put->targets.size()) {
    store_->land_hashed(hash, bytes, [finished, self](Status st) { finished(self, std::move(st)); });
  }
}

void FilesApp::replicate_and_commit(pb::FileEntry entry, const apps::ResponderPtr& r,
                                    std::unique_ptr<BlobWriter> local) {
  std::size_t wanted = 1;
  const auto targets = put_targets(entry.sha256(), wanted);
  std::vector<Status> results(targets.size(), ok_status());
  std::vector<std::size_t> others;
  std::size_t self = targets.size();
  for (std::size_t i = 0; i < targets.size(); ++i) {
    (targets[i].id != node_->node_id() ? others.push_back(i) : void(self = i));
  }
  const std::string* bytes = local ? local->small_bytes() : nullptr;
  // A blob whose bytes are at hand goes through each replica's pusher,
  // with the pushes of the other puts in flight; a bigger one on the push
  // pool (inline if it is full). The local landing runs here meanwhile;
  // all are waited for.
  std::mutex done_mu;
  std::condition_variable done_cv;
  std::size_t running = others.size();
  auto finished = [&](std::size_t i, Status st) {
    std::lock_guard lock(done_mu);
    results[i] = std::move(st);
    if (--running == 0) done_cv.notify_all();
  };
  for (const std::size_t i : others) {
    if (bytes) {
      pushers_->push(targets[i].client_address, entry.sha256(), *bytes,
                     [&finished, i](Status st) { finished(i, std::move(st)); });
      continue;
    }
    auto push = [&, i] {
      finished(i, push_blob(*store_, targets[i].client_address, entry.sha256(), entry.size(), transfer_));
    };
    if (!push_pool_->try_submit(push)) push();
  }
  if (local) {
    auto landed = local->finish(entry.sha256());
    if (self < targets.size()) results[self] = landed.ok() ? ok_status() : Status(landed.error());
  }
  {
    std::unique_lock lock(done_mu);
    done_cv.wait(lock, [&] { return running == 0; });
  }
  commit_put(std::move(entry), targets, wanted, results, r);
}

void FilesApp::commit_put(pb::FileEntry entry, const std::vector<apps::Member>& targets, std::size_t wanted,
                          const std::vector<Status>& results, const apps::ResponderPtr& r) {
  std::string failures;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (results[i].ok()) {
      entry.add_replicas(targets[i].id);
    } else {
      failures += (failures.empty() ? "" : "; ") + targets[i].id + ": " + results[i].error().message;
      log::warn("files_push", "fail",
                {{"sha256", entry.sha256()}, {"replica", targets[i].id}, {"reason", results[i].error().message}});
    }
  }
  const std::size_t quorum = wanted / 2 + 1;
  if (static_cast<std::size_t>(entry.replicas_size()) < quorum) {
    // Busy: nothing was committed, and a retry may find the replicas back.
    r->fail(Errc::busy, "only " + std::to_string(entry.replicas_size()) + " of " + std::to_string(wanted) +
                            " replicas hold the blob (" + failures + ")");
    return;
  }
  entry.set_created_ms(now_ms());
  pb::FilesCommand cmd;
  *cmd.mutable_put() = entry;
  log_->propose("files", cmd.SerializeAsString(), [r, entry](Result<std::string> res) {
    if (!res.ok()) {
      r->fail(res.error());
      return;
    }
    pb::FilesApplied applied;
    if (!applied.ParseFromString(res.value())) {
      r->fail(Errc::internal, "the applied put has no result");
      return;
    }
    if (!applied.refused().empty()) {
      r->fail(Errc::invalid_argument, applied.refused());
      return;
    }
    pb::FilesPutResponse resp;
    *resp.mutable_file() = entry;
    resp.mutable_file()->set_index(applied.index());
    // At debug, like a record's add: at thousands of puts a second, an info
    // line each would be a write per put on every node's log.
    log::debug("files_put", "success",
               {{"name", entry.name()},
                {"sha256", entry.sha256()},
                {"size", std::to_string(entry.size())},
                {"index", std::to_string(applied.index())},
                {"replicas", std::to_string(entry.replicas_size())}});
    r->reply(pb::FILES_PUT_RESPONSE, resp);
  });
}

// A good copy here, or the reason there is none. Replicas' bytes are
// believed only when they hash to the entry's sha256 (fetch_blob checks).
Status FilesApp::ensure_local(const pb::FileEntry& entry) {
  const std::string& hash = entry.sha256();
  auto here = store_->verify(hash);
  if (here.ok()) return here;
  if (here.error().code != Errc::not_found) {
    log::warn("files_blob", "fail", {{"sha256", hash}, {"reason", here.error().message}});
    if (auto st = store_->remove(hash); !st.ok()) return st;
  }
  // Replicas the catalogue names first, then any other member.
  std::vector<std::string> sources;
  const auto members = log_->members();
  auto address_of = [&](const std::string& id) {
    for (const auto& m : members) {
      if (m.id == id) return m.client_address;
    }
    return std::string();
  };
  for (const auto& id : entry.replicas()) {
    if (id != node_->node_id() && !address_of(id).empty()) sources.push_back(address_of(id));
  }
  for (const auto& m : members) {
    if (m.id != node_->node_id() && !m.client_address.empty() &&
        std::find(sources.begin(), sources.end(), m.client_address) == sources.end()) {
      sources.push_back(m.client_address);
    }
  }
  std::string failures;
  for (const auto& address : sources) {
    auto st = fetch_blob(*store_, address, hash, transfer_);
    if (st.ok()) {
      std::lock_guard lock(mu_);
      ++(here.error().code == Errc::not_found ? fetches_ : repairs_);
      log::info(here.error().code == Errc::not_found ? "files_fetch" : "files_repair", "success",
                {{"sha256", hash}, {"from", address}});
      return ok_status();
    }
    failures += (failures.empty() ? "" : "; ") + address + ": " + st.error().message;
    log::warn("files_fetch", "fail", {{"sha256", hash}, {"from", address}, {"reason", st.error().message}});
  }
  return Error{Errc::not_found, "no replica holds good bytes of " + entry.name() + " (" +
                                    (failures.empty() ? "no other member" : failures) + ")"};
}

void FilesApp::on_get(std::string_view body, const apps::ResponderPtr& r) {
  pb::FilesGetRequest req;
  if (!decode(body, req, r, "FilesGetRequest")) return;
  with_entry(req.name(), req.stale(), r, [this, r, length = read_length(req.length())](pb::FileEntry entry) {
    offload(*pool_, r, [this, r, length, e = std::move(entry)] {
      if (auto st = ensure_local(e); !st.ok()) {
        r->fail(st.error());
        return;
      }
      auto data = store_->read(e.sha256(), 0, length);
      if (!data.ok()) {
        r->fail(data.error());
        return;
      }
      pb::FilesGetResponse resp;
      *resp.mutable_file() = e;
      resp.set_data(std::move(data.value()));
      r->reply(pb::FILES_GET_RESPONSE, resp);
    });
  });
}

void FilesApp::on_blob_read(std::string_view body, const apps::ResponderPtr& r) {
  pb::FilesBlobReadRequest req;
  if (!decode(body, req, r, "FilesBlobReadRequest")) return;
  const std::size_t length = read_length(req.length());
  auto size = store_->size(req.sha256());
  if (!size.ok()) {
    r->fail(size.error());
    return;
  }
  auto data = store_->read(req.sha256(), req.offset(), length);
  if (!data.ok()) {
    r->fail(data.error());
    return;
  }
  pb::FilesBlobReadResponse resp;
  resp.set_size(size.value());
  resp.set_data(std::move(data.value()));
  r->reply(pb::FILES_BLOB_READ_RESPONSE, resp);
}

void FilesApp::on_list(std::string_view body, const apps::ResponderPtr& r) {
  pb::FilesListRequest req;
  if (!decode(body, req, r, "FilesListRequest")) return;
  after_barrier(req.stale(), r,
                [this, r, req] { r->reply(pb::FILES_LIST_RESPONSE, catalogue_.list(req.prefix(), req.after())); });
}

void FilesApp::on_stat(std::string_view body, const apps::ResponderPtr& r) {
  pb::FilesStatRequest req;
  if (!decode(body, req, r, "FilesStatRequest")) return;
  with_entry(req.name(), req.stale(), r, [r](pb::FileEntry entry) {
    pb::FilesStatResponse resp;
    *resp.mutable_file() = std::move(entry);
    r->reply(pb::FILES_STAT_RESPONSE, resp);
  });
}

void FilesApp::on_remove(std::string_view body, const apps::ResponderPtr& r) {
  pb::FilesRemoveRequest req;
  if (!decode(body, req, r, "FilesRemoveRequest")) return;
  if (auto st = validate_name(req.name()); !st.ok()) {
    r->fail(st.error());
    return;
  }
  pb::FilesCommand cmd;
  cmd.set_remove(req.name());
  log_->propose("files", cmd.SerializeAsString(), [r, name = req.name()](Result<std::string> res) {
    if (!res.ok()) {
      r->fail(res.error());
      return;
    }
    pb::FilesApplied applied;
    if (!applied.ParseFromString(res.value())) {
      r->fail(Errc::internal, "the applied remove has no result");
      return;
    }
    if (!applied.found()) {
      r->fail(Errc::not_found, "no file " + name);
      return;
    }
    pb::FilesRemoveResponse resp;
    resp.set_index(applied.index());
    r->reply(pb::FILES_REMOVE_RESPONSE, resp);
  });
}

// `minga files check|repair`: this node's pass, or every member's (each
// asked with `local`, in parallel; a member that does not answer is
// reported with the reason).
void FilesApp::on_check(std::string_view body, const apps::ResponderPtr& r) {
  pb::FilesCheckRequest req;
  if (!decode(body, req, r, "FilesCheckRequest")) return;
  offload(*pool_, r, [this, r, req] {
    pb::FilesCheckResponse resp;
    if (req.local()) {
      *resp.add_nodes() = repairer_->pass(req.repair());
      r->reply(pb::FILES_CHECK_RESPONSE, resp);
      return;
    }
    std::vector<apps::Member> targets;
    for (const auto& m : log_->members()) {
      if (req.node().empty() || m.id == req.node()) targets.push_back(m);
    }
    if (targets.empty()) {
      r->fail(Errc::not_found, req.node().empty() ? "no members" : "no member " + req.node());
      return;
    }
    std::vector<pb::FilesNodeCheck> results(targets.size());
    std::vector<std::thread> calls;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      calls.emplace_back([&, i] {
        auto& out = results[i];
        out.set_node(targets[i].id);
        if (targets[i].id == node_->node_id()) {
          out = repairer_->pass(req.repair());
          return;
        }
        if (targets[i].client_address.empty()) {
          out.set_error("its client address is unknown here");
          return;
        }
        pb::FilesCheckRequest local = req;
        local.set_local(true);
        auto ep = net::parse_endpoint(targets[i].client_address);
        if (!ep.ok()) {
          out.set_error(ep.error().message);
          return;
        }
        auto c = net::Client::connect(ep.value(), transfer_.timeout);
        auto answer = c.ok() ? c->call<pb::FilesCheckResponse>(pb::FILES_CHECK_REQUEST, local, pb::FILES_CHECK_RESPONSE,
                                                               std::chrono::minutes(10))
                             : Result<pb::FilesCheckResponse>(c.error());
        if (!answer.ok()) {
          out.set_error(answer.error().message);
        } else if (answer->nodes_size() == 1) {
          out = answer->nodes(0);
        } else {
          out.set_error("an answer without its pass");
        }
      });
    }
    for (auto& t : calls) t.join();
    for (auto& n : results) *resp.add_nodes() = std::move(n);
    r->reply(pb::FILES_CHECK_RESPONSE, resp);
  });
}

}  // namespace minga::files
