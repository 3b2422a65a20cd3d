// The lottery end to end: a real node, real agency processes, generated data.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.h"

namespace minga::testing {
namespace {

constexpr int kWinningNumber = 7574;

struct AgencyData {
  std::size_t bets = 0;
  std::vector<std::string> winners;  // documents, in file order
};

// Reads agency-{i}.csv back: the test's own account of what was generated.
std::map<int, AgencyData> read_generated(const std::filesystem::path& dir, int agencies) {
  std::map<int, AgencyData> out;
  for (int i = 1; i <= agencies; ++i) {
    std::ifstream in(dir / ("agency-" + std::to_string(i) + ".csv"));
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ++out[i].bets;
      const auto last = line.rfind(',');
      if (std::stoi(line.substr(last + 1)) == kWinningNumber) {
        std::vector<std::string> f;
        std::stringstream ss(line);
        std::string cell;
        while (std::getline(ss, cell, ',')) f.push_back(cell);
        out[i].winners.push_back(f.at(2));
      }
    }
  }
  return out;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::uint64_t sum_of(const std::string& log, const std::regex& re) {
  std::uint64_t total = 0;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it) {
    total += std::stoull((*it)[1]);
  }
  return total;
}

void expect_no_fail_lines(const std::string& who, const std::string& log) {
  EXPECT_EQ(log.find("| result: fail"), std::string::npos) << who << ":\n" << log.substr(0, 4000);
}

Process spawn_agency(const std::string& server, int id, const std::filesystem::path& data,
                     const std::vector<std::string>& extra = {}, const Env& env = {}) {
  std::vector<std::string> argv{minga_binary(), "--server", server, "lottery", "agency", "--agency",
                                std::to_string(id), "--data-dir", data.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return Process::spawn(argv, env);
}

TEST(Lottery, FiveAgenciesGetExactlyTheirWinners) {
  TempDir data;
  ASSERT_EQ(run_minga({"lottery", "gen-data", "--agencies", "5", "--bets", "78697", "--seed", "11", "--out",
                       data.str()})
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
    std::string docs;
    for (const auto& d : generated.at(i).winners) docs += d + "\n";
    EXPECT_EQ(w.out, docs) << "agency " << i;
  }
  node.process().signal(SIGTERM);
  ASSERT_EQ(node.process().wait(20s), 0);
  const std::string log = node.process().err();
  EXPECT_EQ(sum_of(log, std::regex(R"(action: apuesta_recibida \| result: success \| cantidad: (\d+))")), 78697u);
  ASSERT_EQ(count(log, "action: sorteo | result: success"), 1u) << log.substr(0, 3000);
  const auto sorteo = log.find("action: sorteo | result: success");
  EXPECT_GT(sorteo, log.rfind("action: apuesta_recibida"));
  EXPECT_LT(sorteo, log.find("action: ganadores | result: success"));
  expect_no_fail_lines("node", log);
  EXPECT_NE(log.find("action: shutdown | result: success | resource: lottery_log"), std::string::npos);
}

TEST(Lottery, ThreeAgenciesConfiguredDrawAfterThree) {
  TempDir data;
  ASSERT_EQ(run_minga({"lottery", "gen-data", "--agencies", "3", "--bets", "3000", "--seed", "5", "--out",
                       data.str()})
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
  EXPECT_NE(restarted.err().find("action: lottery_recover | result: success | records: "), std::string::npos);
  for (auto& p : procs) ASSERT_EQ(p.wait(60s), 0) << p.err();

  for (int i = 1; i <= agencies; ++i) {
    auto w = run_minga({"--server", node.address(), "lottery", "winners", "--agency", std::to_string(i)});
    ASSERT_EQ(w.exit_code, 0) << w.err;
    std::string docs;
    for (const auto& d : generated.at(i).winners) docs += d + "\n";
    EXPECT_EQ(w.out, docs) << "agency " << i;
  }
  auto status = run_minga({"--server", node.address(), "lottery", "status", "--output", "json"});
  EXPECT_NE(status.out.find("\"total_bets\":16000"), std::string::npos) << status.out;
  for (int i = 1; i <= agencies; ++i) {
    const std::string row = "{\"agency\":" + std::to_string(i) + ",\"bets\":" + std::to_string(generated.at(i).bets) +
                            ",\"batches\":" + std::to_string(generated.at(i).bets / 10) + ",\"finished\":true";
    EXPECT_NE(status.out.find(row), std::string::npos) << row << "\n" << status.out;
  }
  // Stored once: what the restarted node recovered from disk plus what it
  // stored afterwards is exactly the total. (A batch made durable just before
  // the kill may not have been logged by the first run; it is recovered, and
  // its resend is recognised as a duplicate.)
  const std::regex stored(R"(action: apuesta_recibida \| result: success \| cantidad: (\d+))");
  const std::regex recovered(R"(action: lottery_recover \| result: success \| records: \d+ \| bets: (\d+))");
  EXPECT_EQ(sum_of(restarted.err(), recovered) + sum_of(restarted.err(), stored), 16000u) << restarted.err();
  EXPECT_GE(sum_of(restarted.err(), recovered), sum_of(before, stored));
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
  Process second =
      spawn_agency(node.address(), 2, data.path(), {"--bets", (data.path() / "agency-1.csv").string(),
                                                     "--batch-max-amount", "5", "--batch-interval-ms", "2"});
  ASSERT_TRUE(second.wait_for_output("action: agency_start | result: success", 20s)) << second.err();
  std::this_thread::sleep_for(200ms);  // 20000 bets in batches of 5, 2 ms apart: still sending
  ASSERT_TRUE(second.running()) << second.err();
  node.process().signal(SIGTERM);
  ASSERT_EQ(node.process().wait(20s), 0) << node.process().err();
  second.signal(SIGTERM);  // it was retrying; it stops cleanly too
  ASSERT_EQ(second.wait(10s), 0) << second.err();
  EXPECT_NE(second.err().find("action: shutdown | result: success | resource: agency | agency: 2"), std::string::npos);
  const std::string log = node.process().err();
  for (const char* r : {"client_listener", "client_sessions", "monitor", "lottery_log", "task_pool", "node"}) {
    EXPECT_NE(log.find(std::string("action: shutdown | result: success | resource: ") + r), std::string::npos) << r;
  }
  expect_no_fail_lines("node", log);
}

TEST(Lottery, SingleBetFromTheEnvironment) {
  TempDir data;
  auto node = NodeProcess::start({}, {{"MINGA_LOTTERY_AGENCIES", "1"}});
  Process agency = Process::spawn({minga_binary(), "lottery", "agency", "--data-dir", data.str()},
                                  {{"CLI_ID", "4"},
                                   {"CLI_SERVER_ADDRESS", node.address()},
                                   {"CLI_LOG_LEVEL", "INFO"},
                                   {"NOMBRE", "Santiago Lionel"},
                                   {"APELLIDO", "Lorca"},
                                   {"DOCUMENTO", "30904465"},
                                   {"NACIMIENTO", "1999-03-17"},
                                   {"NUMERO", "7574"}});
  ASSERT_EQ(agency.wait(20s), 0) << agency.err();
  EXPECT_NE(agency.err().find("action: apuesta_enviada | result: success | dni: 30904465 | numero: 7574\n"),
            std::string::npos)
      << agency.err();
  EXPECT_NE(agency.err().find("action: consulta_ganadores | result: success | cant_ganadores: 1\n"), std::string::npos);
  EXPECT_TRUE(node.process().wait_for_output(
      "action: apuesta_almacenada | result: success | dni: 30904465 | numero: 7574\n", 5s))
      << node.process().err();
}

TEST(Lottery, BadRowsStopTheAgencyBeforeAnythingIsSent) {
  TempDir data;
  {
    std::ofstream f(data.path() / "agency-2.csv");
    f << "Ana,Pérez,123,1990-01-01,5\nLuis,Gómez,12x,1990-01-01,5\nEva,Sosa,9,1990-02-31,1\n";
  }
  auto node = NodeProcess::start();
  Process agency = spawn_agency(node.address(), 2, data.path());
  ASSERT_EQ(agency.wait(20s), 2);
  EXPECT_NE(agency.err().find("2 invalid row(s), first at line 2: document must be 1-10 digits, got '12x'"),
            std::string::npos)
      << agency.err();
  EXPECT_NE(agency.err().find("line: 3 | reason: birth date must be a real date"), std::string::npos);
  auto status = run_minga({"--server", node.address(), "lottery", "status", "--output", "json"});
  EXPECT_NE(status.out.find("\"total_bets\":0"), std::string::npos) << status.out;
  // --skip-invalid sends the one good row.
  TempDir none;
  Process skip = spawn_agency(node.address(), 2, data.path(), {"--skip-invalid", "--wait-for", "1"});
  skip.wait(20s);
  status = run_minga({"--server", node.address(), "lottery", "status", "--output", "json"});
  EXPECT_NE(status.out.find("\"total_bets\":1"), std::string::npos) << status.out;
}

TEST(Lottery, MissingAgencyIdIsAUsageError) {
  auto r = run_minga({"lottery", "agency", "--bets", "/nonexistent.csv"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: the agency id is missing: pass --agency N or set CLI_ID\n");
}

TEST(Lottery, ComposeFileForNAgenciesIsValid) {
  TempDir dir;
  const std::string out = (dir.path() / "compose.yaml").string();
  Process gen = Process::spawn({"bash", std::string(MINGA_SOURCE_DIR) + "/deploy/generate-compose.sh", out, "4"});
  ASSERT_EQ(gen.wait(10s), 0) << gen.err();
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string yaml = ss.str();
  EXPECT_NE(yaml.find("MINGA_LOTTERY_AGENCIES=4"), std::string::npos);
  EXPECT_NE(yaml.find("client4:"), std::string::npos);
  EXPECT_EQ(yaml.find("client5:"), std::string::npos);
  EXPECT_NE(yaml.find("agency-4.csv:/bets/agency-4.csv:ro"), std::string::npos);
  Process check = Process::spawn({"bash", "-c", "docker-compose -f \"$0\" config -q", out});
  ASSERT_EQ(check.wait(60s), 0) << check.err() << check.out();
  Process bad = Process::spawn({"bash", std::string(MINGA_SOURCE_DIR) + "/deploy/generate-compose.sh", out, "zero"});
  EXPECT_EQ(bad.wait(10s), 2);
}

}  // namespace
}  // namespace minga::testing
