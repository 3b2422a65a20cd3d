#include "apps/files/blob_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace minga::files {
namespace {

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/minga-blobs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  // Temporary files of the store: in blobs/tmp (an upload too big for the
  // journal) or beside the blobs (".tmp-...").
  std::size_t temp_files() const {
    std::size_t n = 0;
    std::error_code ec;
    for (std::filesystem::recursive_directory_iterator it(root_ + "/blobs", ec), end; !ec && it != end;
         it.increment(ec)) {
      const std::string parent = it->path().parent_path().filename().string();
      const std::string name = it->path().filename().string();
      if (it->is_regular_file() && (parent == "tmp" || name.rfind(".tmp-", 0) == 0)) ++n;
    }
    return n;
  }
  std::string root_;
};

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(BlobStoreTest, EveryByteValueAndEmptyBlobRoundTripUnderTheirHash) {
  BlobStore store(root_ + "/blobs");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (const std::string& data : {all, std::string()}) {
    auto hash = store.put(data);
    ASSERT_TRUE(hash.ok()) << hash.error().message;
    EXPECT_EQ(hash.value(), sha256_hex(data));
    EXPECT_TRUE(std::filesystem::exists(root_ + "/blobs/" + hash->substr(0, 2) + "/" + hash.value()));
    auto back = store.get(hash.value());
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back.value(), data);
  }
  // No temp files are left beside the blobs.
  for (const auto& e : std::filesystem::recursive_directory_iterator(root_)) {
    EXPECT_EQ(e.path().filename().string().rfind(".tmp-", 0), std::string::npos) << e.path();
  }
}

TEST_F(BlobStoreTest, MissingAndMalformedHashesAreErrors) {
  BlobStore store(root_ + "/blobs");
  auto missing = store.get(sha256_hex("never stored"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  auto escape = store.get("../../etc/passwd");
  ASSERT_FALSE(escape.ok());
  EXPECT_EQ(escape.error().code, Errc::invalid_argument);
  EXPECT_FALSE(store.has("../../etc/passwd"));
}

TEST_F(BlobStoreTest, AFlippedByteIsDetectedOnRead) {
  BlobStore store(root_ + "/blobs");
  auto hash = store.put("hello, replicated world");
  ASSERT_TRUE(hash.ok());
  {
    std::fstream f(store.path_of(hash.value()), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3);
    f.put('X');
  }
  auto back = store.get(hash.value());
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().code, Errc::internal);
  EXPECT_EQ(back.error().message, "corrupt blob " + hash.value());
}

}  // namespace
}  // namespace minga::files

namespace minga::files {
namespace {

TEST_F(BlobStoreTest, AStreamedBlobAppearsOnlyWhenFinishedWithItsHash) {
  BlobStore store(root_ + "/blobs");
  std::string all;
  for (int i = 0; i < 3000; ++i) all.push_back(static_cast<char>(i * 7));
  const std::string hash = sha256_hex(all);
  {
    auto w = store.begin();
    ASSERT_TRUE(w.ok()) << w.error().message;
    ASSERT_TRUE(w.value()->append(std::string_view(all).substr(0, 1000)).ok());
    ASSERT_TRUE(w.value()->append(std::string_view(all).substr(1000)).ok());
    EXPECT_FALSE(store.has(hash));
    auto done = w.value()->finish(hash);
    ASSERT_TRUE(done.ok()) << done.error().message;
    EXPECT_EQ(done.value(), hash);
  }
  EXPECT_TRUE(store.verify(hash).ok());
  EXPECT_EQ(store.size(hash).value(), all.size());
  EXPECT_EQ(store.read(hash, 2990, 100).value(), all.substr(2990));
  EXPECT_EQ(store.read(hash, 5000, 100).value(), "");
  // A small blob is held in memory: it never had a temporary file.
  EXPECT_EQ(temp_files(), 0u);
  EXPECT_FALSE(std::filesystem::exists(root_ + "/blobs/tmp"));
}

TEST_F(BlobStoreTest, AStreamWhoseBytesDoNotMatchTheHashLeavesNothing) {
  BlobStore store(root_ + "/blobs");
  const std::string claimed = sha256_hex("the real bytes");
  {
    auto w = store.begin();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w.value()->append("other bytes").ok());
    auto done = w.value()->finish(claimed);
    ASSERT_FALSE(done.ok());
    EXPECT_EQ(done.error().code, Errc::invalid_argument);
    EXPECT_EQ(done.error().message.rfind("hash mismatch", 0), 0u) << done.error().message;
  }
  EXPECT_FALSE(store.has(claimed));
  EXPECT_FALSE(store.has(sha256_hex("other bytes")));
  EXPECT_EQ(temp_files(), 0u);
  EXPECT_EQ(store.journal_counters().appends, 0u);
}

TEST_F(BlobStoreTest, VerifyFindsAFlippedByteAndRemoveDropsTheBlob) {
  BlobStore store(root_ + "/blobs");
  auto hash = store.put("some content to corrupt");
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(store.verify(hash.value()).ok());
  {
    std::fstream f(store.path_of(hash.value()), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f.put('Z');
  }
  auto bad = store.verify(hash.value());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "corrupt blob " + hash.value());
  ASSERT_TRUE(store.remove(hash.value()).ok());
  EXPECT_FALSE(store.has(hash.value()));
  EXPECT_EQ(store.verify(hash.value()).error().code, Errc::not_found);
}

TEST_F(BlobStoreTest, ListNamesStoredBlobsDropsOldTempFilesAndRemoveIfUnchangedSparesARewrite) {
  BlobStore store(root_ + "/blobs");
  auto a = store.put("blob a");
  auto b = store.put("blob b");
  ASSERT_TRUE(a.ok() && b.ok());
  auto open = store.begin();  // an upload in progress, too big for the journal: a temp file
  ASSERT_TRUE(open.ok());
  ASSERT_TRUE(open.value()->append("partial").ok());
  EXPECT_EQ(temp_files(), 0u) << "a small upload is held in memory";
  ASSERT_TRUE(open.value()->append(std::string(BlobJournal::kMaxBlob, 'p')).ok());
  std::set<std::string> hashes;
  for (const auto& s : store.list(0)) hashes.insert(s.hash);
  EXPECT_EQ(hashes, (std::set<std::string>{a.value(), b.value()}));
  std::size_t temps = 0;
  for (const auto& f : std::filesystem::directory_iterator(root_ + "/blobs/tmp")) temps += f.is_regular_file();
  EXPECT_EQ(temps, 1u) << "a fresh temp file is kept";
  store.list(std::numeric_limits<std::int64_t>::max());
  temps = 0;
  for (const auto& f : std::filesystem::directory_iterator(root_ + "/blobs/tmp")) temps += f.is_regular_file();
  EXPECT_EQ(temps, 0u) << "a temp file older than the cut-off goes";
  // Written again after the listing (a touch): not removed.
  const auto listed = store.list(0);
  const std::int64_t old = listed.front().mtime - 10;
  EXPECT_EQ(store.remove_if_unchanged(listed.front().hash, old).error().code, Errc::busy);
  EXPECT_TRUE(store.has(listed.front().hash));
  EXPECT_TRUE(store.remove_if_unchanged(listed.front().hash, listed.front().mtime).ok());
  EXPECT_FALSE(store.has(listed.front().hash));
}

// Writers finishing at the same time share the journal's fdatasyncs; each
// blob is in place, with its bytes, when its finish returns.
TEST_F(BlobStoreTest, ConcurrentSmallBlobsShareJournalSyncs) {
  BlobStore store(root_ + "/blobs");
  constexpr int kThreads = 32, kEach = 4;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string data(4096, static_cast<char>('a' + (t * kEach + i) % 26));
        auto w = store.begin();
        const std::string bytes = data + std::to_string(t) + "/" + std::to_string(i);
        if (!w.ok() || !w.value()->append(bytes).ok()) {
          ++failures;
          continue;
        }
        auto h = w.value()->finish(sha256_hex(bytes));
        if (!h.ok()) {
          ++failures;
          continue;
        }
        auto back = store.get(h.value());
        if (!back.ok() || back.value() != bytes) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const auto c = store.journal_counters();
  EXPECT_EQ(c.appends, static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_LT(c.syncs, c.appends);
  EXPECT_GE(c.syncs, 1u);
}

// A blob acknowledged through the journal whose file did not survive (a
// crash before the checkpoint) is put back by recover(), and the segments
// are gone afterwards; a torn record at the tail is ignored.
TEST_F(BlobStoreTest, RecoverPutsBackJournaledBlobsAndIgnoresATornTail) {
  const std::string dir = root_ + "/blobs";
  std::string kept, lost;
  {
    BlobStore store(dir);
    kept = store.put("a blob that stays").value();
    lost = store.put("a blob whose file is lost").value();
    ASSERT_EQ(::unlink(store.path_of(lost).c_str()), 0);
    EXPECT_FALSE(store.has(lost));
  }
  std::vector<std::string> segments;
  for (const auto& f : std::filesystem::directory_iterator(dir + "/journal")) segments.push_back(f.path().string());
  ASSERT_EQ(segments.size(), 1u);
  {
    std::ofstream torn(segments[0], std::ios::app | std::ios::binary);
    torn << "MBJ1\x10";  // a header cut short
  }
  BlobStore again(dir);
  auto replayed = again.recover();
  ASSERT_TRUE(replayed.ok()) << replayed.error().message;
  EXPECT_EQ(replayed.value(), 2u);
  EXPECT_EQ(again.get(lost).value(), "a blob whose file is lost");
  EXPECT_EQ(again.get(kept).value(), "a blob that stays");
  EXPECT_TRUE(std::filesystem::is_empty(dir + "/journal"));
  EXPECT_EQ(again.recover().value(), 0u);
}

// A journal sync that the test holds until it lets it go, succeeding or
// failing with an errno.
class HeldSync {
 public:
  BlobJournal::SyncFn fn() {
    return [this](int fd) {
      std::unique_lock lock(mu_);
      ++calls_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
      if (errno_ != 0) {
        errno = errno_;
        return -1;
      }
      return ::fdatasync(fd);
    };
  }
  void wait_for_calls(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return calls_ >= n; });
  }
  void release(int err = 0) {
    std::lock_guard lock(mu_);
    if (open_) return;
    open_ = true;
    errno_ = err;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
  bool open_ = false;
  int errno_ = 0;
};

// A store whose journal syncs wait for the test (let go before the store
// closes, whatever the test did).
struct HeldStore {
  explicit HeldStore(const std::string& dir) : store(dir, sync.fn()) {}
  ~HeldStore() { sync.release(); }
  HeldSync sync;
  BlobStore store;
};

// The outcome of a landing, once its callback ran.
class Outcome {
 public:
  BlobStore::Landed callback(std::function<void()> then = nullptr) {
    return [this, then](Status st) {
      if (then) then();
      std::lock_guard lock(mu_);
      status_ = std::move(st);
      cv_.notify_all();
    };
  }
  bool done() {
    std::lock_guard lock(mu_);
    return status_.has_value();
  }
  Status wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return status_.has_value(); });
    return *status_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Status> status_;
};

TEST_F(BlobStoreTest, ALandingAnswersAfterItsSyncWithTheFileInPlaceAndNoFileBefore) {
  HeldStore h(root_ + "/blobs");
  const std::string data(4096, 'q');
  const std::string hash = sha256_hex(data);
  const std::string path = h.store.path_of(hash);
  std::atomic<bool> in_place_at_answer{false};
  Outcome out;
  h.store.land(hash, data, out.callback([&] { in_place_at_answer = std::filesystem::exists(path); }));
  h.sync.wait_for_calls(1);  // the syncer holds the record's fdatasync
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(out.done());
  EXPECT_FALSE(h.store.has(hash));
  EXPECT_EQ(temp_files(), 0u);
  h.sync.release();
  ASSERT_TRUE(out.wait().ok());
  EXPECT_TRUE(in_place_at_answer.load());
  EXPECT_EQ(h.store.get(hash).value(), data);
  EXPECT_EQ(temp_files(), 0u);
  EXPECT_EQ(h.store.journal_counters().appends, 1u);
  EXPECT_EQ(h.store.journal_counters().syncs, 1u);
}

// Every landing that arrives while a sync runs is covered by the next one:
// two fdatasyncs for 100 blobs.
TEST_F(BlobStoreTest, LandingsDuringASyncShareTheNextOne) {
  HeldStore h(root_ + "/blobs");
  constexpr int kBlobs = 100;
  std::vector<std::string> blobs;
  for (int i = 0; i < kBlobs; ++i) blobs.push_back("blob number " + std::to_string(i));
  std::vector<Outcome> outs(kBlobs);
  h.store.land(sha256_hex(blobs[0]), blobs[0], outs[0].callback());
  h.sync.wait_for_calls(1);
  for (int i = 1; i < kBlobs; ++i) h.store.land(sha256_hex(blobs[i]), blobs[i], outs[i].callback());
  h.sync.release();
  for (int i = 0; i < kBlobs; ++i) {
    ASSERT_TRUE(outs[i].wait().ok()) << i;
    EXPECT_EQ(h.store.get(sha256_hex(blobs[i])).value(), blobs[i]);
  }
  EXPECT_EQ(h.store.journal_counters().appends, static_cast<std::uint64_t>(kBlobs));
  EXPECT_EQ(h.store.journal_counters().syncs, 2u);
}

TEST_F(BlobStoreTest, ALandingWhoseBytesDoNotHashToItsNameIsRefusedAtOnceLeavingNothing) {
  BlobStore store(root_ + "/blobs");
  const std::string claimed = sha256_hex("the real bytes");
  for (const std::string& name : {claimed, std::string("../../etc/x")}) {
    Outcome out;
    store.land(name, "other bytes", out.callback());
    ASSERT_TRUE(out.done()) << "refused on the caller's thread";
    const Status st = out.wait();
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, Errc::invalid_argument);
    EXPECT_EQ(st.error().message, "hash mismatch: the bytes hash to " + sha256_hex("other bytes") + ", not " + name);
  }
  EXPECT_FALSE(store.has(claimed));
  EXPECT_FALSE(store.has(sha256_hex("other bytes")));
  EXPECT_EQ(temp_files(), 0u);
  EXPECT_EQ(store.journal_counters().appends, 0u);
  EXPECT_FALSE(std::filesystem::exists(root_ + "/blobs/journal")) << "no segment was even opened";
}

// A good blob under the hash is only touched; a corrupt one is written again.
TEST_F(BlobStoreTest, LandingABlobAlreadyHereTouchesItOrRewritesItIfCorrupt) {
  BlobStore store(root_ + "/blobs");
  const std::string data = "bytes landed twice";
  const std::string hash = store.put(data).value();
  const std::string path = store.path_of(hash);
  const struct timespec old[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), old, 0), 0);
  Outcome again;
  store.land(hash, data, again.callback());
  ASSERT_TRUE(again.wait().ok());
  EXPECT_EQ(store.journal_counters().appends, 1u) << "nothing written the second time";
  EXPECT_GT(std::filesystem::last_write_time(path).time_since_epoch(),
            std::filesystem::file_time_type::clock::now().time_since_epoch() - std::chrono::hours(1));
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f.put('X');
  }
  Outcome repaired;
  store.land(hash, data, repaired.callback());
  ASSERT_TRUE(repaired.wait().ok());
  EXPECT_EQ(store.journal_counters().appends, 2u);
  EXPECT_EQ(store.get(hash).value(), data);
  EXPECT_EQ(temp_files(), 0u);
}

// A failed fdatasync fails the landings it was to cover, places nothing,
// and every later landing or put fails at once with the same error.
TEST_F(BlobStoreTest, AFailedSyncFailsItsLandingsAndEveryLaterOne) {
  HeldStore h(root_ + "/blobs");
  const std::string data = "never durable";
  const std::string hash = sha256_hex(data);
  Outcome first;
  h.store.land(hash, data, first.callback());
  h.sync.wait_for_calls(1);
  h.sync.release(EIO);
  const Status st = first.wait();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::internal);
  EXPECT_EQ(st.error().message.rfind("fdatasync " + root_ + "/blobs/journal/", 0), 0u) << st.error().message;
  EXPECT_NE(st.error().message.find("Input/output error"), std::string::npos) << st.error().message;
  EXPECT_FALSE(h.store.has(hash));
  EXPECT_EQ(temp_files(), 0u);
  Outcome later;
  h.store.land(sha256_hex("later"), "later", later.callback());
  ASSERT_TRUE(later.done()) << "refused on the caller's thread";
  EXPECT_EQ(later.wait().error().message, st.error().message);
  auto put = h.store.put("a put after the failure");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().message, st.error().message);
  EXPECT_EQ(h.store.journal_counters().syncs, 1u);
}

// A blob above the journal's limit goes the direct way (fsync of its own
// file) and never enters the journal.
TEST_F(BlobStoreTest, ABigBlobBypassesTheJournal) {
  BlobStore store(root_ + "/blobs");
  const std::string big(BlobJournal::kMaxBlob + 1, 'z');
  auto h = store.put(big);
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(store.get(h.value()).value(), big);
  EXPECT_EQ(store.journal_counters().appends, 0u);
}

// Packs (docs/adr/011-blob-packs.md): blobs up to pack_max stay in the
// journal's segments, with no file of their own.
constexpr std::uint64_t kPackMax = 64u << 10;

std::vector<std::string> segment_files(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(root + "/blobs/journal", ec), end; !ec && it != end; it.increment(ec))
    out.push_back(it->path().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(BlobStoreTest, PackedBlobsHaveNoFileOfTheirOwnAndSurviveARestart) {
  std::vector<std::string> blobs = {"", "p", std::string(4096, 'q'), std::string(kPackMax, 'r')};
  for (int i = 0; i < 50; ++i) blobs.push_back("small blob " + std::to_string(i));
  const std::string big(kPackMax + 1, 's');  // above pack_max: a file
  {
    BlobStore store(root_ + "/blobs", nullptr, kPackMax);
    for (const auto& b : blobs) ASSERT_EQ(store.put(b).value(), sha256_hex(b));
    ASSERT_EQ(store.put(big).value(), sha256_hex(big));
    EXPECT_EQ(store.packed(), blobs.size());
    EXPECT_EQ(store.pack_segments(), 1u);
    for (const auto& b : blobs) {
      const std::string h = sha256_hex(b);
      EXPECT_FALSE(std::filesystem::exists(store.path_of(h))) << b.size();
      EXPECT_TRUE(store.has(h));
      EXPECT_EQ(store.get(h).value(), b);
      EXPECT_EQ(store.size(h).value(), b.size());
      EXPECT_TRUE(store.verify(h).ok());
    }
    EXPECT_TRUE(std::filesystem::exists(store.path_of(sha256_hex(big))));
    EXPECT_EQ(store.read(sha256_hex(blobs[2]), 4090, 100).value(), std::string(6, 'q'));
    EXPECT_EQ(store.read(sha256_hex(blobs[2]), 5000, 100).value(), "");
    EXPECT_EQ(store.list(0).size(), blobs.size() + 1);
  }
  ASSERT_EQ(segment_files(root_).size(), 1u) << "the segment is the packed blobs' home";
  BlobStore again(root_ + "/blobs", nullptr, kPackMax);
  EXPECT_EQ(again.recover().value(), blobs.size() + 1);
  EXPECT_EQ(again.packed(), blobs.size());
  for (const auto& b : blobs) EXPECT_EQ(again.get(sha256_hex(b)).value(), b);
  EXPECT_EQ(again.get(sha256_hex(big)).value(), big);
  EXPECT_EQ(segment_files(root_).size(), 1u) << "kept: it holds packed blobs";
  EXPECT_EQ(temp_files(), 0u);
}

// A flipped byte in a packed blob: reported corrupt, never served; its
// neighbours in the segment are unharmed; after a restart it is missing
// (its record skipped), and landing good bytes brings it back.
TEST_F(BlobStoreTest, AFlippedByteInAPackIsDetectedAndOnlyThatBlobIsLost) {
  const std::string a = "first packed blob", b = "second packed blob, the one that rots", c = "third";
  const std::string hb = sha256_hex(b);
  {
    BlobStore store(root_ + "/blobs", nullptr, kPackMax);
    for (const auto* d : {&a, &b, &c}) ASSERT_TRUE(store.put(*d).ok());
    const auto segs = segment_files(root_);
    ASSERT_EQ(segs.size(), 1u);
    std::ifstream in(segs[0], std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    const auto at = bytes.find(hb + b);
    ASSERT_NE(at, std::string::npos);
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(at + 64 + 3));
    f.put('X');
    f.close();
    EXPECT_EQ(store.verify(hb).error().message, "corrupt blob " + hb);
    EXPECT_EQ(store.get(hb).error().code, Errc::internal);
    EXPECT_EQ(store.get(sha256_hex(a)).value(), a);
    EXPECT_EQ(store.get(sha256_hex(c)).value(), c);
  }
  BlobStore again(root_ + "/blobs", nullptr, kPackMax);
  EXPECT_EQ(again.recover().value(), 2u);
  EXPECT_FALSE(again.has(hb));
  EXPECT_EQ(again.get(sha256_hex(a)).value(), a);
  EXPECT_EQ(again.get(sha256_hex(c)).value(), c);
  Outcome landed;
  again.land(hb, b, landed.callback());
  ASSERT_TRUE(landed.wait().ok());
  EXPECT_EQ(again.get(hb).value(), b);
}

// Collected packed blobs: the collector's time checks hold for them, a
// segment left with nothing in use is deleted, one mostly garbage is
// compacted (its live blobs moved), and nothing collected comes back at the
// next start.
TEST_F(BlobStoreTest, CollectedPackedBlobsGiveTheirSegmentBackByCompaction) {
  std::vector<std::string> blobs;
  for (int i = 0; i < 10; ++i) blobs.push_back("packed " + std::to_string(i) + std::string(1000, 'x'));
  {
    BlobStore store(root_ + "/blobs", nullptr, kPackMax);
    for (const auto& b : blobs) ASSERT_TRUE(store.put(b).ok());
    EXPECT_EQ(store.compact(), 0u) << "the open segment is never compacted";
  }
  BlobStore store(root_ + "/blobs", nullptr, kPackMax);
  ASSERT_EQ(store.recover().value(), blobs.size());
  const auto before = segment_files(root_);
  ASSERT_EQ(before.size(), 1u);
  std::int64_t mtime = 0;
  for (const auto& s : store.list(0)) mtime = std::max(mtime, s.mtime);
  // Written after the collector's snapshot: kept.
  EXPECT_EQ(store.remove_if_unchanged(sha256_hex(blobs[0]), mtime - 10).error().code, Errc::busy);
  EXPECT_TRUE(store.has(sha256_hex(blobs[0])));
  for (std::size_t i = 0; i < 8; ++i) ASSERT_TRUE(store.remove_if_unchanged(sha256_hex(blobs[i]), mtime).ok()) << i;
  EXPECT_FALSE(store.has(sha256_hex(blobs[0])));
  EXPECT_EQ(store.compact(), 2u);
  EXPECT_FALSE(std::filesystem::exists(before[0])) << "compacted away";
  EXPECT_EQ(store.get(sha256_hex(blobs[8])).value(), blobs[8]);
  EXPECT_EQ(store.get(sha256_hex(blobs[9])).value(), blobs[9]);
  EXPECT_EQ(store.compact(), 0u) << "nothing left to do";
  {
    BlobStore after(root_ + "/blobs", nullptr, kPackMax);
    EXPECT_EQ(after.recover().value(), 2u) << "the collected blobs do not come back";
    EXPECT_EQ(after.packed(), 2u);
    EXPECT_EQ(after.get(sha256_hex(blobs[9])).value(), blobs[9]);
  }
}

TEST_F(BlobStoreTest, AKeptSegmentWithNothingInUseIsDeleted) {
  {
    BlobStore store(root_ + "/blobs", nullptr, kPackMax);
    ASSERT_TRUE(store.put("only blob").ok());
  }
  BlobStore store(root_ + "/blobs", nullptr, kPackMax);
  ASSERT_EQ(store.recover().value(), 1u);
  ASSERT_EQ(segment_files(root_).size(), 1u);
  ASSERT_TRUE(store.remove(sha256_hex("only blob")).ok());
  EXPECT_TRUE(segment_files(root_).empty());
  EXPECT_FALSE(store.has(sha256_hex("only blob")));
}

// The open segment is zero-filled ahead of its records (so that a batch's
// fdatasync commits no metadata); the records written into the zeros are
// found again at the next start, and the zeros end the scan.
TEST_F(BlobStoreTest, ASegmentIsZeroFilledAheadAndItsRecordsStillRecover) {
  std::vector<std::string> blobs;
  for (int i = 0; i < 21; ++i) blobs.push_back("record " + std::to_string(i) + std::string(3000, 'z'));
  {
    BlobStore store(root_ + "/blobs", nullptr, kPackMax);
    ASSERT_TRUE(store.put(blobs[0]).ok());
    const auto segs = segment_files(root_);
    ASSERT_EQ(segs.size(), 1u);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::filesystem::file_size(segs[0]) < BlobJournal::kPrepareBytes &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_GE(std::filesystem::file_size(segs[0]), BlobJournal::kPrepareBytes) << "zeros ahead of the records";
    for (std::size_t i = 1; i < blobs.size(); ++i) ASSERT_TRUE(store.put(blobs[i]).ok());
    EXPECT_LE(std::filesystem::file_size(segs[0]), 2 * BlobJournal::kPrepareBytes) << "written into the zeros";
  }
  BlobStore again(root_ + "/blobs", nullptr, kPackMax);
  EXPECT_EQ(again.recover().value(), blobs.size());
  for (const auto& b : blobs) EXPECT_EQ(again.get(sha256_hex(b)).value(), b);
}

}  // namespace
}  // namespace minga::files
