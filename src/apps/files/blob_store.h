// Content-addressed blob store of the files app (docs/adr/006-files.md):
// a blob lives at DIR/ab/<64 hex of its SHA-256>, checked against its hash
// on every read, so a corrupt blob is reported, never served. It is in
// place only once durable and complete: a blob of at most 1 MiB is held in
// memory, made durable by the journal's group commit (blob_journal.h,
// docs/adr/010-blob-group-commit.md), then written into an unnamed file of
// its directory and linked under its hash in one step; a bigger one goes by
// temp file, fsync, rename, directory fsync. A blob of at most `pack_max`
// bytes has no file of its own: its journal record stays its home, found
// through the pack index (pack_index.h, docs/adr/011-blob-packs.md).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/files/blob_journal.h"
#include "apps/files/pack_index.h"
#include "base/result.h"

namespace minga::files {

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// True for 64 lower-case hex digits.
bool valid_hash(std::string_view hash);
// invalid_argument "hash mismatch: the bytes hash to ACTUAL, not EXPECTED".
Error hash_mismatch(std::string_view actual, std::string_view expected);
// Writes all of `data` to `fd` (EINTR retried); errors name `path`.
Status write_all(int fd, std::string_view data, const std::string& path);

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

// A blob being written in pieces: in memory while it is small enough for the
// journal, in a temporary file of its store past that. Nothing is visible
// under a hash until finish() checked and made it durable. A writer
// destroyed unfinished removes its temporary file, if it has one.
class BlobWriter {
 public:
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;
  Status append(std::string_view data);
  std::uint64_t size() const { return size_; }
  // The bytes so far while the blob is small enough for the journal
  // (nullptr otherwise): a put sends them to the replicas while this node
  // makes them durable.
  const std::string* small_bytes() const { return journaled_ ? &small_ : nullptr; }
  // Compares the hash with `expected` (invalid_argument "hash mismatch" if
  // they differ; "" accepts any) and makes the blob durable and in place,
  // blocking: a small blob by the journal (BlobStore::land), shared with the
  // writers finishing at the same time; a big one by an fsync of its temp
  // file, a rename into place and an fsync of the directory. Returns the
  // hash. The bytes of small_bytes() stay as they are meanwhile.
  Result<std::string> finish(std::string_view expected);

 private:
  friend class BlobStore;
  explicit BlobWriter(const class BlobStore& store) : store_(store) {}
  const class BlobStore& store_;
  std::string tmp_;  // the temporary file, once the blob outgrew the journal
  int fd_ = -1;
  bool finished_ = false;
  std::uint64_t size_ = 0;
  Sha256 sha_;
  // The bytes, while the blob is small enough for the journal.
  std::string small_;
  bool journaled_ = true;
};

class BlobStore {
 public:
  // `sync` makes the journal's writes durable (fdatasync unless a test
  // injects failures); blobs of at most `pack_max` bytes (at most
  // BlobJournal::kMaxBlob) stay in the journal's segments, 0 packs none.
  explicit BlobStore(std::string dir, BlobJournal::SyncFn sync = nullptr, std::uint64_t pack_max = 0);
  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;
  // Before anything else: indexes the packed blobs of the journal's
  // segments and puts in place, durably, every other blob still in them
  // (the store stopped before their checkpoint), and deletes the segments
  // that keep no packed blob. Returns how many records it replayed.
  Result<std::uint64_t> recover();
  BlobJournal::Counters journal_counters() const { return journal_->counters(); }
  // Blobs in packs, and the segments holding them.
  std::size_t packed() const { return packs_.count(); }
  std::size_t pack_segments() const { return packs_.segment_count(); }
  // Rewrites the blobs still in use of each kept segment that is more than
  // half garbage (collected or replaced blobs) into the open segment, then
  // deletes it. Blocks while the moved bytes are synced; for the repair
  // pass. Returns the blobs moved.
  std::uint64_t compact() const;
  // Stores `data` durably; returns its hash. Storing a blob already present
  // rewrites nothing.
  Result<std::string> put(std::string_view data);
  // Lands a blob whose bytes are all at hand (at most BlobJournal::kMaxBlob)
  // and must hash to `hash`, without blocking: the bytes are copied into the
  // journal's next batch, and after the fdatasync that covers them the
  // journal's syncer thread indexes the packed blob or puts its file in
  // place and calls `done` (ok: durable and in place here). A good blob already under that hash is
  // only touched (checked on the completion thread, rewritten if corrupt).
  // `done` runs exactly once; at once, on the caller's thread, when the
  // bytes are refused (above the limit: invalid_argument; not hashing to
  // `hash`: invalid_argument "hash mismatch: ..."; a closing or failed
  // journal). Costs the caller one SHA-256 of `data` and a stat.
  using Landed = std::function<void(Status)>;
  void land(std::string_view hash, std::string_view data, Landed done) const;
  // The same for bytes the caller has hashed already (sha256_hex(data) ==
  // hash), without hashing them again.
  void land_hashed(std::string hash, std::string_view data, Landed done) const;
  // The blob's bytes; not_found if absent, internal ("corrupt") when the
  // bytes on disk no longer hash to `hash`.
  Result<std::string> get(std::string_view hash) const;
  bool has(std::string_view hash) const;
  std::string path_of(std::string_view hash) const;
  // An open descriptor of the blob (the caller closes it); not_found when
  // this store lacks it, invalid_argument for a malformed hash.
  Result<int> open_for_read(std::string_view hash) const;

  // Streaming: a writer for a new blob (no file until it outgrows the
  // journal); up to `length` bytes from `offset`
  // of a stored blob, as they are on disk (not checked; not_found if absent);
  // its size; a full read that checks the hash (internal "corrupt blob ..."
  // on a mismatch); removing a blob (a corrupt one, before repair).
  Result<std::unique_ptr<BlobWriter>> begin() const;
  Result<std::string> read(std::string_view hash, std::uint64_t offset, std::size_t length) const;
  Result<std::uint64_t> size(std::string_view hash) const;
  Status verify(std::string_view hash) const;
  Status remove(std::string_view hash) const;

  // For the repair pass and the collector: every blob in the store with the
  // time it was last written (unix seconds: its file's mtime, or for a
  // packed blob its landing, last touch or the store's start); temporary
  // files of uploads older than `before` (unix seconds) are deleted on the
  // way.
  struct Stored {
    std::string hash;
    std::int64_t mtime = 0;
  };
  std::vector<Stored> list(std::int64_t drop_temp_before) const;
  // Marks blob `hash` as just written (a put or push that found it here
  // already), so that the collector's grace period starts again.
  void touch(std::string_view hash) const;
  // Deletes blob `hash` only if it was not written after `mtime`.
  Status remove_if_unchanged(std::string_view hash, std::int64_t mtime) const;

 private:
  friend class BlobWriter;
  // Writes `data` as blob `hash` by temp file, fsync, rename, dir fsync.
  Status write_durable(const std::string& hash, std::string_view data) const;
  // land() once the bytes are known to hash to `hash`; `expected`: the
  // caller was counted by the journal's expect(1).
  void land_checked(std::string hash, std::string_view data, bool expected, Landed done) const;
  // The same, blocking until done.
  Status land_wait(const std::string& hash, std::string_view data, bool expected) const;
  void append_and_place(std::string hash, std::string_view data, bool expected, Landed done) const;
  // Puts durable bytes in place under `hash` (no fsync: the journal holds
  // them until the checkpoint). Never visible partially written.
  Status place(const std::string& hash, std::string_view data) const;
  // 0 or the errno of the failed step, named in `what`.
  int place_by_link(const std::string& sub, const std::string& path, std::string_view data, std::string& what) const;
  int place_by_rename(const std::string& sub, const std::string& path, std::string_view data, std::string& what) const;
  // A new temp file in DIR/tmp for a writer that outgrew the journal.
  Result<int> open_temp(std::string& path) const;
  std::string dir_;
  const std::uint64_t pack_max_;
  bool packs_size(std::uint64_t size) const { return pack_max_ != 0 && size <= pack_max_; }
  // Indexes the packed blob `hash` at `where`; deletes the kept segment it
  // left, if that one holds no blob any more.
  void index_packed(const std::string& hash, BlobJournal::Where where, std::uint64_t length) const;
  // Up to `length` bytes from `offset` of packed blob `hash` (nullopt if it
  // is not packed here), looked up again if a compaction moved it meanwhile.
  std::optional<Result<std::string>> read_packed(std::string_view hash, std::uint64_t offset, std::size_t length) const;
  // The whole packed blob `hash`, its hash checked (internal "corrupt blob"
  // if wrong); nullopt if it is not packed here.
  std::optional<Result<std::string>> get_packed(std::string_view hash) const;
  // Drops a segment left with no blob from the pack index and the journal.
  void drop_segment(std::uint64_t seq) const;
  mutable PackIndex packs_;
  // The sub directories (by the first byte of the hash) known to exist.
  mutable std::array<std::atomic<bool>, 256> subs_{};
  // How placement links a file: an unnamed file (O_TMPFILE) linked by its
  // descriptor (needs CAP_DAC_READ_SEARCH) or through /proc/self/fd, or a
  // named temp file renamed (a file system without O_TMPFILE). The first
  // placements find out which works here.
  enum Placement : int { kLinkEmptyPath, kLinkProc, kRename };
  mutable std::atomic<int> placement_{kLinkEmptyPath};
  std::unique_ptr<BlobJournal> journal_;
};

}  // namespace minga::files
