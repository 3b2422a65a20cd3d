// The lottery across kill -9 and restarts: finished agencies, the draw and
// its parameters come back as they were, whatever the configuration says.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <future>

#include "apps/lottery/bets.h"
#include "apps/lottery/command_log.h"

#include "lottery_helpers.h"

namespace minga::testing {
namespace {

void kill_nine(NodeProcess& node) {
  node.process().signal(SIGKILL);
  ASSERT_EQ(node.process().wait(5s), 128 + SIGKILL);
}

void expect_winners(const std::string& server, const std::map<int, AgencyData>& generated) {
  for (const auto& [id, data] : generated) {
    const RunResult w = run_minga({"--server", server, "lottery", "winners", "--agency", std::to_string(id)});
    ASSERT_EQ(w.exit_code, 0) << w.err;
    EXPECT_EQ(w.out, winners_text(data)) << "agency " << id;
  }
}

// Three agencies expected. Two finish; kill -9; a restart configured for two
// agencies and another number keeps three and 7574 (and says so), so the draw
// waits for the third. After the draw, kill -9 again; a restart configured for
// five and another number serves the same draw and the same winners.
TEST(LotteryRecovery, FinishedAgenciesAndTheDrawSurviveKillNineAndAnotherConfiguration) {
  TempDir data, node_dir;
  gen_data(data.path(), 3, 3000, 7);
  const auto generated = read_generated(data.path(), 3);
  ASSERT_FALSE(generated.at(3).winners.empty());
  const std::vector<std::string> dir{"--data-dir", node_dir.str()};

  auto node = NodeProcess::start(dir, {{"MINGA_LOTTERY_AGENCIES", "3"}});
  Process a1 = spawn_agency(node.address(), 1, data.path());
  Process a2 = spawn_agency(node.address(), 2, data.path());
  ASSERT_TRUE(node.process().wait_for_output("finalizadas: 2 | esperadas: 3", 30s)) << node.process().err();
  for (Process* a : {&a1, &a2}) {  // waiting for a draw that has not happened
    a->signal(SIGTERM);
    ASSERT_EQ(a->wait(10s), 0) << a->err();
  }
  kill_nine(node);

  const Env other{{"MINGA_LOTTERY_AGENCIES", "2"}, {"MINGA_LOTTERY_WINNING_NUMBER", "42"}};
  node = NodeProcess::start(dir, other);
  ASSERT_TRUE(node.process().wait_for_output("action: lottery_recover", 15s)) << node.process().err();
  std::string log = node.process().err();
  EXPECT_NE(log.find("| bets: 2000 | agencies_finished: 2 | draw_done: false | round: 1 | expected_agencies: 3 | "
                     "winning_number: 7574\n"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("action: lottery_config | result: success | expected_agencies: 3 | winning_number: 7574 | "
                     "configured_agencies: 2 | configured_winning_number: 42 | reason: "),
            std::string::npos)
      << log;
  EXPECT_NE(status_json(node.address())
                .find("\"draw_done\":false,\"expected_agencies\":3,\"agencies_finished\":2,"
                      "\"winning_number\":7574,\"total_bets\":2000"),
            std::string::npos);
  const RunResult early = run_minga({"--server", node.address(), "lottery", "winners", "--agency", "1"});
  EXPECT_EQ(early.exit_code, 1) << early.out;
  EXPECT_EQ(early.err, "error: the draw has not happened yet; ask again later\n");
  EXPECT_EQ(early.out, "");

  Process a3 = spawn_agency(node.address(), 3, data.path());
  ASSERT_EQ(a3.wait(30s), 0) << a3.err();
  EXPECT_NE(a3.err().find("action: consulta_ganadores | result: success | cant_ganadores: " +
                          std::to_string(generated.at(3).winners.size()) + "\n"),
            std::string::npos)
      << a3.err();
  EXPECT_EQ(count(node.process().err(), "action: sorteo | result: success | numero_ganador: 7574 | agencias: 3\n"), 1u)
      << node.process().err();
  expect_winners(node.address(), generated);
  kill_nine(node);

  node = NodeProcess::start(dir, {{"MINGA_LOTTERY_AGENCIES", "5"}, {"MINGA_LOTTERY_WINNING_NUMBER", "42"}});
  ASSERT_TRUE(node.process().wait_for_output("action: lottery_recover", 15s)) << node.process().err();
  log = node.process().err();
  EXPECT_NE(log.find("| bets: 3000 | agencies_finished: 3 | draw_done: true | round: 1 | expected_agencies: 3 | "
                     "winning_number: 7574\n"),
            std::string::npos)
      << log;
  EXPECT_NE(status_json(node.address())
                .find("\"draw_done\":true,\"expected_agencies\":3,\"agencies_finished\":3,"
                      "\"winning_number\":7574,\"total_bets\":3000"),
            std::string::npos);
  expect_winners(node.address(), generated);
  // An agency run again after the draw: its batches are recognised, its
  // winners are the same.
  Process again = spawn_agency(node.address(), 1, data.path());
  ASSERT_EQ(again.wait(30s), 0) << again.err();
  EXPECT_NE(again.err().find("cant_ganadores: " + std::to_string(generated.at(1).winners.size()) + "\n"),
            std::string::npos);
  EXPECT_NE(again.err().find("| duplicates: 10\n"), std::string::npos) << again.err();  // 1000 bets, batches of 100
  EXPECT_EQ(node.process().err().find("action: sorteo"), std::string::npos);            // not drawn again
  node.process().signal(SIGTERM);
  EXPECT_EQ(node.process().wait(20s), 0);
}

// The command log a single node wrote before the lottery moved onto the
// replicated log, made here with the writer of that time: Setup, then the
// bets of `agencies` in batches of 100, then a Finish for `finished` of them.
std::filesystem::path write_old_log(const std::filesystem::path& node_dir, const std::filesystem::path& data,
                                    int agencies, int finished, std::uint32_t expected) {
  const auto dir = node_dir / "lottery";
  std::filesystem::create_directories(dir);
  const auto path = dir / "commands.log";
  lottery::FileCommandLog log(path);
  EXPECT_TRUE(log.open([](const pb::LotteryCommand&) {}).ok());
  std::vector<pb::LotteryCommand> commands;
  pb::LotteryCommand setup;
  setup.mutable_setup()->set_expected_agencies(expected);
  setup.mutable_setup()->set_winning_number(kWinningNumber);
  commands.push_back(setup);
  for (int id = 1; id <= agencies; ++id) {
    std::ifstream in(data / ("agency-" + std::to_string(id) + ".csv"), std::ios::binary);
    const std::string text(std::istreambuf_iterator<char>(in), {});
    const lottery::CsvBets csv = lottery::parse_bets_csv(text);
    EXPECT_TRUE(csv.errors.empty());
    for (std::size_t at = 0, seq = 1; at < csv.bets.size(); at += 100, ++seq) {
      pb::LotteryCommand c;
      c.mutable_store()->set_agency(static_cast<std::uint32_t>(id));
      c.mutable_store()->set_sequence(seq);
      for (std::size_t k = at; k < std::min(at + 100, csv.bets.size()); ++k)
        *c.mutable_store()->add_bets() = csv.bets[k];
      commands.push_back(c);
    }
  }
  for (int id = 1; id <= finished; ++id) {
    pb::LotteryCommand f;
    f.mutable_finish()->set_agency(static_cast<std::uint32_t>(id));
    f.mutable_finish()->set_expected_agencies(expected);
    f.mutable_finish()->set_winning_number(kWinningNumber);
    commands.push_back(f);
  }
  for (const auto& c : commands) {
    std::promise<Status> durable;
    log.append(c, [&durable](Status st) { durable.set_value(std::move(st)); });
    EXPECT_TRUE(durable.get_future().get().ok());
  }
  log.close();
  return path;
}

// A node upgraded in place: the lottery its old command log holds (bets of
// three agencies, two finished) is migrated into the replicated log once,
// the file is renamed, and the lottery goes on from there: the third
// agency's run completes the draw with everyone's exact winners. Later
// restarts serve the same state from the replicated log alone.
TEST(LotteryRecovery, AnOldCommandLogIsMigratedOnceAndTheLotteryGoesOn) {
  TempDir data, node_dir;
  gen_data(data.path(), 3, 3000, 11);
  const auto generated = read_generated(data.path(), 3);
  const auto old_log = write_old_log(node_dir.path(), data.path(), 3, 2, 3);
  const std::vector<std::string> dir{"--data-dir", node_dir.str()};

  auto node = NodeProcess::start(dir);
  ASSERT_TRUE(node.process().wait_for_output("action: lottery_recover", 15s)) << node.process().err();
  std::string log = node.process().err();
  EXPECT_NE(log.find("action: lottery_migrate | result: success | file: " + old_log.string() +
                     " | commands: 33 | parts: 1 | bets: 3000 | renamed_to: " + old_log.string() + ".migrated\n"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("| bets: 3000 | agencies_finished: 2 | draw_done: false | round: 1 | expected_agencies: 3 | "
                     "winning_number: 7574\n"),
            std::string::npos)
      << log;
  EXPECT_FALSE(std::filesystem::exists(old_log));
  EXPECT_TRUE(std::filesystem::exists(old_log.string() + ".migrated"));

  Process a3 = spawn_agency(node.address(), 3, data.path());
  ASSERT_EQ(a3.wait(30s), 0) << a3.err();
  EXPECT_NE(a3.err().find("| duplicates: 10\n"), std::string::npos) << a3.err();  // migrated already
  expect_winners(node.address(), generated);
  kill_nine(node);

  node = NodeProcess::start(dir);
  ASSERT_TRUE(node.process().wait_for_output("action: lottery_recover", 15s)) << node.process().err();
  log = node.process().err();
  EXPECT_EQ(log.find("lottery_migrate"), std::string::npos) << log;
  EXPECT_NE(log.find("| bets: 3000 | agencies_finished: 3 | draw_done: true | round: 1 |"), std::string::npos) << log;
  expect_winners(node.address(), generated);
  node.process().signal(SIGTERM);
  EXPECT_EQ(node.process().wait(20s), 0);
}

// A damaged record with acknowledged records after it in an old command
// log: the node refuses to start, says why, and leaves the file as it was.
TEST(LotteryRecovery, DamageInTheMiddleOfAnOldLogStopsTheNodeAndKeepsTheLog) {
  TempDir data, node_dir;
  gen_data(data.path(), 1, 2000, 3);
  const auto path = write_old_log(node_dir.path(), data.path(), 1, 0, 1);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 10000u);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x55);  // 21 records: one in the middle
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  Process restarted = Process::spawn({minga_binary(), "node", "--host", "127.0.0.1", "--port", "0", "--monitor-port",
                                      "0", "--data-dir", node_dir.str()});
  ASSERT_EQ(restarted.wait(15s), 1) << restarted.err();
  const std::string log = restarted.err();
  EXPECT_NE(log.find("action: lottery_migrate | result: fail | file: " + path.string() + " | reason: " + path.string() +
                     " is damaged: the record at byte "),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("action: node_start | result: fail | app: lottery"), std::string::npos) << log;
  std::ifstream in(path, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), bytes);  // nothing truncated
}

}  // namespace
}  // namespace minga::testing
