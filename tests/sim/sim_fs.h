// An in-memory FileSystem with the failure modes of a real disk:
//   - data written but not fsynced is lost on crash, except that the
//     unsynced tail of a file may survive in part, its last byte garbled
//     (a torn write); the same for an unsynced overwrite of zeros written
//     ahead (File::zero_ahead);
//   - directory changes (create, rename, remove) not followed by sync_dir
//     are undone on crash;
//   - reads, writes and fsyncs fail on demand (injected I/O errors).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "base/random.h"
#include "storage/file_system.h"

namespace minga::sim {

class SimFs final : public storage::FileSystem {
 public:
  enum class Fault : std::uint8_t { read, write, sync };

  Result<std::string> read(const std::string& path, std::uint64_t max_bytes) override;
  Result<std::unique_ptr<storage::File>> open(const std::string& path, Open mode) override;
  Status truncate(const std::string& path, std::uint64_t size) override;
  Result<std::vector<std::string>> list(const std::string& dir) override;
  Status create_dir(const std::string& dir) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove(const std::string& path) override;
  Status sync_dir(const std::string& dir) override;

  // Power loss. With `tear`, unsynced tails survive in part.
  void crash(Random& rng, bool tear = true);
  // The next `count` operations of this kind fail.
  void inject(Fault f, std::uint64_t count = 1) { faults_[f] += count; }
  void clear_faults() { faults_.clear(); }
  // A new, empty disk (a server replaced by a new one); counters stay.
  void wipe() {
    names_.clear();
    durable_names_.clear();
    dirs_.clear();
    faults_.clear();
  }
  std::uint64_t syncs() const { return syncs_; }
  std::uint64_t torn_writes() const { return torn_; }
  // Test access to raw bytes (e.g. to corrupt them).
  std::string* raw(const std::string& path);

 private:
  struct Data {
    std::string bytes;       // what a read sees now
    std::size_t synced = 0;  // bytes[0, synced) are durable...
    bool shrunk = false;     // ...unless an unsynced truncation or overwrite changed them:
    std::string durable;     // then this is the durable content
    void shrink_to(std::size_t size);
  };
  class SimFile;
  Status fault(Fault f, const std::string& what);

  std::map<std::string, std::shared_ptr<Data>> names_;          // the namespace now
  std::map<std::string, std::shared_ptr<Data>> durable_names_;  // as of the last sync_dir
  std::set<std::string> dirs_;
  std::map<Fault, std::uint64_t> faults_;
  std::uint64_t syncs_ = 0;
  std::uint64_t torn_ = 0;
};

}  // namespace minga::sim
