#include "cluster/config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace minga::cluster {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view k) -> std::optional<std::string> {
    auto it = vars.find(std::string(k));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Config, DefaultsWithoutAnySource) {
  auto c = load_node_config(ConfigSources{{}, env_of({}), "", ""});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->port, 7400);
  EXPECT_EQ(c->monitor_port, 7480);
  EXPECT_EQ(c->data_dir, "./minga-data");
  EXPECT_EQ(c->role, "both");
  EXPECT_GE(c->threads, 1u);  // 0 resolves to the hardware threads
}

TEST(Config, EveryKeyShowsItsDefaultAsItReadsBack) {
  const NodeConfig defaults;
  std::vector<std::string> without_default;
  for (const KeySpec& key : node_keys()) {
    EXPECT_FALSE(key.value_type.empty()) << key.file_key;
    const std::string text = key.show(defaults);
    if (text.empty()) {
      without_default.push_back(key.file_key);
      continue;
    }
    NodeConfig c;
    ASSERT_TRUE(key.apply(c, text).ok()) << key.file_key << " = " << text;
    EXPECT_TRUE(c == defaults) << key.file_key << " = " << text;
  }
  // Exactly these have no default; each shows a value once it has one.
  // node.id is made on the first start; cluster.raft_port follows the client port.
  EXPECT_EQ(without_default, (std::vector<std::string>{"node.id", "node.api_token_file", "cluster.join",
                                                       "cluster.workers", "cluster.advertise", "cluster.raft_port",
                                                       "cluster.peers", "cluster.secret_file"}));
  const std::map<std::string, std::string> samples = {{"node.id", "n1"},
                                                      {"node.api_token_file", "/etc/minga/api-token"},
                                                      {"cluster.join", "127.0.0.1:7401"},
                                                      {"cluster.workers", "127.0.0.1:7402,127.0.0.1:7403"},
                                                      {"cluster.advertise", "127.0.0.1:7404"},
                                                      {"cluster.raft_port", "7501"},
                                                      {"cluster.peers", "n2=127.0.0.1:7502,n3=127.0.0.1:7503"},
                                                      {"cluster.secret_file", "/etc/minga/secret"}};
  for (const KeySpec& key : node_keys()) {
    auto sample = samples.find(key.file_key);
    if (sample == samples.end()) continue;
    NodeConfig c;
    ASSERT_TRUE(key.apply(c, sample->second).ok()) << key.file_key;
    EXPECT_EQ(key.show(c), sample->second) << key.file_key;
  }
  NodeConfig changed;
  const auto& port =
      *std::find_if(node_keys().begin(), node_keys().end(), [](const KeySpec& k) { return k.flag == "--port"; });
  ASSERT_TRUE(port.apply(changed, "7401").ok());
  EXPECT_EQ(port.show(changed), "7401");
}

TEST(Config, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  const std::string file = "[node]\nport = 7001\nmonitor_port = 8001\nid = \"from-file\"\nthreads = 3\n";
  auto env = env_of({{"MINGA_PORT", "7002"}, {"MINGA_MONITOR_PORT", "8002"}});
  ConfigSources s{{{"--port", "7003"}}, env, file, "test.toml"};
  auto c = load_node_config(s);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->port, 7003);          // flag
  EXPECT_EQ(c->monitor_port, 8002);  // environment
  EXPECT_EQ(c->id, "from-file");     // file
  EXPECT_EQ(c->threads, 3u);         // file
  EXPECT_EQ(c->log_level, "info");   // default
}

TEST(Config, BadValuesNameTheirSource) {
  auto c = load_node_config(ConfigSources{{{"--port", "99999"}}, env_of({}), "", ""});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "flag --port: invalid port '99999'");
  auto e = load_node_config(ConfigSources{{}, env_of({{"MINGA_LOG_FORMAT", "xml"}}), "", ""});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, "environment MINGA_LOG_FORMAT: expected text|json, got 'xml'");
  auto f = load_node_config(ConfigSources{{}, env_of({}), "[cluster]\nrole = \"boss\"\n", "x.toml"});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().message, "file key cluster.role: expected coordinator|worker|both, got 'boss'");
}

TEST(Config, MalformedFileReportsLineAndColumn) {
  auto c = load_node_config(ConfigSources{{}, env_of({}), "[node]\nport = = 3\n", "bad.toml"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("bad.toml:2:"), std::string::npos) << c.error().message;
}

TEST(Config, AppSettingsPreferEnvironmentOverFile) {
  auto s = SourceSettings::parse(ConfigSources{
      {}, env_of({{"MINGA_LOTTERY_AGENCIES", "3"}}), "[lottery]\nagencies = 7\nwinning_number = 42\n", "x.toml"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->get_int("lottery.agencies", "MINGA_LOTTERY_AGENCIES", 5).value(), 3);
  EXPECT_EQ(s->get_int("lottery.winning_number", "MINGA_LOTTERY_WINNING_NUMBER", 7574).value(), 42);
  EXPECT_EQ(s->get_int("lottery.missing", "", 9).value(), 9);
  EXPECT_FALSE(SourceSettings::parse(ConfigSources{{}, env_of({{"X", "abc"}}), "", ""})->get_int("k", "X", 1).ok());
}

TEST(Config, UnknownFileKeyIsAnErrorNamingKeyAndFile) {
  const std::string file = "[node]\nport = 7401\nprot = 7402\n[tasks]\nmax_sleep_seconds = 2.5\n";
  auto s = SourceSettings::parse(ConfigSources{{}, env_of({}), file, "typo.toml"});
  ASSERT_TRUE(s.ok());
  // tasks.max_sleep_seconds is known once an app asked for it; node.port is a node key.
  EXPECT_EQ(s->get_double("tasks.max_sleep_seconds", "MINGA_MAX_SLEEP_SECONDS", 60).value(), 2.5);
  auto st = check_no_unknown_keys(s.value());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "configuration file typo.toml: unknown key 'node.prot'");
}

TEST(Config, EveryKeyOfAFileReadByTheNodeOrAnAppIsKnown) {
  const std::string file = "[node]\nport = 7401\n[lottery]\nagencies = 3\n";
  auto s = SourceSettings::parse(ConfigSources{{}, env_of({{"MINGA_LOTTERY_AGENCIES", "4"}}), file, "ok.toml"});
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(check_no_unknown_keys(s.value()).ok());  // nothing asked for lottery.agencies yet
  // Asked for, even when the environment overrides it.
  EXPECT_EQ(s->get_int("lottery.agencies", "MINGA_LOTTERY_AGENCIES", 5).value(), 4);
  EXPECT_TRUE(check_no_unknown_keys(s.value()).ok());
}

TEST(Config, FractionalSecondsSettingsAreStrict) {
  auto s = SourceSettings::parse(ConfigSources{{}, env_of({{"MINGA_MAX_SLEEP_SECONDS", "0x10"}}), "", ""});
  ASSERT_TRUE(s.ok());
  auto v = s->get_double("tasks.max_sleep_seconds", "MINGA_MAX_SLEEP_SECONDS", 60);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().message, "setting tasks.max_sleep_seconds: invalid number '0x10'");
}

}  // namespace
}  // namespace minga::cluster

namespace minga::cluster {
namespace {

TEST(Config, PeersAreIdEqualsAddressListsAndBadOnesSayWhy) {
  auto env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  auto ok = load_node_config(ConfigSources{{{"--peers", "n2=127.0.0.1:7502, n3=127.0.0.1:7503"}}, env, "", ""});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->peers, (std::map<std::string, std::string>{{"n2", "127.0.0.1:7502"}, {"n3", "127.0.0.1:7503"}}));
  auto twice = load_node_config(ConfigSources{{{"--peers", "n2=127.0.0.1:7502,n2=127.0.0.1:7503"}}, env, "", ""});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().message, "flag --peers: peer n2 is listed twice");
  auto bare = load_node_config(ConfigSources{{{"--peers", "127.0.0.1:7502"}}, env, "", ""});
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.error().message, "flag --peers: expected ID=HOST:PORT, got '127.0.0.1:7502'");
  auto state = load_node_config(ConfigSources{{{"--cluster-state", "old"}}, env, "", ""});
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().message, "flag --cluster-state: expected new|existing, got 'old'");
  auto timing = load_node_config(
      ConfigSources{{{"--raft-heartbeat-ms", "200"}, {"--raft-election-timeout-ms", "300"}}, env, "", ""});
  ASSERT_FALSE(timing.ok());
  EXPECT_EQ(timing.error().message, "raft.election_timeout_ms (300) must be at least twice raft.heartbeat_ms (200)");
}

}  // namespace
}  // namespace minga::cluster
