#include "apps/files/blob_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>

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

}  // namespace
}  // namespace minga::files
