// `minga lottery agency` as a process: where its settings come from, what
// it logs, and what a node logs for its bets.
#include <gtest/gtest.h>

#include <fstream>

#include "lottery_helpers.h"

namespace minga::testing {
namespace {

const std::regex kBatchSizes(R"(action: apuesta_recibida \| result: success \| cantidad: (\d+))");

// The `cantidad` of every stored batch, in log order.
std::vector<int> batch_sizes(const std::string& log) {
  std::vector<int> sizes;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), kBatchSizes); it != std::sregex_iterator(); ++it) {
    sizes.push_back(std::stoi((*it)[1]));
  }
  return sizes;
}

Env single_bet_env(const std::string& server) {
  return {{"CLI_ID", "4"},
          {"CLI_SERVER_ADDRESS", server},
          {"CLI_LOG_LEVEL", "INFO"},
          {"NOMBRE", "Santiago Lionel"},
          {"APELLIDO", "Lorca"},
          {"DOCUMENTO", "30904465"},
          {"NACIMIENTO", "1999-03-17"},
          {"NUMERO", "7574"}};
}

TEST(LotteryAgency, SingleBetFromTheEnvironmentIsLoggedOnBothSides) {
  TempDir data;
  auto node = NodeProcess::start({}, {{"MINGA_LOTTERY_AGENCIES", "1"}});
  Process agency =
      Process::spawn({minga_binary(), "lottery", "agency", "--data-dir", data.str()}, single_bet_env(node.address()));
  ASSERT_EQ(agency.wait(20s), 0) << agency.err();
  EXPECT_NE(agency.err().find("action: apuesta_enviada | result: success | dni: 30904465 | numero: 7574\n"),
            std::string::npos)
      << agency.err();
  EXPECT_NE(agency.err().find("action: consulta_ganadores | result: success | cant_ganadores: 1\n"), std::string::npos);
  // A single bet is logged at INFO by the node.
  EXPECT_TRUE(node.process().wait_for_output(
      "action: apuesta_almacenada | result: success | dni: 30904465 | numero: 7574\n", 5s))
      << node.process().err();
  EXPECT_EQ(count(node.process().err(), "action: apuesta_almacenada"), 1u);
}

TEST(LotteryAgency, SomeSingleBetVariablesSetIsAUsageErrorNamingTheOthers) {
  TempDir data;
  Env env = single_bet_env("127.0.0.1:1");
  env.erase("NACIMIENTO");
  env.erase("NUMERO");
  const RunResult r = run_minga({"lottery", "agency", "--data-dir", data.str()}, env);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "error: single bet from the environment: NACIMIENTO, NUMERO not set; set all of NOMBRE, APELLIDO, "
            "DOCUMENTO, NACIMIENTO and NUMERO, or none to read the CSV\n");
}

TEST(LotteryAgency, MissingAgencyIdIsAUsageError) {
  auto r = run_minga({"lottery", "agency", "--bets", "/nonexistent.csv"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: the agency id is missing: pass --agency N or set CLI_ID\n");
}

// Batch size from the environment, else the configuration file; the flag's
// env name overrides the file. Bets of a batch are not logged one by one at
// INFO.
TEST(LotteryAgency, BatchSizeFromTheEnvironmentOrTheConfigurationFile) {
  TempDir data;
  gen_data(data.path(), 2, 40, 9);  // 20 bets each
  const auto config = data.path() / "agency.toml";
  {
    std::ofstream f(config);
    f << "[batch]\nmax_amount = 6\n";
  }
  auto node = NodeProcess::start({}, {{"MINGA_LOTTERY_AGENCIES", "2"}});
  Process by_env =
      spawn_agency(node.address(), 1, data.path(), {"--config", config.string()}, {{"MINGA_BATCH_MAX_AMOUNT", "7"}});
  ASSERT_TRUE(node.process().wait_for_output("finalizadas: 1 | esperadas: 2", 20s)) << by_env.err();
  EXPECT_NE(by_env.err().find("| batch_max_amount: 7\n"), std::string::npos) << by_env.err();
  EXPECT_EQ(batch_sizes(node.process().err()), (std::vector<int>{7, 7, 6}));
  Process by_file = spawn_agency(node.address(), 2, data.path(), {}, {{"MINGA_CONFIG", config.string()}});
  ASSERT_EQ(by_file.wait(20s), 0) << by_file.err();
  ASSERT_EQ(by_env.wait(20s), 0) << by_env.err();
  EXPECT_NE(by_file.err().find("| batch_max_amount: 6\n"), std::string::npos) << by_file.err();
  EXPECT_EQ(batch_sizes(node.process().err()), (std::vector<int>{7, 7, 6, 6, 6, 6, 2}));
  EXPECT_EQ(node.process().err().find("apuesta_almacenada"), std::string::npos);
}

// Names of 200 bytes: 100 bets would not fit 8 kB, so batches are cut, and
// the agency says so once.
TEST(LotteryAgency, LongNamesCutBatchesAndTheCutIsLoggedOnce) {
  TempDir data;
  const std::string name(200, 'n');
  {
    std::ofstream f(data.path() / "agency-1.csv");
    for (int i = 0; i < 150; ++i) f << name << "," << name << "," << 1000 + i << ",1990-01-01," << i << "\n";
  }
  auto node = NodeProcess::start({}, {{"MINGA_LOTTERY_AGENCIES", "1"}});
  Process agency = spawn_agency(node.address(), 1, data.path());
  ASSERT_EQ(agency.wait(20s), 0) << agency.err();
  const std::string log = agency.err();
  EXPECT_EQ(count(log, "action: batch_size | result: success | max_amount: 100 | cut_to: "), 1u) << log;
  const std::vector<int> sizes = batch_sizes(node.process().err());
  ASSERT_GE(sizes.size(), 8u);  // 150 bets of ~420 bytes: at most 19 in 8 kB
  int total = 0;
  for (int n : sizes) total += n;
  EXPECT_EQ(total, 150);
  std::smatch cut;
  ASSERT_TRUE(std::regex_search(log, cut, std::regex(R"(cut_to: (\d+))")));
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], std::stoi(cut[1])) << i;
}

TEST(LotteryAgency, LogLevelFromTheFlagOverTheEnvironment) {
  TempDir data;
  gen_data(data.path(), 1, 30, 2);
  auto node = NodeProcess::start({}, {{"MINGA_LOTTERY_AGENCIES", "1"}});
  Process agency = spawn_agency(node.address(), 1, data.path(), {"--log-level", "debug", "--batch-max-amount", "10"},
                                {{"CLI_LOG_LEVEL", "warn"}});
  ASSERT_EQ(agency.wait(20s), 0) << agency.err();
  EXPECT_EQ(count(agency.err(), "action: lote_enviado | result: success"), 3u) << agency.err();
  Process quiet =
      spawn_agency(node.address(), 1, data.path(), {"--batch-max-amount", "10"}, {{"CLI_LOG_LEVEL", "WARN"}});
  ASSERT_EQ(quiet.wait(20s), 0) << quiet.err();
  EXPECT_EQ(quiet.err().find("consulta_ganadores"), std::string::npos) << quiet.err();
  const RunResult bad = run_minga({"lottery", "agency", "--agency", "1", "--log-level", "loud"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err,
            "error: log level (--log-level, MINGA_AGENCY_LOG_LEVEL, CLI_LOG_LEVEL or log.level): expected "
            "trace|debug|info|warn|error|off, "
            "got 'loud'\n");
}

TEST(LotteryAgency, WinningNumberFromTheEnvironmentOfARealNode) {
  TempDir data;
  const RunResult g = run_minga({"lottery", "gen-data", "--agencies", "2", "--bets", "4000", "--seed", "4",
                                 "--winning-number", "42", "--out", data.str()});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  const auto generated = read_generated(data.path(), 2, 42);
  ASSERT_FALSE(generated.at(1).winners.empty());
  auto node = NodeProcess::start({}, {{"MINGA_LOTTERY_AGENCIES", "2"}, {"MINGA_LOTTERY_WINNING_NUMBER", "42"}});
  Process a1 = spawn_agency(node.address(), 1, data.path());
  Process a2 = spawn_agency(node.address(), 2, data.path());
  for (Process* p : {&a1, &a2}) ASSERT_EQ(p->wait(30s), 0) << p->err();
  EXPECT_NE(a1.err().find("cant_ganadores: " + std::to_string(generated.at(1).winners.size()) + "\n"),
            std::string::npos);
  EXPECT_NE(node.process().err().find("action: sorteo | result: success | numero_ganador: 42 | agencias: 2\n"),
            std::string::npos);
  for (int i : {1, 2}) {
    const RunResult w = run_minga({"--server", node.address(), "lottery", "winners", "--agency", std::to_string(i)});
    EXPECT_EQ(w.out, winners_text(generated.at(i))) << i;
  }
}

}  // namespace
}  // namespace minga::testing
