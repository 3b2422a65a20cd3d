#include "apps/lottery/command_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>

namespace minga::lottery {
namespace {

class CommandLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("minga-cmdlog-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = dir_ / "commands.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static pb::LotteryCommand cmd(std::uint64_t seq) {
    pb::LotteryCommand c;
    c.mutable_store()->set_agency(1);
    c.mutable_store()->set_sequence(seq);
    auto* b = c.mutable_store()->add_bets();
    b->set_document(std::to_string(seq));
    return c;
  }

  // Appends `n` commands and waits until all are durable.
  void write(std::uint64_t first, std::uint64_t n) {
    FileCommandLog log(path_);
    ASSERT_TRUE(log.open([](const pb::LotteryCommand&) {}).ok());
    std::vector<std::promise<Status>> done(n);
    for (std::uint64_t i = 0; i < n; ++i) {
      log.append(cmd(first + i), [&done, i](Status s) { done[i].set_value(s); });
    }
    for (auto& d : done) ASSERT_TRUE(d.get_future().get().ok());
    log.close();
  }

  std::vector<std::uint64_t> replay(RecoveryReport* report = nullptr) {
    std::vector<std::uint64_t> seqs;
    FileCommandLog log(path_);
    auto st = log.open([&seqs](const pb::LotteryCommand& c) { seqs.push_back(c.store().sequence()); });
    EXPECT_TRUE(st.ok()) << st.error().message;
    if (report != nullptr) *report = log.recovery();
    log.close();
    return seqs;
  }

  void flip_byte(std::uintmax_t at) {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    const char c = static_cast<char>(f.get());
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(c ^ 0x55));
  }

  std::string contents() const {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::filesystem::path dir_, path_;
};

TEST_F(CommandLogTest, ReplaysEveryDurableCommandInOrder) {
  write(1, 100);
  write(101, 5);
  std::vector<std::uint64_t> expected(105);
  for (std::uint64_t i = 0; i < 105; ++i) expected[i] = i + 1;
  RecoveryReport r;
  EXPECT_EQ(replay(&r), expected);
  EXPECT_EQ(r.records, 105u);
  EXPECT_EQ(r.torn_bytes, 0u);
}

TEST_F(CommandLogTest, TornTailIsReportedTruncatedAndNeverApplied) {
  write(1, 10);
  const auto full = std::filesystem::file_size(path_);
  write(11, 1);
  const auto with_last = std::filesystem::file_size(path_);
  // Tear the last record at every byte: only the first ten come back.
  for (auto cut = full + 1; cut < with_last; ++cut) {
    std::filesystem::resize_file(path_, cut);
    RecoveryReport r;
    EXPECT_EQ(replay(&r).size(), 10u) << cut;
    EXPECT_EQ(r.torn_bytes, cut - full);
    EXPECT_EQ(std::filesystem::file_size(path_), full);  // truncated
    write(11, 1);                                        // and appendable again
    ASSERT_EQ(std::filesystem::file_size(path_), with_last);
  }
}

TEST_F(CommandLogTest, CorruptLastRecordIsCutOffAsATornWrite) {
  write(1, 9);
  const auto nine = std::filesystem::file_size(path_);
  write(10, 1);
  const auto ten = std::filesystem::file_size(path_);
  flip_byte(ten - 3);
  RecoveryReport r;
  EXPECT_EQ(replay(&r).size(), 9u);
  EXPECT_EQ(r.torn_bytes, ten - nine);
  EXPECT_EQ(std::filesystem::file_size(path_), nine);
}

TEST_F(CommandLogTest, ZeroFilledTailIsCutOffAsATornWrite) {
  write(1, 3);
  const auto size = std::filesystem::file_size(path_);
  std::filesystem::resize_file(path_, size + 64);  // a hole a crash can leave
  RecoveryReport r;
  EXPECT_EQ(replay(&r).size(), 3u);
  EXPECT_EQ(r.records, 3u);
  EXPECT_EQ(r.torn_bytes, 64u);
  EXPECT_EQ(std::filesystem::file_size(path_), size);
}

// Damage with acknowledged records after it is not a torn write: cutting
// there would drop those records, so the log refuses to open, unchanged.
TEST_F(CommandLogTest, CorruptRecordFollowedByValidOnesRefusesToOpenAndKeepsTheFile) {
  write(1, 4);
  const auto four = std::filesystem::file_size(path_);
  write(5, 6);
  for (const std::uintmax_t at : {four + 10, four + 2}) {  // a payload byte, then a length byte
    flip_byte(at);
    const std::string before = contents();
    FileCommandLog log(path_);
    std::vector<std::uint64_t> seen;
    const Status st = log.open([&seen](const pb::LotteryCommand& c) { seen.push_back(c.store().sequence()); });
    ASSERT_FALSE(st.ok()) << at;
    EXPECT_NE(st.error().message.find("is damaged: the record at byte " + std::to_string(four) +
                                      " is corrupt but a valid record follows at byte "),
              std::string::npos)
        << st.error().message;
    EXPECT_NE(st.error().message.find("`truncate -s " + std::to_string(four) + "` to keep only the 4 records"),
              std::string::npos)
        << st.error().message;
    EXPECT_EQ(contents(), before);  // nothing truncated
    flip_byte(at);                  // undo: the log opens whole again
    EXPECT_EQ(replay().size(), 10u);
  }
}

TEST_F(CommandLogTest, RefusesAFileThatIsNotALotteryLog) {
  {
    std::ofstream f(path_);
    f << "something else entirely";
  }
  FileCommandLog log(path_);
  auto st = log.open([](const pb::LotteryCommand&) {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("not a lottery log"), std::string::npos);
}

TEST_F(CommandLogTest, FullQueueAnswersBusyAtOnce) {
  FileCommandLog log(path_, 0);
  ASSERT_TRUE(log.open([](const pb::LotteryCommand&) {}).ok());
  std::promise<Status> done;
  log.append(cmd(1), [&done](Status s) { done.set_value(s); });
  const Status s = done.get_future().get();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::busy);
}

TEST_F(CommandLogTest, ClosedLogRefusesAppends) {
  FileCommandLog log(path_);
  ASSERT_TRUE(log.open([](const pb::LotteryCommand&) {}).ok());
  log.close();
  std::promise<Status> done;
  log.append(cmd(1), [&done](Status s) { done.set_value(s); });
  EXPECT_EQ(done.get_future().get().error().code, Errc::shutting_down);
}

}  // namespace
}  // namespace minga::lottery
