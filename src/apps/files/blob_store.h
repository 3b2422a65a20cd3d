// Content-addressed blob store of the files app (docs/adr/006-files.md):
// a blob lives at DIR/ab/<64 hex of its SHA-256>, written durably (temp
// file, fsync, rename, directory fsync) and checked against its hash on
// every read, so a corrupt blob is reported, never served.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace minga::files {

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// True for 64 lower-case hex digits.
bool valid_hash(std::string_view hash);

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view data);
  std::string hex();  // ends the digest

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// A blob being written in pieces to a temporary file of its store; nothing
// is visible under a hash until finish() checked and made it durable. A
// writer destroyed unfinished removes its temporary file.
class BlobWriter {
 public:
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;
  Status append(std::string_view data);
  std::uint64_t size() const { return size_; }
  // fsync, compare the hash with `expected` (invalid_argument "hash
  // mismatch" if they differ; "" accepts any), rename into place, fsync the
  // directory. Returns the hash.
  Result<std::string> finish(std::string_view expected);

 private:
  friend class BlobStore;
  BlobWriter(const class BlobStore& store, std::string tmp, int fd) : store_(store), tmp_(std::move(tmp)), fd_(fd) {}
  const class BlobStore& store_;
  std::string tmp_;
  int fd_;
  std::uint64_t size_ = 0;
  Sha256 sha_;
};

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
  // An open descriptor of the blob (the caller closes it); not_found when
  // this store lacks it, invalid_argument for a malformed hash.
  Result<int> open_for_read(std::string_view hash) const;

  // Streaming: a writer for a new blob; up to `length` bytes from `offset`
  // of a stored blob, as they are on disk (not checked; not_found if absent);
  // its size; a full read that checks the hash (internal "corrupt blob ..."
  // on a mismatch); removing a blob (a corrupt one, before repair).
  Result<std::unique_ptr<BlobWriter>> begin() const;
  Result<std::string> read(std::string_view hash, std::uint64_t offset, std::size_t length) const;
  Result<std::uint64_t> size(std::string_view hash) const;
  Status verify(std::string_view hash) const;
  Status remove(std::string_view hash) const;

  // For the repair pass and the collector: every blob in the store with the
  // time its file was last written (unix seconds); temporary files of
  // uploads older than `before` (unix seconds) are deleted on the way.
  struct Stored {
    std::string hash;
    std::int64_t mtime = 0;
  };
  std::vector<Stored> list(std::int64_t drop_temp_before) const;
  // Marks blob `hash` as just written (a put or push that found it here
  // already), so that the collector's grace period starts again.
  void touch(std::string_view hash) const;
  // Deletes blob `hash` only if its file was not written after `mtime`.
  Status remove_if_unchanged(std::string_view hash, std::int64_t mtime) const;

 private:
  friend class BlobWriter;
  std::string dir_;
};

}  // namespace minga::files
