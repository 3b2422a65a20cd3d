// Content-addressed blob store of the files app (docs/adr/006-files.md):
// a blob lives at DIR/ab/<64 hex of its SHA-256>, written durably (temp
// file, fsync, rename, directory fsync) and checked against its hash on
// every read, so a corrupt blob is reported, never served.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace minga::files {

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

class BlobStore {
 public:
  explicit BlobStore(std::string dir) : dir_(std::move(dir)) {}
  // Stores `data` durably; returns its hash. Storing a blob already present
  // rewrites nothing.
  Result<std::string> put(std::string_view data);
  // The blob's bytes; not_found if absent, internal ("corrupt") when the
  // bytes on disk no longer hash to `hash`.
  Result<std::string> get(std::string_view hash) const;
  bool has(std::string_view hash) const;
  std::string path_of(std::string_view hash) const;

 private:
  std::string dir_;
};

}  // namespace minga::files
