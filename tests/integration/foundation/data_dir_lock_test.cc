// One node per data directory: a second node on a directory in use refuses
// to start, naming the directory and the pid of the node that holds it.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "harness.h"

namespace minga::testing {
namespace {

const std::vector<std::string> kLoopbackNode = {"node", "--host", "127.0.0.1", "--port", "0", "--monitor-port", "0"};

RunResult run_node_on(const std::string& data_dir) {
  std::vector<std::string> args = kLoopbackNode;
  args.insert(args.end(), {"--data-dir", data_dir});
  return run_minga(args, {}, "", 20s);
}

TEST(DataDirLock, ASecondNodeOnTheSameDirectoryRefusesAndNamesTheHolder) {
  TempDir dir;
  const std::string data = (dir.path() / "data").string();
  auto first = NodeProcess::start({"--data-dir", data});
  const std::string pid = std::to_string(first.process().pid());

  auto second = run_node_on(data);
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_NE(second.err.find("action: node_start | result: fail | reason: data dir " + data +
                            " is in use by another minga node (pid " + pid +
                            "); stop it or give this node another --data-dir"),
            std::string::npos)
      << second.err;
  EXPECT_EQ(second.err.find("lottery_recover"), std::string::npos) << "it must not recover the other's data\n"
                                                                   << second.err;
  std::ifstream lock(dir.path() / "data" / "LOCK");
  std::string written;
  std::getline(lock, written);
  EXPECT_EQ(written, pid);
  // The first node is untouched.
  EXPECT_EQ(run_minga({"--server", first.address(), "text", "uppercase", "sigo"}).out, "SIGO\n");
}

TEST(DataDirLock, TheDirectoryIsFreeOnceTheHolderStopsEvenByKill9) {
  TempDir dir;
  const std::string data = (dir.path() / "data").string();
  {
    auto first = NodeProcess::start({"--data-dir", data});
    first.process().signal(SIGKILL);
    ASSERT_TRUE(first.process().wait(10s).has_value());
  }
  auto again = NodeProcess::start({"--data-dir", data});
  EXPECT_TRUE(again.process().running());
  again.process().signal(SIGTERM);
  EXPECT_EQ(again.process().wait(15s), 0) << again.process().err();
}

TEST(DataDirLock, DifferentDirectoriesRunSideBySide) {
  auto a = NodeProcess::start();
  auto b = NodeProcess::start();
  EXPECT_TRUE(a.process().running());
  EXPECT_TRUE(b.process().running());
}

}  // namespace
}  // namespace minga::testing
