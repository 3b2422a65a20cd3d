#include "apps/files/blob_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
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
  // No temporary file is left once the writer is gone.
  EXPECT_TRUE(std::filesystem::is_empty(root_ + "/blobs/tmp"));
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
  EXPECT_TRUE(std::filesystem::is_empty(root_ + "/blobs/tmp"));
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
  auto open = store.begin();  // an upload in progress: a temp file
  ASSERT_TRUE(open.ok());
  ASSERT_TRUE(open.value()->append("partial").ok());
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

}  // namespace
}  // namespace minga::files
