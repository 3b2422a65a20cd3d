// The client CLI against a real node: every task, outputs, errors, exit codes.
#include <gtest/gtest.h>

#include "harness.h"

namespace minga::testing {
namespace {

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    node_ = new NodeProcess(NodeProcess::start());
    ASSERT_TRUE(node_->wait_leading()) << "the single node did not become leader within 10 s";
  }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
  }
  static RunResult minga(std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", node_->address()});
    return run_minga(args);
  }
  static NodeProcess* node_;
};
NodeProcess* Cli::node_ = nullptr;

TEST_F(Cli, TextTasksHandleUnicode) {
  auto up = minga({"text", "uppercase", "ñandú", "canción"});
  EXPECT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(up.out, "ÑANDÚ CANCIÓN\n");
  EXPECT_EQ(minga({"text", "reverse", "canción"}).out, "nóicnac\n");
  EXPECT_EQ(minga({"text", "word-count", "uno dos  tres"}).out, "3\n");
}

TEST_F(Cli, TaskByCodeOrKey) {
  EXPECT_EQ(minga({"task", "1", "hola mundo"}).out, "HOLA MUNDO\n");
  EXPECT_EQ(minga({"task", "reverse", "abc"}).out, "cba\n");
  EXPECT_EQ(minga({"task", "3", "a b c d"}).out, "4\n");
  EXPECT_EQ(minga({"task", "4", "0.05"}).out, "slept 0.05 s\n");
  EXPECT_EQ(minga({"task", "add", "1", "2"}).out, "3\n");
}

TEST_F(Cli, SleepWaitsOnTheServer) {
  auto r = minga({"sleep", "0.2"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "slept 0.2 s\n");
}

TEST_F(Cli, CalcPrintsShortestRoundTrip) {
  EXPECT_EQ(minga({"calc", "add", "10", "5"}).out, "15\n");
  EXPECT_EQ(minga({"calc", "sub", "1e3", "1"}).out, "999\n");
  EXPECT_EQ(minga({"calc", "mul", "-2.5", "4"}).out, "-10\n");
  EXPECT_EQ(minga({"calc", "div", "1", "4"}).out, "0.25\n");
  EXPECT_EQ(minga({"calc", "add", "0.1", "0.2"}).out, "0.30000000000000004\n");
}

TEST_F(Cli, DivisionByZeroIsAServerError) {
  auto r = minga({"calc", "div", "1", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error: division by zero\n");
  auto j = minga({"--output", "json", "calc", "div", "1", "0"});
  EXPECT_EQ(j.exit_code, 1);
  EXPECT_EQ(j.out, "{\"ok\":false,\"error\":\"division by zero\"}\n");
}

TEST_F(Cli, JsonOutput) {
  EXPECT_EQ(minga({"--output", "json", "calc", "add", "10", "5"}).out, "{\"ok\":true,\"result\":15}\n");
  EXPECT_EQ(minga({"text", "uppercase", "hola", "--output", "json"}).out, "{\"ok\":true,\"result\":\"HOLA\"}\n");
}

TEST_F(Cli, ClientFlagsWorkAfterTheSubcommand) {
  auto r = run_minga({"calc", "add", "1", "2", "--server", node_->address()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "3\n");
  auto e = run_minga({"calc", "add", "1", "2"}, {{"MINGA_SERVER", node_->address()}});
  EXPECT_EQ(e.out, "3\n");
}

TEST_F(Cli, InvalidNumbersAreUsageErrors) {
  auto r = minga({"calc", "add", "10abc", "5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: invalid number: '10abc'\n");
  auto missing = minga({"calc", "add", "1"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err, "operands: At least 2 required but received 1\nRun with --help for more information.\n");
  auto unknown = minga({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(
      unknown.err,
      "error: unknown subcommand 'frobnicate' for 'minga' (choices: node, text, task, sleep, calc, shell, status, "
      "sumsq, workers, cluster, bench, lottery, records, put, get, ls, stat, rm, files, ml)\nRun with --help for more "
      "information.\n");
  // With -o json the error is the JSON object on stdout, like every error.
  auto j = minga({"-o", "json", "calc", "add", "x", "1"});
  EXPECT_EQ(j.exit_code, 2);
  EXPECT_EQ(j.out, "{\"ok\":false,\"error\":\"invalid number: 'x'\"}\n");
  EXPECT_EQ(j.err, "");
}

TEST_F(Cli, ServerSideErrorsAreClear) {
  auto r = minga({"task", "9", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: unknown task kind '9'\n");
  auto s = minga({"sleep", "100000"});
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_EQ(s.err, "error: sleep of 100000 s is above the maximum of 60 s\n");
  auto u = minga({"text", "uppercase", "\xff"});
  EXPECT_EQ(u.exit_code, 1);
  EXPECT_EQ(u.err, "error: invalid UTF-8 in text\n");
}

TEST_F(Cli, UnreachableServerExitsThree) {
  auto r = run_minga({"--server", "127.0.0.1:1", "calc", "add", "1", "2"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("cannot reach 127.0.0.1:1"), std::string::npos) << r.err;
}

TEST_F(Cli, MalformedServerAddressIsAUsageError) {
  for (const char* address : {"garbage", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:port"}) {
    auto r = run_minga({"--server", address, "status"});
    EXPECT_EQ(r.exit_code, 2) << address << ": " << r.err;
    EXPECT_NE(r.err.find("--server"), std::string::npos) << r.err;
  }
  EXPECT_EQ(run_minga({"calc", "add", "1", "2"}, {{"MINGA_SERVER", "nope"}}).exit_code, 2);
}

TEST_F(Cli, BenchAgainstAnUnreachableServerExitsThree) {
  auto r = run_minga(
      {"--server", "127.0.0.1:1", "bench", "tasks", "--connections", "2", "--duration", "0.1", "--warmup", "0"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot reach 127.0.0.1:1"), std::string::npos) << r.err;
}

TEST_F(Cli, BenchRecordsCountsDurableWrites) {
  // The node is a cluster of one: every write goes through Raft and its fsync.
  auto r = minga({"--output", "json", "bench", "records", "--connections", "2", "--inflight", "4", "--duration", "0.3",
                  "--warmup", "0"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("\"errors\":0,"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\"writes\":0,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"writes_per_s\":"), std::string::npos) << r.out;
}

TEST_F(Cli, BenchRecordsCountsErrorsByCode) {
  // Above the node's records.max_bytes (4096): every write is refused, and
  // the refusals are counted, not hidden.
  auto r = minga({"bench", "records", "--connections", "1", "--inflight", "2", "--size", "5000", "--duration", "0.2",
                  "--warmup", "0", "--error-pause", "50"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("errors invalid_argument: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("writes: 0 acknowledged"), std::string::npos) << r.out;
}

TEST_F(Cli, SleepLongerThanTheClientTimeoutStillAnswers) {
  // The deadline of a sleep is --timeout plus its seconds.
  auto r = minga({"--timeout", "0.5", "sleep", "1.2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "slept 1.2 s\n");
}

TEST_F(Cli, NodeHelpShowsValueTypesAndDefaults) {
  auto r = run_minga({"node", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* shown : {"--port PORT=7400", "--read-timeout SECONDS=30", "--log-format FORMAT=text",
                            "--max-waiting-tasks N=10000", "-c,--config FILE"}) {
    EXPECT_NE(r.out.find(shown), std::string::npos) << shown << "\n" << r.out;
  }
}

TEST(CliStatus, ShowsTheCountersOfKnownRequests) {
  // A node of its own: the shared one has served other tests.
  auto node = NodeProcess::start();
  auto on_node = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", node.address()});
    return run_minga(args);
  };
  EXPECT_EQ(on_node({"calc", "add", "1", "2"}).out, "3\n");
  EXPECT_EQ(on_node({"text", "uppercase", "hola"}).out, "HOLA\n");
  EXPECT_EQ(on_node({"calc", "div", "1", "0"}).err, "error: division by zero\n");
  auto r = on_node({"status"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("role:             both\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tasks\n  queued 0, waiting 0, running 0, done 2, failed 1, rejected 0\n"), std::string::npos)
      << r.out;
  auto j = on_node({"status", "--output", "json"});
  EXPECT_NE(j.out.find("\"tasks\":{\"queued\":0,\"waiting\":0,\"running\":0,\"done\":2,\"failed\":1,\"rejected\":0}"),
            std::string::npos)
      << j.out;
}

TEST_F(Cli, ShellMenuWorksFromAPipe) {
  auto r = run_minga({"--server", node_->address(), "shell"}, {}, "1\nhola mundo\n5\n2\n3\n8\n1\n0\n0\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("HOLA MUNDO\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n5\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("error: division by zero"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bye"), std::string::npos);
}

}  // namespace
}  // namespace minga::testing
