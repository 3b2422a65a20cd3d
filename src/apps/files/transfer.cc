#include "apps/files/transfer.h"

#include <algorithm>

#include "net/client.h"
#include "proto/files.pb.h"

namespace minga::files {
namespace {

Result<net::Client> dial(const std::string& address, const TransferOptions& options) {
  auto ep = net::parse_endpoint(address);
  if (!ep.ok()) return ep.error();
  return net::Client::connect(ep.value(), options.timeout);
}

}  // namespace

Status push_blob(const BlobStore& store, const std::string& address, const std::string& hash, std::uint64_t size,
                 const TransferOptions& options) {
  auto c = dial(address, options);
  if (!c.ok()) return c.error();
  pb::FilesBlobCommitRequest ask;
  ask.set_sha256(hash);
  ask.set_size(size);
  auto held = c->call(pb::FILES_BLOB_COMMIT_REQUEST, ask, pb::FILES_BLOB_COMMIT_RESPONSE, options.timeout);
  if (held.ok()) return ok_status();
  if (held.error().code != Errc::not_found) return held.error();
  pb::FilesUploadRequest up;
  up.set_size(size);
  std::uint64_t offset = 0;
  do {
    auto data = store.read(hash, offset, options.chunk_bytes);
    if (!data.ok()) return data.error();
    if (data->empty() && offset < size) return Error{Errc::internal, "blob " + hash + " is shorter than its size"};
    up.set_offset(offset);
    offset += data->size();
    up.set_data(std::move(data.value()));
    auto r = c->call<pb::FilesUploadResponse>(pb::FILES_UPLOAD_REQUEST, up, pb::FILES_UPLOAD_RESPONSE, options.timeout);
    if (!r.ok()) return r.error();
    up.set_upload_id(r->upload_id());
    up.clear_size();
  } while (offset < size);
  ask.set_upload_id(up.upload_id());
  auto done = c->call(pb::FILES_BLOB_COMMIT_REQUEST, ask, pb::FILES_BLOB_COMMIT_RESPONSE, options.timeout);
  if (!done.ok()) return done.error();
  return ok_status();
}

Status fetch_blob(const BlobStore& store, const std::string& address, const std::string& hash,
                  const TransferOptions& options) {
  auto c = dial(address, options);
  if (!c.ok()) return c.error();
  auto writer = store.begin();
  if (!writer.ok()) return writer.error();
  pb::FilesBlobReadRequest req;
  req.set_sha256(hash);
  req.set_length(options.chunk_bytes);
  for (;;) {
    req.set_offset(writer.value()->size());
    auto r = c->call<pb::FilesBlobReadResponse>(pb::FILES_BLOB_READ_REQUEST, req, pb::FILES_BLOB_READ_RESPONSE,
                                                options.timeout);
    if (!r.ok()) return r.error();
    if (auto st = writer.value()->append(r->data()); !st.ok()) return st;
    if (writer.value()->size() >= r->size() || r->data().empty()) break;
  }
  auto h = writer.value()->finish(hash);
  if (!h.ok()) return h.error();
  return ok_status();
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
