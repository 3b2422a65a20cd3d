#include "apps/files/file_client.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "apps/files/blob_store.h"

namespace minga::files {
namespace {

using client::ClientOptions;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kChunkBytes = 1u << 20;

bool retryable(Errc code) { return code == Errc::not_leader || code == Errc::busy || code == Errc::shutting_down; }

// Calls the first server of --server that takes the request, retrying
// elections and busy nodes until --timeout; returns the connection too, for
// the requests that must follow on the same node.
template <class Response>
Result<Response> call_any(const ClientOptions& options, std::uint32_t type,
                          const google::protobuf::MessageLite& request, std::uint32_t expected, net::Client& conn) {
  const auto list = client::servers(options);
  if (list.empty()) return Error{Errc::invalid_argument, "no server address in '" + options.server + "'"};
  const auto deadline = Clock::now() + options.timeout();
  auto backoff = std::chrono::milliseconds(50);
  Error last{Errc::unavailable, "cannot reach " + options.server};
  for (std::size_t attempt = 0; Clock::now() < deadline; ++attempt) {
    const auto left = std::chrono::duration_cast<net::Client::Millis>(deadline - Clock::now());
    auto c = net::Client::connect(list[attempt % list.size()], std::min(left, net::Client::Millis(1000)));
    if (c.ok()) {
      auto r = c->call<Response>(type, request, expected, left);
      if (r.ok()) {
        conn = std::move(c.value());
        return r;
      }
      last = r.error();
      if (!retryable(last.code) && last.code != Errc::unavailable) return last;
    } else {
      last = c.error();
    }
    if ((attempt + 1) % list.size() == 0) {
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
  }
  return last;
}

}  // namespace

Result<pb::FileEntry> put(const ClientOptions& options, const ChunkSource& next, std::uint64_t declared,
                          const std::string& name) {
  net::Client conn;
  Sha256 sha;
  auto first = next(kChunkBytes);
  if (!first.ok()) return first.error();
  sha.update(first.value());
  std::uint64_t sent = first->size();
  auto second = next(kChunkBytes);
  if (!second.ok()) return second.error();
  pb::FilesPutRequest put;
  put.set_name(name);
  if (second->empty()) {
    // A file of one chunk: its bytes go inside the put, one round trip
    // (docs/protocol.md, FilesPutRequest.data).
    put.set_sha256(sha.hex());
    put.set_size(sent);
    put.set_data(std::move(first.value()));
    auto done = call_any<pb::FilesPutResponse>(options, pb::FILES_PUT_REQUEST, put, pb::FILES_PUT_RESPONSE, conn);
    if (!done.ok()) return done.error();
    return done->file();
  }
  pb::FilesUploadRequest up;
  up.set_size(declared);
  up.set_data(std::move(first.value()));
  // The first chunk opens the upload on whichever node answers; the rest
  // must go to that node.
  auto r = call_any<pb::FilesUploadResponse>(options, pb::FILES_UPLOAD_REQUEST, up, pb::FILES_UPLOAD_RESPONSE, conn);
  if (!r.ok()) return r.error();
  up.clear_size();
  up.set_upload_id(r->upload_id());
  std::optional<Result<std::string>> held = std::move(second);
  for (;;) {
    auto chunk = held ? std::move(*held) : next(kChunkBytes);
    held.reset();
    if (!chunk.ok()) return chunk.error();
    if (chunk->empty()) break;
    sha.update(chunk.value());
    up.set_offset(sent);
    sent += chunk->size();
    up.set_data(std::move(chunk.value()));
    auto more =
        conn.call<pb::FilesUploadResponse>(pb::FILES_UPLOAD_REQUEST, up, pb::FILES_UPLOAD_RESPONSE, options.timeout());
    if (!more.ok()) return more.error();
  }
  put.set_upload_id(up.upload_id());
  put.set_sha256(sha.hex());
  put.set_size(sent);
  // An election may refuse the commit; the blob stays on the node, so the
  // retry names it by hash alone (upload_id 0).
  const auto deadline = Clock::now() + options.timeout();
  auto backoff = std::chrono::milliseconds(50);
  for (;;) {
    const auto left = std::chrono::duration_cast<net::Client::Millis>(deadline - Clock::now());
    auto done = conn.call<pb::FilesPutResponse>(pb::FILES_PUT_REQUEST, put, pb::FILES_PUT_RESPONSE, left);
    if (done.ok()) return done->file();
    if (!retryable(done.error().code) || Clock::now() + backoff >= deadline) return done.error();
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    put.set_upload_id(0);
  }
}

Result<pb::FileEntry> put_bytes(const ClientOptions& options, std::string_view data, const std::string& name) {
  std::size_t at = 0;
  return put(
      options,
      [&](std::size_t max) -> Result<std::string> {
        const std::size_t n = std::min(max, data.size() - at);
        std::string chunk(data.substr(at, n));
        at += n;
        return chunk;
      },
      data.size(), name);
}

Status get(const ClientOptions& options, const std::string& name, const ChunkSink& sink, pb::FileEntry& entry) {
  net::Client conn;
  pb::FilesGetRequest req;
  req.set_name(name);
  auto first = call_any<pb::FilesGetResponse>(options, pb::FILES_GET_REQUEST, req, pb::FILES_GET_RESPONSE, conn);
  if (!first.ok()) return first.error();
  entry = first->file();
  Sha256 sha;
  sha.update(first->data());
  if (auto st = sink(first->data()); !st.ok()) return st;
  std::uint64_t got = first->data().size();
  pb::FilesBlobReadRequest more;
  more.set_sha256(entry.sha256());
  while (got < entry.size()) {
    more.set_offset(got);
    auto r = conn.call<pb::FilesBlobReadResponse>(pb::FILES_BLOB_READ_REQUEST, more, pb::FILES_BLOB_READ_RESPONSE,
                                                  options.timeout());
    if (!r.ok()) return r.error();
    if (r->data().empty()) break;
    sha.update(r->data());
    if (auto st = sink(r->data()); !st.ok()) return st;
    got += r->data().size();
  }
  const std::string hash = sha.hex();
  if (got != entry.size() || hash != entry.sha256()) {
    return Error{Errc::internal, "the bytes received for " + name + " (" + std::to_string(got) + " bytes, sha256 " +
                                     hash + ") are not the file (" + std::to_string(entry.size()) + " bytes, sha256 " +
                                     entry.sha256() + ")"};
  }
  return ok_status();
}

Result<std::string> get_bytes(const ClientOptions& options, const std::string& name) {
  std::string out;
  pb::FileEntry entry;
  auto st = get(
      options, name,
      [&](std::string_view data) {
        out.append(data);
        return ok_status();
      },
      entry);
  if (!st.ok()) return st.error();
  return out;
}

Result<pb::FileEntry> stat(const ClientOptions& options, const std::string& name) {
  pb::FilesStatRequest req;
  req.set_name(name);
  auto r =
      client::call_cluster<pb::FilesStatResponse>(options, pb::FILES_STAT_REQUEST, req, pb::FILES_STAT_RESPONSE, true);
  if (!r.ok()) return r.error();
  return r->file();
}

}  // namespace minga::files
