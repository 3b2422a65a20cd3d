// The narrow interface storage uses to reach a disk, so that the simulator
// can substitute a disk that loses unsynced writes, tears the last one and
// fails on demand. Every operation reports failure; none is ignored.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace minga::storage {

// A file open for writing at its end. Data is durable only after sync().
class File {
 public:
  virtual ~File() = default;
  // Writes at the end of what was appended so far (over zeros written
  // ahead, if any).
  virtual Status append(std::string_view data) = 0;
  // Writes zeros from the file's end up to `size` bytes (nothing if it is
  // that long), leaving where the next append goes: a sync after appends
  // into them overwrites allocated blocks and commits no metadata. Durable
  // after sync().
  virtual Status zero_ahead(std::uint64_t size) = 0;
  virtual Status sync() = 0;  // fdatasync: the data and the size
};

class FileSystem {
 public:
  enum class Open : std::uint8_t { append, truncate };  // both create a missing file

  virtual ~FileSystem() = default;
  // The whole file; fails when it is larger than max_bytes.
  virtual Result<std::string> read(const std::string& path, std::uint64_t max_bytes) = 0;
  virtual Result<std::unique_ptr<File>> open(const std::string& path, Open mode) = 0;
  // Shortens a file (recovery cuts a torn tail); durable after a sync of it.
  virtual Status truncate(const std::string& path, std::uint64_t size) = 0;
  // Names (not paths) in `dir`, sorted.
  virtual Result<std::vector<std::string>> list(const std::string& dir) = 0;
  virtual Status create_dir(const std::string& dir) = 0;  // ok if it exists
  // Directory changes (create, rename, remove) are durable after sync_dir.
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  virtual Status remove(const std::string& path) = 0;
  virtual Status sync_dir(const std::string& dir) = 0;
};

// POSIX files (open/pwrite/fdatasync/rename/unlink).
class PosixFileSystem final : public FileSystem {
 public:
  Result<std::string> read(const std::string& path, std::uint64_t max_bytes) override;
  Result<std::unique_ptr<File>> open(const std::string& path, Open mode) override;
  Status truncate(const std::string& path, std::uint64_t size) override;
  Result<std::vector<std::string>> list(const std::string& dir) override;
  Status create_dir(const std::string& dir) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove(const std::string& path) override;
  Status sync_dir(const std::string& dir) override;
};

// Replaces dir/name with `bytes` atomically: write dir/name.tmp, fsync it,
// rename it over dir/name, fsync the directory.
Status write_atomically(FileSystem& fs, const std::string& dir, const std::string& name, std::string_view bytes);

}  // namespace minga::storage
