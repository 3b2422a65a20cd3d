// RaftStorage on real files (a temporary directory): the POSIX file system
// behind the same interface.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "storage/raft_storage.h"

namespace minga::storage {
namespace {

class PosixStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/minga-storage-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  raft::Membership one() {
    raft::Membership m;
    m.voters = {raft::NodeId{1}};
    return m;
  }

  PosixFileSystem fs_;
  std::string dir_;
};

TEST_F(PosixStorageTest, StateSurvivesReopeningAndATornTailIsCut) {
  {
    auto s = RaftStorage::open(fs_, dir_ + "/n1", one());
    ASSERT_TRUE(s) << s.error().message;
    std::vector<raft::Entry> es;
    for (std::uint64_t i = 1; i <= 3; ++i) es.push_back({raft::Term{1}, raft::Index{i}, raft::EntryType::command, "x"});
    ASSERT_TRUE(s.value()->append(es));
    ASSERT_TRUE(s.value()->sync());
    ASSERT_TRUE(s.value()->save_hard_state({raft::Term{1}, raft::NodeId{1}, raft::Index{3}}));
  }
  // The segment ends in zeros written ahead of its records; the last record
  // loses its last 2 bytes.
  const std::string seg = dir_ + "/n1/" + wal_segment_name(1);
  const std::string bytes = read(seg);
  const std::size_t end = bytes.find_last_not_of('\0') + 1;
  ASSERT_GE(bytes.size(), end + (512u << 10)) << "zeros ahead of the records";
  std::filesystem::resize_file(seg, end - 2);
  {
    auto s = RaftStorage::open(fs_, dir_ + "/n1", one());
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s.value()->initial_state().entries.size(), 2u);
    EXPECT_EQ(s.value()->initial_state().hard_state.commit, raft::Index{3});
    ASSERT_EQ(s.value()->report().wal.torn.size(), 1u);
    const std::uint64_t cut = s.value()->report().wal.torn[0].offset;
    EXPECT_LT(cut, end - 2);
    const std::string after = read(seg);
    EXPECT_EQ(after.find_first_not_of('\0', cut), std::string::npos) << "cut there, then zeros ahead again";
    EXPECT_GE(after.size(), cut + (512u << 10));
  }
  // A kill -9 leaves the zeros: the next open ends the log there, nothing torn.
  auto s = RaftStorage::open(fs_, dir_ + "/n1", one());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s.value()->initial_state().entries.size(), 2u);
  EXPECT_TRUE(s.value()->report().wal.torn.empty());
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/n1")) {
    EXPECT_EQ(e.path().extension(),
              e.path().filename() == "hardstate" || e.path().filename() == "snapshot" ? "" : ".log")
        << e.path();
  }
}

// The zeros ahead are refilled as the log grows: after every synced batch,
// between 512 KiB and 1 MiB of them follow the records; a restart goes on
// appending where the records end.
TEST_F(PosixStorageTest, ZerosAheadAreRefilledAsTheLogGrowsAndARestartAppendsAfterTheRecords) {
  const std::string seg = dir_ + "/n1/" + wal_segment_name(1);
  std::uint64_t index = 0;
  auto append = [&](RaftStorage& s, int batches) {
    for (int b = 0; b < batches; ++b) {
      std::vector<raft::Entry> es;
      for (int i = 0; i < 100; ++i, ++index) {
        es.push_back({raft::Term{1}, raft::Index{index + 1}, raft::EntryType::command, std::string(200, 'e')});
      }
      ASSERT_TRUE(s.append(es));
      ASSERT_TRUE(s.sync());
      const std::string bytes = read(seg);
      const std::size_t ahead = bytes.size() - (bytes.find_last_not_of('\0') + 1);
      EXPECT_GE(ahead, 512u << 10) << "after batch " << b;
      EXPECT_LE(ahead, 1u << 20) << "after batch " << b;
    }
  };
  {
    auto s = RaftStorage::open(fs_, dir_ + "/n1", one());
    ASSERT_TRUE(s) << s.error().message;
    append(*s.value(), 60);  // about 1.3 MB of records: two refills
  }
  auto s = RaftStorage::open(fs_, dir_ + "/n1", one());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s.value()->initial_state().entries.size(), index);
  EXPECT_TRUE(s.value()->report().wal.torn.empty());
  append(*s.value(), 5);
  s.value().reset();
  auto again = RaftStorage::open(fs_, dir_ + "/n1", one());
  ASSERT_TRUE(again) << again.error().message;
  ASSERT_EQ(again.value()->initial_state().entries.size(), index);
  EXPECT_EQ(again.value()->initial_state().entries.back().index, raft::Index{index});
}

TEST_F(PosixStorageTest, ErrorsFromTheOperatingSystemAreReturned) {
  auto missing = fs_.read(dir_ + "/nope", 100);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("No such file"), std::string::npos) << missing.error().message;
  ASSERT_TRUE(fs_.open(dir_ + "/big", FileSystem::Open::truncate).value()->append(std::string(200, 'x')));
  EXPECT_FALSE(fs_.read(dir_ + "/big", 100)) << "size is checked before reading";
  EXPECT_FALSE(fs_.open(dir_ + "/no/such/dir/file", FileSystem::Open::append));
}

}  // namespace
}  // namespace minga::storage
