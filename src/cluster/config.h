// Node configuration. Every key has a TOML path, an environment variable and
// usually a flag; precedence is flag > environment > file > default.
// docs/configuration.md lists every key; keep the two in step.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "apps/api/app.h"
#include "base/result.h"
#include "config/sources.h"

namespace minga::cluster {

using config::ConfigSources;
using config::EnvLookup;
using config::process_env;
using config::SourceSettings;

struct NodeConfig {
  std::string id;  // "": the id kept in the data dir, generated on the first start
  std::string host = "127.0.0.1";
  std::uint16_t port = 7400;
  std::uint16_t monitor_port = 7480;
  std::string data_dir = "./minga-data";
  unsigned threads = 0;     // 0: the machine's hardware threads
  unsigned io_threads = 1;  // threads running the network event loop
  std::size_t queue_capacity = 65536;
  std::size_t max_waiting_tasks = 10000;  // sleeps waiting at once; each holds a timer, not a thread
  std::size_t max_connections = 10000;
  std::size_t max_frame_bytes = 4u << 20;
  double read_timeout_seconds = 30;
  double write_timeout_seconds = 10;
  double drain_timeout_seconds = 10;
  std::string log_level = "info";
  std::string log_format = "text";
  std::string role = "both";
  // Coordinator and workers (docs/coordinator.md).
  std::string join;                  // HOST:PORT of the coordinator a worker reports to
  double join_wait_seconds = 60;     // a worker without its coordinator this long logs join | result: fail
  std::vector<std::string> workers;  // HOST:PORT of workers a coordinator dials itself
  std::string advertise;             // HOST:PORT where other nodes reach this one; "" = host:port
  std::string policy = "round-robin";
  double heartbeat_interval_seconds = 0.5;
  double heartbeat_timeout_seconds = 2;
  double task_timeout_seconds = 30;
  unsigned max_attempts = 3;
  double test_part_delay_seconds = 0;  // TEST ONLY: sumsq parts wait this long on a worker
  // The replicated log (docs/cluster.md).
  int raft_port = -1;                        // -1: the client port + 100 (0 when the client port is 0)
  std::map<std::string, std::string> peers;  // the other voters, id -> Raft HOST:PORT, for the first start
  std::string cluster_state = "new";         // new: bootstrap from peers; existing: join a running cluster
  std::string api_token_file;                // "": HTTP API writes only with the monitor on loopback
  std::string cluster_secret_file;           // "": no peer authentication, Raft port on loopback only
  unsigned raft_heartbeat_ms = 50;
  unsigned raft_election_timeout_ms = 300;  // randomized in [t, 2t)
  std::uint64_t raft_snapshot_entries = 10000;
  std::string config_file;

  bool operator==(const NodeConfig&) const = default;
};

// One configuration key.
struct KeySpec {
  std::string file_key;  // "node.port"
  std::string env;       // "MINGA_PORT"
  std::string flag;      // "--port" ("" when there is none)
  std::string help;
  std::function<Status(NodeConfig&, std::string_view)> apply;
  std::string value_type;  // "PORT", "SECONDS", ... for --help
  // The key's value in `c` as apply() reads it back (the default in --help).
  std::function<std::string(const NodeConfig&)> show;
};

const std::vector<KeySpec>& node_keys();

// Resolves every key; errors name the key and where its bad value came from.
// `settings_out`, when given, receives the view apps use for their own keys.
Result<NodeConfig> load_node_config(const ConfigSources& sources);

// An error naming the first key of the file that is neither a node key nor
// asked for by an app (a typo such as `prot = 7401`). Call once every app has
// read its settings.
Status check_no_unknown_keys(const SourceSettings& settings);

std::chrono::milliseconds to_millis(double seconds);

}  // namespace minga::cluster
