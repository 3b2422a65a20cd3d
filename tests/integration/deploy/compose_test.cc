// deploy/generate-compose.sh, checked through `docker-compose config` (what
// Compose itself makes of the file, service by service) and the HAProxy
// configuration it writes beside it through `haproxy -c`.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "harness.h"

namespace minga::testing {
namespace {

std::string script() { return std::string(MINGA_SOURCE_DIR) + "/deploy/generate-compose.sh"; }

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The lines under each two-space-indented key of the top-level `section`
// of `docker-compose config` output.
std::map<std::string, std::string> entries_of(const std::string& config, const std::string& section) {
  std::map<std::string, std::string> out;
  std::istringstream in(config);
  std::string line, current;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ') {
      inside = line == section + ":";
      current.clear();
      continue;
    }
    if (!inside) continue;
    if (line.size() > 2 && line[2] != ' ') {
      current = line.substr(2, line.find(':') - 2);
      out[current];
      continue;
    }
    if (!current.empty()) out[current] += line + "\n";
  }
  return out;
}

std::set<std::string> keys(const std::map<std::string, std::string>& m) {
  std::set<std::string> out;
  for (const auto& [k, v] : m) out.insert(k);
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

void gen_data(const std::filesystem::path& dir, int agencies) {
  const RunResult r = run_minga({"lottery", "gen-data", "--agencies", std::to_string(agencies), "--bets",
                                 std::to_string(agencies * 10), "--seed", "1", "--out", dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

struct Generated {
  std::map<std::string, std::string> services, volumes, secrets;
  std::string config;
};

Generated generate(const TempDir& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"bash", script(), (dir.path() / "compose.yaml").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  Process gen = Process::spawn(argv);
  EXPECT_EQ(gen.wait(10s), 0) << gen.err();
  Process config = Process::spawn({"docker-compose", "-f", (dir.path() / "compose.yaml").string(), "config"});
  EXPECT_EQ(config.wait(60s), 0) << config.err() << config.out();
  Generated g;
  g.config = config.out();
  g.services = entries_of(g.config, "services");
  g.volumes = entries_of(g.config, "volumes");
  g.secrets = entries_of(g.config, "secrets");
  return g;
}

bool has(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(DeployCompose, ThreeNodesHaproxyAndNAgenciesEachWithItsConfigAndBets) {
  TempDir dir;
  const auto data = dir.path() / "data";
  gen_data(data, 4);
  const Generated g = generate(dir, {"4", "--data-dir", data.string()});
  ASSERT_EQ(keys(g.services),
            (std::set<std::string>{"n1", "n2", "n3", "haproxy", "client1", "client2", "client3", "client4"}))
      << g.config;
  EXPECT_EQ(keys(g.volumes), (std::set<std::string>{"n1-data", "n2-data", "n3-data"})) << g.config;
  ASSERT_EQ(keys(g.secrets), (std::set<std::string>{"minga-cluster-secret"})) << g.config;
  const auto secret = dir.path() / "compose.cluster-secret";
  EXPECT_TRUE(has(g.secrets.at("minga-cluster-secret"), "    file: " + secret.string())) << g.config;

  const std::string root = MINGA_SOURCE_DIR;
  const std::vector<std::string> peers{"n2=n2:7500,n3=n3:7500", "n1=n1:7500,n3=n3:7500", "n1=n1:7500,n2=n2:7500"};
  for (int i = 1; i <= 3; ++i) {
    const std::string id = "n" + std::to_string(i);
    const std::string& node = g.services.at(id);
    EXPECT_TRUE(has(node, "      MINGA_ID: " + id)) << node;
    EXPECT_TRUE(has(node, "      MINGA_ADVERTISE: " + id + ":7400")) << node;
    EXPECT_TRUE(has(node, "      MINGA_PEERS: " + peers[i - 1])) << node;
    EXPECT_TRUE(has(node, "      MINGA_CLUSTER_SECRET_FILE: /run/secrets/minga-cluster-secret")) << node;
    EXPECT_TRUE(has(node, "      MINGA_LOTTERY_AGENCIES: '4'")) << node;
    EXPECT_TRUE(has(node, "    - source: minga-cluster-secret")) << node;
    EXPECT_TRUE(has(node, "    - " + root + "/deploy/config/node.toml:/config/node.toml:ro")) << node;
    EXPECT_TRUE(has(node, "    - " + id + "-data:/data:rw")) << node;
    EXPECT_TRUE(has(node, "    image: minga:latest")) << node;
    EXPECT_TRUE(has(node, i == 1 ? "    pull_policy: build" : "    pull_policy: never")) << node;
  }
  EXPECT_TRUE(has(g.services.at("n1"), "      dockerfile: deploy/Dockerfile")) << g.services.at("n1");
  EXPECT_TRUE(has(g.services.at("n1"), "      context: " + root)) << g.services.at("n1");

  const std::string& lb = g.services.at("haproxy");
  const auto cfg = dir.path() / "compose.haproxy.cfg";
  EXPECT_TRUE(has(lb, "    - " + cfg.string() + ":/usr/local/etc/haproxy/haproxy.cfg:ro")) << lb;
  for (const char* port : {"7400", "7410", "7480", "8404"}) {
    EXPECT_TRUE(has(lb, std::string("    - 127.0.0.1:") + port + ":" + port + "/tcp")) << lb;
  }

  for (int i = 1; i <= 4; ++i) {
    const std::string& client = g.services.at("client" + std::to_string(i));
    EXPECT_TRUE(has(client, "      CLI_ID: '" + std::to_string(i) + "'")) << client;
    EXPECT_TRUE(has(client, "      CLI_SERVER_ADDRESS: haproxy:7400")) << client;
    EXPECT_TRUE(has(client, "    image: minga:latest")) << client;
    EXPECT_TRUE(has(client, "    pull_policy: never")) << client;
    EXPECT_TRUE(has(client, "    - " + root + "/deploy/config/agency.toml:/config/agency.toml:ro")) << client;
    const std::string csv = "agency-" + std::to_string(i) + ".csv";
    EXPECT_TRUE(has(client, "    - " + (data / csv).string() + ":/bets/" + csv + ":ro")) << client;
  }
  for (const auto& [name, service] : g.services) {
    for (const auto& source : bind_sources(service)) {
      EXPECT_TRUE(std::filesystem::is_regular_file(source)) << name << " mounts " << source;
    }
  }

  // The secret: 32 random bytes in hex, kept across runs (a new one would
  // lock the nodes out of each other).
  const std::string key = read_file(secret);
  EXPECT_TRUE(std::regex_match(key, std::regex("[0-9a-f]{64}"))) << key;
  generate(dir, {"4", "--data-dir", data.string()});
  EXPECT_EQ(read_file(secret), key);
}

TEST(DeployCompose, NodesOptionSizesTheClusterAndHaproxysBackends) {
  TempDir dir;
  gen_data(dir.path() / "data", 1);
  const Generated g = generate(dir, {"1", "--nodes", "5", "--data-dir", (dir.path() / "data").string()});
  EXPECT_EQ(keys(g.services), (std::set<std::string>{"n1", "n2", "n3", "n4", "n5", "haproxy", "client1"}));
  EXPECT_TRUE(has(g.services.at("n5"), "      MINGA_PEERS: n1=n1:7500,n2=n2:7500,n3=n3:7500,n4=n4:7500"));
  for (int i = 1; i <= 5; ++i) {
    EXPECT_TRUE(has(g.services.at("haproxy"), "      n" + std::to_string(i) + ":")) << g.services.at("haproxy");
  }

  // The HAProxy file has the 5 nodes in each of its 3 backends, and haproxy
  // accepts it although none of the names resolves here.
  const auto cfg = dir.path() / "compose.haproxy.cfg";
  const std::string text = read_file(cfg);
  for (int i = 1; i <= 5; ++i) {
    const std::regex line("\n    server n" + std::to_string(i) + " \"\\$\\{MINGA_N" + std::to_string(i) + "_HOST-n" +
                          std::to_string(i) + "\\}:");
    EXPECT_EQ(std::distance(std::sregex_iterator(text.begin(), text.end(), line), std::sregex_iterator()), 3) << i;
  }
  EXPECT_EQ(text.find("server n6"), std::string::npos);
  Process check =
      Process::spawn({"haproxy", "-c", "-f", cfg.string()}, {{"MINGA_LB_SOCKET", (dir.path() / "sock").string()}});
  EXPECT_EQ(check.wait(20s), 0) << check.err();
}

TEST(DeployCompose, BadArgumentsAreRefusedAndNothingIsWritten) {
  TempDir dir;
  gen_data(dir.path(), 2);
  const std::string out = (dir.path() / "compose.yaml").string();
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const std::string usage = "usage: " + script() +
                            " OUTPUT N [--nodes K] [--data-dir DIR]   (N agencies 1-1000, K nodes 1-9; DIR holds "
                            "agency-{1..N}.csv)\n";
  const std::vector<Case> cases{
      {{out, "zero", dir.str()}, "error: N must be a number of agencies from 1 to 1000, got 'zero'\n"},
      {{out, "0", dir.str()}, "error: N must be a number of agencies from 1 to 1000, got '0'\n"},
      {{out, "1001", dir.str()}, "error: N must be a number of agencies from 1 to 1000, got '1001'\n"},
      {{out, "2", "--nodes", "0", "--data-dir", dir.str()},
       "error: --nodes must be a number of nodes from 1 to 9, got '0'\n"},
      {{out, "2", "--nodes", "10", "--data-dir", dir.str()},
       "error: --nodes must be a number of nodes from 1 to 9, got '10'\n"},
      {{out, "2", "--data-dir", dir.str(), "--nodes"}, "error: --nodes needs a value (1-9)\n"},
      {{out, "2", "--node", "3"}, "error: unknown option '--node'; " + usage},
      {{out}, usage},
      {{out, "2", dir.str(), "extra"}, usage},
      {{out, "3", dir.str()},
       "error: " + dir.str() + " lacks agency-3.csv; run: minga lottery gen-data --agencies 3 --out " + dir.str() +
           "\n"},
      {{out, "2", "--data-dir", dir.str() + "/none"},
       "error: data directory " + dir.str() + "/none does not exist; run: minga lottery gen-data --agencies 2 --out " +
           dir.str() + "/none\n"},
      {{dir.str() + "/no/such/compose.yaml", "2", dir.str()},
       "error: the directory of " + dir.str() + "/no/such/compose.yaml does not exist\n"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{"bash", script()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    Process p = Process::spawn(argv);
    EXPECT_EQ(p.wait(10s), 2) << c.args.size();
    EXPECT_EQ(p.err(), c.err);
    EXPECT_EQ(p.out(), "");
  }
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "compose.haproxy.cfg"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "compose.cluster-secret"));
}

}  // namespace
}  // namespace minga::testing
