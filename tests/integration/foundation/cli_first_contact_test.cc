// The CLI as a newcomer meets it: mistakes get their words quoted with the
// choices, help shows examples that work, status reads well, the shell
// forgives, and an unreachable server comes with advice.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "harness.h"

namespace minga::testing {
namespace {

const std::string kHint = "is a node running? start one with 'minga node' or 'make run'";

class CliFirstContact : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    node_ = new NodeProcess(NodeProcess::start({"--id", "n1"}));
    ASSERT_TRUE(node_->wait_leading()) << "the single node did not become leader within 10 s";
  }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
  }
  static RunResult minga(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), {"--server", node_->address()});
    return run_minga(args, {}, stdin_text);
  }
  static NodeProcess* node_;
};
NodeProcess* CliFirstContact::node_ = nullptr;

void expect_usage(const RunResult& r, const std::string& message) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error: " + message + "\nRun with --help for more information.\n");
}

TEST_F(CliFirstContact, UnknownSubcommandsAreQuotedWithTheNearestAndTheChoices) {
  expect_usage(minga({"calc", "addd", "1", "2"}),
               "unknown subcommand 'addd' for 'minga calc'; did you mean 'add'? (choices: add, sub, mul, div)");
  expect_usage(minga({"text", "upper", "x"}),
               "unknown subcommand 'upper' for 'minga text'; did you mean 'uppercase'? (choices: uppercase, "
               "reverse, word-count)");
  expect_usage(minga({"lottery", "statsu"}),
               "unknown subcommand 'statsu' for 'minga lottery'; did you mean 'status'? (choices: agency, winners, "
               "status, new-round, gen-data)");
  expect_usage(minga({"calc", "pow", "2", "3"}),
               "unknown subcommand 'pow' for 'minga calc' (choices: add, sub, mul, div)");
  expect_usage(minga({"calc"}), "'minga calc' needs a subcommand: add, sub, mul, div");
}

TEST_F(CliFirstContact, UnknownOptionsAreQuotedWithTheNearest) {
  expect_usage(minga({"--ouput", "json", "status"}), "unknown option '--ouput'; did you mean '--output'?");
  expect_usage(minga({"status", "--ouput=json"}),
               "unknown option '--ouput' for 'minga status'; did you mean '--output'?");
  expect_usage(minga({"calc", "add", "--verbose", "1", "2"}), "unknown option '--verbose' for 'minga calc add'");
}

TEST_F(CliFirstContact, TheOperationComesFirst) {
  expect_usage(minga({"calc", "1", "add", "2"}), "'add' comes first: minga calc add 1 2");
  expect_usage(minga({"text", "hola", "uppercase"}), "'uppercase' comes first: minga text uppercase hola");
}

TEST_F(CliFirstContact, ATextTaskWithoutTextFailsTheSameWayEitherWay) {
  for (const auto& args : {std::vector<std::string>{"task", "uppercase"}, std::vector<std::string>{"text", "uppercase"},
                           std::vector<std::string>{"task", "1"}}) {
    auto r = minga(args);
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "error: uppercase needs a text, e.g. \"hola mundo\"\n");
  }
  EXPECT_EQ(minga({"task", "word-count"}).err, "error: word-count needs a text, e.g. \"hola mundo\"\n");
  EXPECT_EQ(minga({"text", "word-count"}).err, "error: word-count needs a text, e.g. \"hola mundo\"\n");
  // An empty text given on purpose is still a text.
  auto empty = minga({"text", "reverse", ""});
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_EQ(empty.out, "\n");
}

// Runs every "minga calc ..." example line of a help text and compares the
// answer with the one the line shows.
void expect_examples_hold(const std::string& server, const std::string& help, int at_least) {
  static const std::regex example(R"(\n  minga ((?:-o json )?calc \S+ \S+ \S+) +(.+))");
  int checked = 0;
  for (auto it = std::sregex_iterator(help.begin(), help.end(), example); it != std::sregex_iterator(); ++it) {
    std::vector<std::string> args;
    std::istringstream words((*it)[1].str());
    for (std::string w; words >> w;) args.push_back(w);
    args.insert(args.begin(), {"--server", server});
    const RunResult r = run_minga(args);
    const std::string shown = (*it)[2];
    const std::string got =
        r.exit_code == 0 ? r.out : r.err.substr(0, r.err.size() - 1) + " (exit " + std::to_string(r.exit_code) + ")\n";
    EXPECT_EQ(got, shown + "\n") << (*it)[1];
    ++checked;
  }
  EXPECT_GE(checked, at_least) << help;
}

TEST_F(CliFirstContact, CalcHelpShowsExamplesThatHoldNegativeNumbersIncluded) {
  auto calc = run_minga({"calc", "--help"});
  EXPECT_EQ(calc.exit_code, 0);
  EXPECT_NE(calc.out.find("  minga calc sub -2.5 4            -6.5\n"), std::string::npos) << calc.out;
  expect_examples_hold(node_->address(), calc.out, 5);
  for (const char* op : {"add", "sub", "mul", "div"}) {
    auto help = run_minga({"calc", op, "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("Examples:\n"), std::string::npos) << help.out;
    EXPECT_TRUE(std::regex_search(help.out, std::regex(std::string("  minga calc ") + op + " -"))) << help.out;
    expect_examples_hold(node_->address(), help.out, 2);
  }
}

TEST_F(CliFirstContact, TaskHelpNamesMatchTheSubcommands) {
  auto r = run_minga({"task", "--help"});
  EXPECT_NE(r.out.find("1 uppercase, 2 reverse, 3 word-count, 4 sleep"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("word_count"), std::string::npos) << r.out;
  EXPECT_EQ(minga({"task", "word-count", "uno", "dos"}).out, "2\n");
}

TEST_F(CliFirstContact, StatusTextHasSectionsUnitsAndRounding) {
  auto r = minga({"status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  static const std::regex shape(
      "node\n"
      "  id:               n1\n"
      "  version:          [0-9.]+\n"
      "  role:             both\n"
      "  uptime:           [0-9]+ s\n"
      "  open connections: 1\n"
      "  threads:          [0-9]+\n"
      "tasks\n"
      "  queued 0, waiting 0, running 0, done [0-9]+, failed [0-9]+, rejected 0\n"
      "files\n"
      "  count:               0\n"
      "  bytes:               0\n"
      "  replicas:            3\n"
      "  max_size:            1073741824\n"
      "  uploads:             0\n"
      "  fetches:             0\n"
      "  repairs:             0\n"
      "  journal_appends:     0\n"
      "  journal_syncs:       0\n"
      "  journal_checkpoints: 0\n"
      "  packed_blobs:        0\n"
      "  pack_segments:       0\n"
      "  under_replicated:    0\n"
      "  missing:             0\n"
      "  corrupt:             0\n"
      "  repairs_running:     [01]\n"
      "  passes:              [0-9]+\n"
      "  last_pass_ms:        [0-9]+\n"
      "  last_pass_millis:    [0-9]+\n"
      "  pass_fetched:        0\n"
      "  pass_repaired:       0\n"
      "  replicated:          0\n"
      "  collected:           0\n"
      "lottery\n"
      "  round:             1\n"
      "  draw_done:         false\n"
      "  expected_agencies: 5\n"
      "  agencies_finished: 0\n"
      "  winning_number:    7574\n"
      "  total_bets:        0\n"
      "  agencies:\n"
      "    \\(none\\)\n"
      "ml\n"
      "  models:        0\n"
      "  active:        0\n"
      "  training:      0\n"
      "  threads:       [0-9]+\n"
      "  cached_models: 0\n"
      "  predictions:   0\n"
      "raft\n"
      "  id:             n1\n"
      "  role:           leader\n"
      "  term:           [0-9]+\n"
      "(  .*\n)+"
      "records\n"
      "  count:     [0-9]+\n"
      "  max_bytes: 4096\n");
  EXPECT_TRUE(std::regex_match(r.out, shape)) << r.out;
  EXPECT_EQ(r.out.find('{'), std::string::npos) << r.out;
}

TEST_F(CliFirstContact, JsonAnswersAllStartWithOk) {
  for (const auto& args :
       {std::vector<std::string>{"status"}, std::vector<std::string>{"lottery", "status"},
        std::vector<std::string>{"calc", "add", "1", "2"}, std::vector<std::string>{"workers"},
        std::vector<std::string>{"sumsq", "3"}, std::vector<std::string>{"text", "uppercase", "a"}}) {
    std::vector<std::string> with = {"-o", "json"};
    with.insert(with.end(), args.begin(), args.end());
    auto r = minga(with);
    EXPECT_EQ(r.exit_code, 0) << args[0] << r.err;
    EXPECT_EQ(r.out.rfind("{\"ok\":true,", 0), 0u) << args[0] << ": " << r.out;
  }
  auto bench = minga({"-o", "json", "bench", "tasks", "--connections", "1", "--duration", "0.1", "--warmup", "0"});
  EXPECT_EQ(bench.exit_code, 0) << bench.err;
  EXPECT_EQ(bench.out.rfind("{\"ok\":true,\"kind\":\"uppercase\",", 0), 0u) << bench.out;
  auto status = minga({"-o", "json", "status"});
  EXPECT_NE(status.out.find("\"uptime_seconds\":"), std::string::npos) << status.out;  // nothing is left out
  EXPECT_NE(status.out.find("\"lottery\":{\"round\":1,"), std::string::npos) << status.out;
  auto error = minga({"-o", "json", "calc", "div", "1", "0"});
  EXPECT_EQ(error.out, "{\"ok\":false,\"error\":\"division by zero\"}\n");
}

TEST_F(CliFirstContact, AnUnreachableServerComesWithAdvice) {
  auto r = run_minga({"--server", "127.0.0.1:1", "calc", "add", "1", "2"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err, "error: cannot reach 127.0.0.1:1: Connection refused; " + kHint + "\n");
  auto j = run_minga({"--server", "127.0.0.1:1", "-o", "json", "status"});
  EXPECT_EQ(j.exit_code, 3);
  EXPECT_EQ(j.out,
            "{\"ok\":false,\"error\":\"cannot reach 127.0.0.1:1: Connection refused; is a node running? start "
            "one with 'minga node' or 'make run'\"}\n");
}

TEST_F(CliFirstContact, ShellAcceptsQuitWordsAndHelpAndAsksAgainAfterABadNumber) {
  auto r = minga({"shell"}, "help\n12\nx\n5\ndos\n2\n3\nq\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "minga shell, server " + node_->address() +
                "\n"
                "  1) uppercase\n  2) reverse\n  3) word count\n  4) sleep\n  5) add\n  6) subtract\n  7) multiply\n"
                "  8) divide\n  9) status\n  0) quit (also q, quit; help shows this menu)\n"
                "choice> help\n"
                "  1) uppercase\n  2) reverse\n  3) word count\n  4) sleep\n  5) add\n  6) subtract\n  7) multiply\n"
                "  8) divide\n  9) status\n  0) quit (also q, quit; help shows this menu)\n"
                "choice> 12\nerror: '12' is not a choice: type a number from 0 to 9, q to quit or help\n"
                "choice> x\nerror: 'x' is not a choice: type a number from 0 to 9, q to quit or help\n"
                "choice> 5\na> dos\nerror: invalid number: 'dos'; try again\na> 2\nb> 3\n5\n"
                "choice> q\nbye\n");
  EXPECT_EQ(minga({"shell"}, "quit\n").out.find("choice> quit\nbye\n") != std::string::npos, true);
}

TEST_F(CliFirstContact, ShellReportsAnUnreachableServerAndKeepsTheMenu) {
  auto r = run_minga({"--server", "127.0.0.1:1", "shell"}, {}, "1\nhola\n0\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string error =
      "text> hola\nerror: cannot reach 127.0.0.1:1: Connection refused; " + kHint + "\n  1) uppercase\n";
  EXPECT_NE(r.out.find(error), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("choice> 0\nbye\n"), std::string::npos) << r.out;
}

TEST_F(CliFirstContact, LiveLogTailSendsRecentLinesFirstAfterAComment) {
  RawConnection sse(node_->monitor_port());
  ASSERT_TRUE(sse.send("GET /logs HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"));
  for (std::string line = sse.read_line(3s); line != "\r"; line = sse.read_line(3s)) {
    ASSERT_FALSE(line.empty()) << "headers cut short";
  }
  EXPECT_EQ(sse.read_line(3s),
            ": minga log tail: the last 200 lines, then new ones; a comment every 15 s keeps the stream open");
  EXPECT_EQ(sse.read_line(3s), "");
  // Lines from before the tail opened, with nothing new logged.
  const std::string first = sse.read_line(3s);
  EXPECT_EQ(first.rfind("data: ", 0), 0u) << first;
  bool started = first.find("action: node_start | result: success") != std::string::npos;
  for (int i = 0; i < 100 && !started; ++i) {
    started = sse.read_line(3s).find("action: node_start | result: success") != std::string::npos;
  }
  EXPECT_TRUE(started);
}

}  // namespace
}  // namespace minga::testing
