// A file's bytes over the HTTP API (docs/api.md, docs/files.md):
//
//   PUT  /api/v1/files/{name}   the raw body becomes the file
//   GET  /api/v1/files/{name}   the file's raw bytes (HEAD: its headers)
//
// Both are streams (http/message.h, Exchange) driven through the router
// with the files app's own frames, exactly as `minga put` and `minga get`
// send them: a PUT is a FilesUploadRequest per 1 MiB piece of the body
// (the SHA-256 computed on the way) then a FilesPutRequest; a GET is a
// FilesGetRequest then FilesBlobReadRequests by the entry's hash, each
// piece written before the next is asked for. Memory stays at one piece
// per request whatever the file's size. The node that serves the request
// takes the upload and the put as it would from a client, so a follower
// forwards the put's commit to the leader as the binary protocol does.
//
// This is the one place the HTTP layer knows an app's messages: bytes that
// do not fit the JSON mapping of a single request.
#pragma once

#include "base/result.h"
#include "http/api.h"

namespace minga::http {

// The bytes sent in one upload frame or asked for in one read frame.
inline constexpr std::size_t kFileChunkBytes = 1u << 20;

// Adds the two routes above to `api`.
Status add_file_routes(Api& api);

}  // namespace minga::http
