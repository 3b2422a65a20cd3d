// Files as a client of the cluster sees them: put, get and stat over the
// binary protocol, with the retries of the client layer (elections, busy
// nodes, the next address of --server). Blocking (net::Client): the CLI uses
// it, and so do apps that keep their data in files (ml), from their own
// threads, never from an I/O thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "client/options.h"
#include "proto/files.pb.h"

namespace minga::files {

// The next piece of the content ("" at its end).
using ChunkSource = std::function<Result<std::string>(std::size_t max_bytes)>;
// Where read bytes go.
using ChunkSink = std::function<Status(std::string_view data)>;

// Stores the content `next` yields under `name` (`declared` bytes if known,
// 0 otherwise); the answer is the committed entry.
Result<pb::FileEntry> put(const client::ClientOptions& options, const ChunkSource& next, std::uint64_t declared,
                          const std::string& name);
Result<pb::FileEntry> put_bytes(const client::ClientOptions& options, std::string_view data, const std::string& name);

// Streams file `name` into `sink`; the whole SHA-256 is checked at the end
// (internal when the bytes are not the file's). `entry` is the file's entry.
Status get(const client::ClientOptions& options, const std::string& name, const ChunkSink& sink, pb::FileEntry& entry);
Result<std::string> get_bytes(const client::ClientOptions& options, const std::string& name);

// The entry of `name`; not_found when there is none.
Result<pb::FileEntry> stat(const client::ClientOptions& options, const std::string& name);

}  // namespace minga::files
