// The small blobs kept in the journal's segments (docs/adr/011-blob-packs.md):
// for each blob, the segment, offset and length of its bytes there, and
// the time it was last written (the collector's grace period counts from
// it). In memory only: recover() rebuilds it from the segments at start.
// About 100 bytes of memory per blob. Thread-safe; it never calls out while locked.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/result.h"

namespace minga::files {

class PackIndex {
 public:
  struct Entry {
    std::uint64_t seq = 0;     // the segment
    std::uint64_t offset = 0;  // of the bytes in it
    std::uint64_t length = 0;
    std::int64_t mtime = 0;  // unix seconds
  };

  // `segment_path(seq)`: the file of segment `seq`, opened to read.
  explicit PackIndex(std::function<std::string(std::uint64_t)> segment_path);

  // `hash` (64 lower-case hex digits) is now at `e`. Returns the segment
  // it was in before if that one holds no blob any more (0 otherwise).
  std::uint64_t put(std::string_view hash, const Entry& e);
  // The same, only if `hash` is still at `from` (a compaction's move); 0
  // and no change otherwise.
  std::uint64_t move(std::string_view hash, const Entry& from, const Entry& to);
  std::optional<Entry> find(std::string_view hash) const;
  // Drops `hash` (if `not_after` is given: only if it was not written
  // after that time). Returns whether it was dropped and, in `emptied`,
  // its segment if that one holds no blob any more (0 otherwise).
  bool erase(std::string_view hash, std::optional<std::int64_t> not_after, std::uint64_t& emptied);
  // Sets the time of `hash`; false if it is not here.
  bool touch(std::string_view hash, std::int64_t mtime);

  bool holds(std::uint64_t seq) const;
  std::size_t count() const;
  std::size_t segment_count() const;
  // Every blob with its entry; those of segment `seq`; the bytes still in
  // use per segment.
  std::vector<std::pair<std::string, Entry>> all() const;
  std::vector<std::pair<std::string, Entry>> in(std::uint64_t seq) const;
  std::map<std::uint64_t, std::uint64_t> live_bytes() const;

  // Up to `length` bytes from `offset` of the blob at `e` (as on disk, not
  // checked); the segment's descriptor is kept open for the next reads.
  Result<std::string> read(const Entry& e, std::uint64_t offset, std::size_t length) const;
  // Segment `seq` is gone: its descriptor is closed once no read uses it.
  void forget(std::uint64_t seq);

 private:
  using Key = std::array<unsigned char, 32>;
  struct KeyHash {
    std::size_t operator()(const Key& k) const;
  };
  struct Segment {
    std::uint64_t blobs = 0;
    std::uint64_t bytes = 0;
  };
  struct Fd;
  static std::optional<Key> key_of(std::string_view hash);
  static std::string hex_of(const Key& k);
  // The blobs whose entry satisfies `keep` (holding mu_).
  template <class Keep>
  std::vector<std::pair<std::string, Entry>> select_locked(Keep keep) const;
  // Counts `e` out of its segment; its seq if that one is now empty.
  std::uint64_t leave_locked(const Entry& e);

  const std::function<std::string(std::uint64_t)> segment_path_;
  mutable std::mutex mu_;
  std::unordered_map<Key, Entry, KeyHash> blobs_;
  std::map<std::uint64_t, Segment> segments_;
  mutable std::map<std::uint64_t, std::shared_ptr<Fd>> fds_;
};

}  // namespace minga::files
