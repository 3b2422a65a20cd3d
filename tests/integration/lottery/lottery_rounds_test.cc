// What a newcomer meets around the lottery: running it again (a new round),
// an agency waiting for the draw or for a node, bad agency ids, and where
// generated bets go.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "lottery_helpers.h"
#include "net/client.h"
#include "proto/lottery.pb.h"

namespace minga::testing {
namespace {

RunResult lottery(const NodeProcess& node, std::vector<std::string> args) {
  args.insert(args.begin(), {"--server", node.address(), "lottery"});
  return run_minga(args);
}

TEST(LotteryRounds, ARerunIsRefusedWithAdviceThenANewRoundTakesTheNewBets) {
  TempDir first, second;
  gen_data(first.path(), 2, 400, 1);
  gen_data(second.path(), 2, 400, 2);
  auto node = NodeProcess::start({}, {{"MINGA_LOTTERY_AGENCIES", "2"}});
  Process a1 = spawn_agency(node.address(), 1, first.path());
  Process a2 = spawn_agency(node.address(), 2, first.path());
  ASSERT_EQ(a1.wait(30s), 0) << a1.err();
  ASSERT_EQ(a2.wait(30s), 0) << a2.err();
  // Other bets with the same sequence numbers: the node already holds a lottery.
  Process rerun = spawn_agency(node.address(), 1, second.path());
  ASSERT_EQ(rerun.wait(30s), 1) << rerun.err();
  EXPECT_NE(rerun.err().find("error: batch 1 (bets 1-100) refused: sequence 1 of agency 1 was already stored with "
                             "other bets; this node already holds a lottery (round 1, drawn): to run another, start "
                             "a new round with 'minga lottery new-round'\n"),
            std::string::npos)
      << rerun.err();

  auto started = lottery(node, {"new-round"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  EXPECT_EQ(started.out,
            "round 2 started: 2 agencies expected; the previous round's 400 bets stay in the log but no longer "
            "count. Agencies can send again from the start.\n");
  EXPECT_TRUE(node.process().wait_for_output(
      "action: lottery_new_round | result: success | round: 2 | previous_bets: 400 | previous_drawn: true | forced: "
      "false | expected_agencies: 2 | winning_number: 7574",
      5s))
      << node.process().err();
  auto status = lottery(node, {"status", "-o", "json"});
  EXPECT_EQ(status.out.rfind(R"({"ok":true,"round":2,"draw_done":false,"expected_agencies":2,"agencies_finished":0,)"
                             R"("winning_number":7574,"total_bets":0,"agencies":[]})",
                             0),
            0u)
      << status.out;

  Process b1 = spawn_agency(node.address(), 1, second.path());
  Process b2 = spawn_agency(node.address(), 2, second.path());
  ASSERT_EQ(b1.wait(30s), 0) << b1.err();
  ASSERT_EQ(b2.wait(30s), 0) << b2.err();
  const auto generated = read_generated(second.path(), 2);
  auto winners = lottery(node, {"winners", "--agency", "1"});
  EXPECT_EQ(winners.out, winners_text(generated.at(1)));
  EXPECT_EQ(count(node.process().err(), "action: sorteo | result: success"), 2u);

  // The round survives a restart: it is in the command log.
  node.process().signal(SIGTERM);
  ASSERT_EQ(node.process().wait(15s), 0);
  auto again = NodeProcess::start({"--data-dir", node.data_dir()}, {{"MINGA_LOTTERY_AGENCIES", "2"}});
  ASSERT_TRUE(again.wait_leading());
  // It leads once it replayed its log; its lottery is then the one it had.
  RunResult after;
  EXPECT_TRUE(eventually(
      [&] {
        after = run_minga({"--server", again.address(), "lottery", "status"});
        return after.out.rfind("round:             2\ndraw:              done\n", 0) == 0;
      },
      5s))
      << after.out;
  EXPECT_EQ(run_minga({"--server", again.address(), "lottery", "winners", "--agency", "1"}).out,
            winners_text(generated.at(1)));
}

TEST(LotteryRounds, ANewRoundIsRefusedWhileAgenciesAreMidRunUnlessForced) {
  TempDir data;
  gen_data(data.path(), 3, 600, 3);
  auto node = NodeProcess::start({}, {{"MINGA_LOTTERY_AGENCIES", "3"}});
  Process a1 = spawn_agency(node.address(), 1, data.path(), {"--wait-for", "60"});
  ASSERT_TRUE(node.process().wait_for_output("finalizadas: 1 | esperadas: 3", 30s)) << node.process().err();
  // Agency 2 sends a single bet and does not finish: mid-run.
  Env env = {
      {"NOMBRE", "Ana"}, {"APELLIDO", "Paz"}, {"DOCUMENTO", "123"}, {"NACIMIENTO", "1990-01-02"}, {"NUMERO", "1"}};
  Process a2 = Process::spawn(
      {minga_binary(), "--server", node.address(), "lottery", "agency", "--agency", "2", "--wait-for", "60"}, env);
  ASSERT_TRUE(node.process().wait_for_output("finalizadas: 2 | esperadas: 3", 30s)) << node.process().err();
  // Agency 3 sent bets but has not finished.
  pb::BetBatchRequest req;
  req.set_agency(3);
  req.set_sequence(1);
  auto* b = req.add_bets();
  b->set_first_name("Eva");
  b->set_last_name("Sol");
  b->set_document("9");
  b->set_birth_date("1980-05-06");
  b->set_number(4);
  auto client = net::Client::connect(net::parse_endpoint(node.address()).value(), 5s);
  ASSERT_TRUE(client.ok());
  auto stored = client->call<pb::LotteryResponse>(pb::BET_BATCH_REQUEST, req, pb::LOTTERY_RESPONSE, 5s);
  ASSERT_TRUE(stored.ok() && stored->outcome() == pb::LotteryResponse::OK);

  auto refused = lottery(node, {"new-round"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err,
            "error: round 1 is under way: 2 of 3 agencies finished, agency 3 is still sending; wait for the "
            "draw, or pass --force to set this round's 202 bets aside\n");
  auto forced = lottery(node, {"new-round", "--force", "-o", "json"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(forced.out, R"({"ok":true,"round":2,"expected_agencies":3,"previous_bets":202})"
                        "\n");
  EXPECT_EQ(lottery(node, {"status", "-o", "json"}).out.find(R"("total_bets":0,)") != std::string::npos, true);
  a1.signal(SIGTERM);
  a2.signal(SIGTERM);
  EXPECT_EQ(a1.wait(10s), 0);
  EXPECT_EQ(a2.wait(10s), 0);
}

TEST(LotteryRounds, AWaitingAgencyReportsProgressAndTheTimeoutSaysIt) {
  TempDir data;
  gen_data(data.path(), 1, 50, 4);
  auto node = NodeProcess::start({}, {{"MINGA_LOTTERY_AGENCIES", "3"}});
  Process a = spawn_agency(node.address(), 1, data.path(), {"--progress-every", "0.2", "--wait-for", "1.5"});
  ASSERT_EQ(a.wait(30s), 1) << a.err();
  EXPECT_NE(a.err().find("action: wait_draw | result: in_progress | agency: 1 | progress: 1 of 3 agencies finished | "
                         "waited: 0 s"),
            std::string::npos)
      << a.err();
  EXPECT_GE(count(a.err(), "action: wait_draw | result: in_progress"), 3u) << a.err();
  EXPECT_NE(a.err().find("error: the draw did not happen within 1500 ms: 1 of 3 agencies finished\n"),
            std::string::npos)
      << a.err();
}

TEST(LotteryRounds, AnAgencyReportsEachRetryWithItsReason) {
  TempDir data;
  gen_data(data.path(), 1, 10, 5);
  Process a = spawn_agency("127.0.0.1:1", 1, data.path(), {"--retry-for", "0.6"});
  ASSERT_EQ(a.wait(30s), 3) << a.err();
  static const std::regex first(
      R"(action: reconnect \| result: in_progress \| server: 127\.0\.0\.1:1 \| reason: cannot reach 127\.0\.0\.1:1: )"
      R"(Connection refused \| retry_in: 50 ms \| gives_up_in: [1-6]00 ms\n)");
  EXPECT_TRUE(std::regex_search(a.err(), first)) << a.err();
  EXPECT_GE(count(a.err(), "action: reconnect | result: in_progress"), 3u) << a.err();
  EXPECT_NE(a.err().find("error: cannot reach 127.0.0.1:1: Connection refused (gave up after 600 ms); is a node "
                         "running? start one with 'minga node' or 'make run'\n"),
            std::string::npos)
      << a.err();
}

TEST(LotteryRounds, AgencyIdsMustBePositiveAndKnown) {
  for (const char* bad : {"0", "-1", "uno"}) {
    auto r = run_minga({"lottery", "agency", "--agency", bad, "--bets", "/nonexistent.csv"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err,
              std::string("error: the agency id (--agency or CLI_ID) must be a positive number, got '") + bad + "'\n");
  }
  auto env = run_minga({"lottery", "agency", "--bets", "/nonexistent.csv"}, {{"CLI_ID", "0"}});
  EXPECT_EQ(env.err, "error: the agency id (--agency or CLI_ID) must be a positive number, got '0'\n");
  auto zero = run_minga({"lottery", "winners", "--agency", "0"});
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_EQ(zero.err, "error: the agency id (--agency or CLI_ID) must be a positive number, got '0'\n");

  TempDir data;
  gen_data(data.path(), 2, 100, 6);
  auto node = NodeProcess::start({}, {{"MINGA_LOTTERY_AGENCIES", "2"}});
  Process a1 = spawn_agency(node.address(), 1, data.path());
  Process a2 = spawn_agency(node.address(), 2, data.path());
  ASSERT_EQ(a1.wait(30s), 0) << a1.err();
  ASSERT_EQ(a2.wait(30s), 0) << a2.err();
  auto unknown = lottery(node, {"winners", "--agency", "9"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.out, "");
  EXPECT_EQ(unknown.err, "error: agency 9 is not in this lottery: it sent no bets in round 1 (2 agencies took part)\n");
  auto json = lottery(node, {"winners", "--agency", "9", "-o", "json"});
  EXPECT_EQ(
      json.out,
      R"j({"ok":false,"error":"agency 9 is not in this lottery: it sent no bets in round 1 (2 agencies took part)"})j"
      "\n");
  EXPECT_EQ(lottery(node, {"winners", "--agency", "2"}).exit_code, 0);
}

TEST(LotteryRounds, MingaEnvironmentNamesWinOverTheSeedsCompatibilityNames) {
  auto node = NodeProcess::start({}, {{"MINGA_LOTTERY_AGENCIES", "1"}});
  const Env env = {{"MINGA_AGENCY", "1"},
                   {"CLI_ID", "7"},
                   {"MINGA_SERVER", node.address()},
                   {"MINGA_AGENCY_LOG_LEVEL", "info"},
                   {"CLI_LOG_LEVEL", "nonsense"},
                   {"MINGA_BET_FIRST_NAME", "Ana"},
                   {"MINGA_BET_LAST_NAME", "Paz"},
                   {"MINGA_BET_DOCUMENT", "555"},
                   {"DOCUMENTO", "999"},
                   {"NACIMIENTO", "1990-01-02"},  // a seed name fills what the MINGA_* names leave out
                   {"MINGA_BET_NUMBER", "7574"}};
  const RunResult r = run_minga({"lottery", "agency"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("action: apuesta_enviada | result: success | dni: 555 | numero: 7574\n"), std::string::npos)
      << r.err;
  EXPECT_EQ(run_minga({"--server", node.address(), "lottery", "winners"}, {{"CLI_ID", "1"}}).out, "555\n");
  auto missing = run_minga({"lottery", "winners"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err, "error: the agency id is missing: pass --agency N or set CLI_ID\n");
}

TEST(LotteryRounds, GenDataWithoutOutWritesANamedFolderAndSaysWhere) {
  TempDir cwd;
  Process p = Process::spawn(
      {"/bin/sh", "-c",
       "cd '" + cwd.str() + "' && exec '" + minga_binary() + "' lottery gen-data --agencies 2 --bets 10"});
  ASSERT_EQ(p.wait(20s), 0) << p.err();
  EXPECT_EQ(p.out(),
            "lottery-data/agency-1.csv: 5 bets, 0 winning\nlottery-data/agency-2.csv: 5 bets, 0 winning\n"
            "wrote 2 file(s) to " +
                (cwd.path() / "lottery-data").string() +
                "\nsend them with: minga lottery agency --agency N --data-dir lottery-data\n");
  EXPECT_TRUE(std::filesystem::exists(cwd.path() / "lottery-data" / "agency-2.csv"));
  EXPECT_FALSE(std::filesystem::exists(cwd.path() / "agency-1.csv"));
}

}  // namespace
}  // namespace minga::testing
