// The lottery end to end: a real node, real agency processes, generated data.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "lottery_helpers.h"

namespace minga::testing {
namespace {

TEST(Lottery, FiveAgenciesGetExactlyTheirWinners) {
  TempDir data;
  ASSERT_EQ(
      run_minga({"lottery", "gen-data", "--agencies", "5", "--bets", "78697", "--seed", "11", "--out", data.str()})
          .exit_code,
      0);
  const auto generated = read_generated(data.path(), 5);
  auto node = NodeProcess::start();
  std::vector<Process> agencies;
  for (int i = 1; i <= 5; ++i) agencies.push_back(spawn_agency(node.address(), i, data.path()));
  for (int i = 1; i <= 5; ++i) {
    auto& a = agencies[static_cast<std::size_t>(i - 1)];
    ASSERT_EQ(a.wait(60s), 0) << a.err();
    const std::string expected = "action: consulta_ganadores | result: success | cant_ganadores: " +
                                 std::to_string(generated.at(i).winners.size()) + "\n";
    EXPECT_NE(a.err().find(expected), std::string::npos) << "agency " << i << ":\n" << a.err();
    expect_no_fail_lines("agency " + std::to_string(i), a.err());
    // The documents themselves, as `minga lottery winners` shows them.
    auto w = run_minga({"--server", node.address(), "lottery", "winners", "--agency", std::to_string(i)});
    ASSERT_EQ(w.exit_code, 0) << w.err;
    EXPECT_EQ(w.out, winners_text(generated.at(i))) << "agency " << i;
  }
  node.process().signal(SIGTERM);
  ASSERT_EQ(node.process().wait(20s), 0);
  const std::string log = node.process().err();
  EXPECT_EQ(sum_of(log, std::regex(R"(action: apuesta_recibida \| result: success \| cantidad: (\d+))")), 78697u);
  ASSERT_EQ(count(log, "action: sorteo | result: success"), 1u) << log.substr(0, 3000);
  const auto sorteo = log.find("action: sorteo | result: success");
  const auto last_batch = log.rfind("action: apuesta_recibida");
  const auto first_winners = log.find("action: ganadores | result: success");
  ASSERT_NE(last_batch, std::string::npos);
  ASSERT_NE(first_winners, std::string::npos);
  EXPECT_GT(sorteo, last_batch);
  EXPECT_LT(sorteo, first_winners);
  expect_no_fail_lines("node", log);
  EXPECT_NE(log.find("action: shutdown | result: success | resource: lottery"), std::string::npos);
}

TEST(Lottery, ThreeAgenciesConfiguredDrawAfterThree) {
  TempDir data;
  ASSERT_EQ(run_minga({"lottery", "gen-data", "--agencies", "3", "--bets", "3000", "--seed", "5", "--out", data.str()})
                .exit_code,
            0);
  auto node = NodeProcess::start({}, {{"MINGA_LOTTERY_AGENCIES", "3"}});
  Process a1 = spawn_agency(node.address(), 1, data.path());
  Process a2 = spawn_agency(node.address(), 2, data.path());
  ASSERT_TRUE(node.process().wait_for_output("finalizadas: 2 | esperadas: 3", 30s)) << node.process().err();
  // Two of three finished: no draw yet.
  auto early = run_minga({"--server", node.address(), "lottery", "winners", "--agency", "1"});
  EXPECT_EQ(early.exit_code, 1);
  EXPECT_EQ(early.err, "error: the draw has not happened yet; ask again later\n");
  auto status = run_minga({"--server", node.address(), "lottery", "status"});
  EXPECT_NE(status.out.find("draw:              pending"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("agencies finished: 2 of 3"), std::string::npos) << status.out;
  EXPECT_TRUE(a1.running());
  Process a3 = spawn_agency(node.address(), 3, data.path());
  for (Process* p : {&a1, &a2, &a3}) ASSERT_EQ(p->wait(30s), 0) << p->err();
  const std::string log = node.process().err();
  EXPECT_EQ(count(log, "action: sorteo | result: success"), 1u);
  auto done = run_minga({"--server", node.address(), "lottery", "status", "--output", "json"});
  EXPECT_NE(done.out.find("\"draw_done\":true,\"expected_agencies\":3,\"agencies_finished\":3"), std::string::npos)
      << done.out;
  EXPECT_NE(done.out.find("\"total_bets\":3000"), std::string::npos) << done.out;
}

TEST(Lottery, KillNineWhileAgenciesSendLosesAndDuplicatesNothing) {
  TempDir data, node_dir;
  const int agencies = 4;
  ASSERT_EQ(run_minga({"lottery", "gen-data", "--agencies", std::to_string(agencies), "--bets", "16000", "--seed", "3",
                       "--out", data.str()})
                .exit_code,
            0);
  const auto generated = read_generated(data.path(), agencies);
  const Env env{{"MINGA_LOTTERY_AGENCIES", std::to_string(agencies)}};
  auto node = NodeProcess::start({"--data-dir", node_dir.str()}, env);
  const std::string port = std::to_string(node.port());
  // Batches of 10 at most every 2 ms: 400 batches per agency take about a
  // second, so the kill lands mid-run.
  std::vector<Process> procs;
  for (int i = 1; i <= agencies; ++i) {
    procs.push_back(spawn_agency(node.address(), i, data.path(),
                                 {"--batch-max-amount", "10", "--batch-interval-ms", "2", "--retry-for", "30"}));
  }
  ASSERT_TRUE(node.process().wait_for_output("cantidad: 10\n", 20s));
  std::this_thread::sleep_for(200ms);
  node.process().signal(SIGKILL);
  ASSERT_EQ(node.process().wait(5s), 128 + SIGKILL);
  const std::string before = node.process().err();
  ASSERT_EQ(before.find("action: sorteo"), std::string::npos) << "killed too late to test anything";

  std::this_thread::sleep_for(500ms);  // agencies are retrying now
  Process restarted = Process::spawn({minga_binary(), "node", "--host", "127.0.0.1", "--port", port, "--monitor-port",
                                      "0", "--data-dir", node_dir.str()},
                                     env);
  ASSERT_TRUE(restarted.wait_for_output("action: node_start | result: success", 15s)) << restarted.err();
  EXPECT_TRUE(restarted.wait_for_output("action: lottery_recover | result: success | commands: ", 15s))
      << restarted.err();
  for (auto& p : procs) ASSERT_EQ(p.wait(60s), 0) << p.err();

  for (int i = 1; i <= agencies; ++i) {
    auto w = run_minga({"--server", node.address(), "lottery", "winners", "--agency", std::to_string(i)});
    ASSERT_EQ(w.exit_code, 0) << w.err;
    EXPECT_EQ(w.out, winners_text(generated.at(i))) << "agency " << i;
  }
  const std::string status = status_json(node.address());
  EXPECT_NE(status.find("\"total_bets\":16000"), std::string::npos) << status;
  for (int i = 1; i <= agencies; ++i) {
    const std::string row = "{\"agency\":" + std::to_string(i) + ",\"bets\":" + std::to_string(generated.at(i).bets) +
                            ",\"batches\":" + std::to_string(generated.at(i).bets / 10) + ",\"finished\":true";
    EXPECT_NE(status.find(row), std::string::npos) << row << "\n" << status;
  }
  // Stored once: what the restarted node recovered from disk plus what it
  // stored afterwards is exactly the total. (A batch made durable just before
  // the kill may not have been logged by the first run; it is recovered, and
  // its resend is recognised as a duplicate.)
  const std::regex stored(R"(action: apuesta_recibida \| result: success \| cantidad: (\d+))");
  const std::regex recovered(R"(action: lottery_recover \| result: success \| commands: \d+ \| bets: (\d+))");
  EXPECT_EQ(sum_of(restarted.err(), recovered) + sum_of(restarted.err(), stored), 16000u) << restarted.err();
  EXPECT_GE(sum_of(restarted.err(), recovered), sum_of(before, stored));
  // Every agency lived through the kill: it reconnected, and the batches it
  // heard were duplicates are exactly those the restarted node recognised.
  const std::regex reconnects(R"(resource: connection \| agency: \d+ \| reconnects: (\d+))");
  const std::regex duplicates(R"(resource: connection \| agency: \d+ \| reconnects: \d+ \| duplicates: (\d+))");
  std::uint64_t agency_duplicates = 0;
  for (auto& p : procs) {
    EXPECT_GE(sum_of(p.err(), reconnects), 1u) << p.err();
    agency_duplicates += sum_of(p.err(), duplicates);
  }
  EXPECT_EQ(agency_duplicates, count(restarted.err(), "action: apuesta_duplicada | result: success"));
  restarted.signal(SIGTERM);
  EXPECT_EQ(restarted.wait(20s), 0);
}

TEST(Lottery, SigtermStopsAnAgencyAndTheNodeCleanly) {
  TempDir data;
  ASSERT_EQ(run_minga({"lottery", "gen-data", "--agencies", "1", "--bets", "20000", "--out", data.str()}).exit_code, 0);
  auto node = NodeProcess::start();
  Process agency =
      spawn_agency(node.address(), 1, data.path(), {"--batch-max-amount", "5", "--batch-interval-ms", "2"});
  ASSERT_TRUE(node.process().wait_for_output("cantidad: 5\n", 20s));
  agency.signal(SIGTERM);
  ASSERT_EQ(agency.wait(10s), 0) << agency.err();
  EXPECT_NE(agency.err().find("action: shutdown | result: success | resource: connection | agency: 1"),
            std::string::npos)
      << agency.err();
  EXPECT_NE(agency.err().find("action: shutdown | result: success | resource: agency | agency: 1"), std::string::npos);
  // Now the node, while another agency is sending.
  Process second = spawn_agency(
      node.address(), 2, data.path(),
      {"--bets", (data.path() / "agency-1.csv").string(), "--batch-max-amount", "5", "--batch-interval-ms", "2"});
  ASSERT_TRUE(second.wait_for_output("action: agency_start | result: success", 20s)) << second.err();
  std::this_thread::sleep_for(200ms);  // 20000 bets in batches of 5, 2 ms apart: still sending
  ASSERT_TRUE(second.running()) << second.err();
  node.process().signal(SIGTERM);
  ASSERT_EQ(node.process().wait(20s), 0) << node.process().err();
  second.signal(SIGTERM);  // it was retrying; it stops cleanly too
  ASSERT_EQ(second.wait(10s), 0) << second.err();
  EXPECT_NE(second.err().find("action: shutdown | result: success | resource: agency | agency: 2"), std::string::npos);
  const std::string log = node.process().err();
  for (const char* r : {"client_listener", "client_sessions", "monitor", "lottery", "task_pool", "node"}) {
    EXPECT_NE(log.find(std::string("action: shutdown | result: success | resource: ") + r), std::string::npos) << r;
  }
  expect_no_fail_lines("node", log);
}

TEST(Lottery, BadRowsStopTheAgencyBeforeAnythingIsSent) {
  TempDir data;
  {
    std::ofstream f(data.path() / "agency-2.csv");
    f << "Ana,Pérez,123,1990-01-01,5\nLuis,Gómez,12x,1990-01-01,5\nEva,Sosa,9,1990-02-31,1\n";
  }
  auto node = NodeProcess::start({}, {{"MINGA_LOTTERY_AGENCIES", "1"}});
  Process agency = spawn_agency(node.address(), 2, data.path());
  ASSERT_EQ(agency.wait(20s), 2);
  EXPECT_NE(agency.err().find("2 invalid row(s), first at line 2: document must be 1-10 digits, got '12x'"),
            std::string::npos)
      << agency.err();
  EXPECT_NE(agency.err().find("line: 3 | reason: birth date must be a real date"), std::string::npos);
  EXPECT_NE(status_json(node.address()).find("\"total_bets\":0"), std::string::npos);
  // --skip-invalid sends the one good row, and the run completes.
  Process skip = spawn_agency(node.address(), 2, data.path(), {"--skip-invalid"});
  ASSERT_EQ(skip.wait(20s), 0) << skip.err();
  EXPECT_NE(skip.err().find("action: consulta_ganadores | result: success | cant_ganadores: 0\n"), std::string::npos)
      << skip.err();
  const std::string status = status_json(node.address());
  EXPECT_NE(status.find("\"total_bets\":1,\"agencies\":[{\"agency\":2,\"bets\":1,"), std::string::npos) << status;
}

}  // namespace
}  // namespace minga::testing
