#include "cli/parse_errors.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

namespace minga::cli {
namespace {

TEST(ParseErrors, NearestIsAPrefixOrAtMostTwoEditsAway) {
  const std::vector<std::string> ops = {"add", "sub", "mul", "div"};
  EXPECT_EQ(nearest("addd", ops), "add");
  EXPECT_EQ(nearest("ad", ops), "add");
  EXPECT_EQ(nearest("dvi", ops), "div");
  EXPECT_EQ(nearest("pow", ops), "");
  EXPECT_EQ(nearest("", ops), "");
  EXPECT_EQ(nearest("upper", {"uppercase", "reverse"}), "uppercase");
  EXPECT_EQ(nearest("--ouput", {"--server", "--output", "--timeout"}), "--output");
}

class Explain : public ::testing::Test {
 protected:
  Explain() {
    root.require_subcommand(1);
    root.fallthrough();
    root.add_option("--output,-o", output);
    root.add_flag("--quiet", quiet);
    auto* calc = root.add_subcommand("calc", "");
    calc->require_subcommand(1);
    for (const char* op : {"add", "sub"}) calc->add_subcommand(op, "")->add_option("operands", operands)->expected(2);
    root.add_subcommand("task", "")->add_option("args", operands);
  }
  std::optional<std::string> explain(std::vector<std::string> args) { return explain_parse_error(root, args); }

  CLI::App root{"", "minga"};
  std::string output;
  bool quiet = false;
  std::vector<std::string> operands;
};

TEST_F(Explain, UnknownSubcommandsAtEveryLevel) {
  EXPECT_EQ(explain({"calk", "add", "1", "2"}),
            "unknown subcommand 'calk' for 'minga'; did you mean 'calc'? (choices: calc, task)");
  EXPECT_EQ(explain({"-o", "json", "calc", "sbu", "1", "2"}),
            "unknown subcommand 'sbu' for 'minga calc'; did you mean 'sub'? (choices: add, sub)");
  EXPECT_EQ(explain({"calc", "--quiet", "sub"}), std::nullopt);  // a flag takes no value
}

TEST_F(Explain, ArgumentsBeforeTheSubcommand) {
  EXPECT_EQ(explain({"calc", "1", "add", "2"}), "'add' comes first: minga calc add 1 2");
  EXPECT_EQ(explain({"calc", "-1", "sub", "-2"}), "'sub' comes first: minga calc sub -1 -2");
}

TEST_F(Explain, UnknownOptions) {
  EXPECT_EQ(explain({"--ouput", "json", "calc", "add"}), "unknown option '--ouput'; did you mean '--output'?");
  EXPECT_EQ(explain({"calc", "add", "--outptu=json"}),
            "unknown option '--outptu' for 'minga calc add'; did you mean '--output'?");
  EXPECT_EQ(explain({"-x"}), "unknown option '-x'");
}

TEST_F(Explain, AMissingSubcommandNamesTheChoices) {
  EXPECT_EQ(explain({}), "'minga' needs a subcommand: calc, task");
  EXPECT_EQ(explain({"--output", "calc"}), "'minga' needs a subcommand: calc, task");  // "calc" was the value
}

TEST_F(Explain, WordsThatLookRightAreLeftToTheParser) {
  EXPECT_EQ(explain({"calc", "add", "1", "2", "3"}), std::nullopt);
  EXPECT_EQ(explain({"task", "anything", "--", "--not-an-option"}), std::nullopt);
  EXPECT_EQ(explain({"calc", "add", "-2.5", "-1e3"}), std::nullopt);  // negative numbers are not options
}

}  // namespace
}  // namespace minga::cli
