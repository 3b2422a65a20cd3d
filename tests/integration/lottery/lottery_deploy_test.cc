// deploy/generate-compose.sh, checked through `docker-compose config`: what
// Compose itself makes of the file, service by service.
#include <gtest/gtest.h>

#include <sstream>

#include "lottery_helpers.h"

namespace minga::testing {
namespace {

std::string script() { return std::string(MINGA_SOURCE_DIR) + "/deploy/generate-compose.sh"; }

// The lines of each service in `docker-compose config` output (services are
// the two-space-indented keys under `services:`).
std::map<std::string, std::string> services_of(const std::string& config) {
  std::map<std::string, std::string> out;
  std::istringstream in(config);
  std::string line, current;
  bool in_services = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ') {
      in_services = line == "services:";
      current.clear();
      continue;
    }
    if (!in_services) continue;
    if (line.size() > 2 && line[2] != ' ' && line.back() == ':') {
      current = line.substr(2, line.size() - 3);
      continue;
    }
    if (!current.empty()) out[current] += line + "\n";
  }
  return out;
}

// Host paths of the service's bind mounts ("- /host:/container[:mode]").
std::vector<std::string> bind_sources(const std::string& service) {
  std::vector<std::string> out;
  static const std::regex re(R"(\n\s*- (/[^:\n]+):/)");
  const std::string text = "\n" + service;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

TEST(LotteryDeploy, ComposeFileForNAgenciesMountsEachAgencysConfigAndBets) {
  TempDir dir;
  gen_data(dir.path() / "data", 4, 40, 1);
  const std::string out = (dir.path() / "compose.yaml").string();
  Process gen = Process::spawn({"bash", script(), out, "4", (dir.path() / "data").string()});
  ASSERT_EQ(gen.wait(10s), 0) << gen.err();
  Process config = Process::spawn({"docker-compose", "-f", out, "config"});
  ASSERT_EQ(config.wait(60s), 0) << config.err() << config.out();
  const auto services = services_of(config.out());
  ASSERT_EQ(services.size(), 5u) << config.out();

  const std::string& server = services.at("server");
  EXPECT_NE(server.find("MINGA_LOTTERY_AGENCIES: '4'"), std::string::npos) << server;
  EXPECT_NE(server.find("dockerfile: deploy/Dockerfile"), std::string::npos) << server;
  EXPECT_NE(server.find("context: " + std::string(MINGA_SOURCE_DIR) + "\n"), std::string::npos) << server;
  EXPECT_NE(server.find(":/config/server.toml:ro"), std::string::npos) << server;
  EXPECT_NE(server.find("pull_policy: build"), std::string::npos) << server;
  for (int i = 1; i <= 4; ++i) {
    const std::string& client = services.at("client" + std::to_string(i));
    EXPECT_NE(client.find("CLI_ID: '" + std::to_string(i) + "'\n"), std::string::npos) << client;
    EXPECT_NE(client.find("CLI_SERVER_ADDRESS: server:7400\n"), std::string::npos) << client;
    EXPECT_NE(client.find("image: minga:latest\n"), std::string::npos) << client;
    EXPECT_NE(client.find("pull_policy: never\n"), std::string::npos) << client;
    EXPECT_NE(client.find("/deploy/config/agency.toml:/config/agency.toml:ro\n"), std::string::npos) << client;
    const std::string csv = "agency-" + std::to_string(i) + ".csv";
    EXPECT_NE(client.find((dir.path() / "data" / csv).string() + ":/bets/" + csv + ":ro\n"), std::string::npos)
        << client;
  }
  for (const auto& [name, service] : services) {
    for (const auto& source : bind_sources(service)) {
      EXPECT_TRUE(std::filesystem::is_regular_file(source)) << name << " mounts " << source;
    }
  }
}

TEST(LotteryDeploy, ComposeScriptRefusesBadCountsAndMissingBets) {
  TempDir dir;
  gen_data(dir.path(), 2, 20, 1);
  const std::string out = (dir.path() / "compose.yaml").string();
  Process bad = Process::spawn({"bash", script(), out, "zero", dir.str()});
  EXPECT_EQ(bad.wait(10s), 2);
  EXPECT_EQ(bad.err(), "error: N must be a number of agencies from 1 to 1000, got 'zero'\n");
  Process missing = Process::spawn({"bash", script(), out, "3", dir.str()});
  EXPECT_EQ(missing.wait(10s), 2);
  EXPECT_EQ(missing.err(), "error: " + dir.str() +
                               " lacks agency-3.csv; run: minga lottery gen-data --agencies 3 --out " + dir.str() +
                               "\n");
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace minga::testing
