#include "cluster/config.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <toml++/toml.h>

#include "base/log.h"
#include "base/number.h"
#include "cluster/scheduler.h"
#include "net/client.h"

namespace minga::cluster {
namespace {

Status set_port(std::uint16_t& out, std::string_view v) {
  auto n = parse_u64(v);
  if (!n.ok() || n.value() > 65535) return Error{Errc::invalid_argument, "invalid port '" + std::string(v) + "'"};
  out = static_cast<std::uint16_t>(n.value());
  return ok_status();
}

template <class T>
Status set_count(T& out, std::string_view v, std::uint64_t min, std::uint64_t max) {
  auto n = parse_u64(v);
  if (!n.ok() || n.value() < min || n.value() > max) {
    return Error{Errc::invalid_argument, "expected an integer from " + std::to_string(min) + " to " +
                                             std::to_string(max) + ", got '" + std::string(v) + "'"};
  }
  out = static_cast<T>(n.value());
  return ok_status();
}

Status set_seconds(double& out, std::string_view v) {
  auto d = parse_double(v);
  if (!d.ok() || d.value() <= 0)
    return Error{Errc::invalid_argument, "expected seconds > 0, got '" + std::string(v) + "'"};
  out = d.value();
  return ok_status();
}

Status set_choice(std::string& out, std::string_view v, std::initializer_list<std::string_view> choices) {
  std::string list;
  for (auto c : choices) {
    if (v == c) {
      out = std::string(v);
      return ok_status();
    }
    list += list.empty() ? "" : "|";
    list += c;
  }
  return Error{Errc::invalid_argument, "expected " + list + ", got '" + std::string(v) + "'"};
}

Status set_seconds_or_zero(double& out, std::string_view v) {
  auto d = parse_double(v);
  if (!d.ok() || d.value() < 0)
    return Error{Errc::invalid_argument, "expected seconds >= 0, got '" + std::string(v) + "'"};
  out = d.value();
  return ok_status();
}

Status set_endpoint(std::string& out, std::string_view v) {
  auto ep = net::parse_endpoint(v);
  if (!ep.ok()) return ep.error();
  out = std::string(v);
  return ok_status();
}

// The items of a comma-separated list, trimmed, empty ones dropped (a TOML
// array arrives joined with commas too).
std::vector<std::string_view> split_list(std::string_view v) {
  std::vector<std::string_view> items;
  while (!v.empty()) {
    const auto comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) items.push_back(item);
    v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
  }
  return items;
}

// "a:1,b:2"; empty clears it.
Status set_endpoints(std::vector<std::string>& out, std::string_view v) {
  std::vector<std::string> list;
  for (std::string_view item : split_list(v)) {
    auto ep = net::parse_endpoint(item);
    if (!ep.ok()) return ep.error();
    list.emplace_back(item);
  }
  out = std::move(list);
  return ok_status();
}

Status set_text(std::string& out, std::string_view v) {
  if (v.empty()) return Error{Errc::invalid_argument, "must not be empty"};
  out = std::string(v);
  return ok_status();
}

Status set_level(std::string& out, std::string_view v) {
  spdlog::level::level_enum lvl;
  if (!log::parse_level(v, lvl)) {
    return Error{Errc::invalid_argument, "expected trace|debug|info|warn|error|off, got '" + std::string(v) + "'"};
  }
  out = std::string(v);
  return ok_status();
}

// "n2=127.0.0.1:7502,n3=127.0.0.1:7503"; empty clears it.
Status set_peers(std::map<std::string, std::string>& out, std::string_view v) {
  std::map<std::string, std::string> peers;
  for (std::string_view item : split_list(v)) {
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Error{Errc::invalid_argument, "expected ID=HOST:PORT, got '" + std::string(item) + "'"};
    }
    const std::string id(item.substr(0, eq));
    auto ep = net::parse_endpoint(item.substr(eq + 1));
    if (!ep.ok()) return Error{Errc::invalid_argument, "peer " + id + ": " + ep.error().message};
    if (!peers.emplace(id, std::string(item.substr(eq + 1))).second) {
      return Error{Errc::invalid_argument, "peer " + id + " is listed twice"};
    }
  }
  out = std::move(peers);
  return ok_status();
}

std::string join_peers(const std::map<std::string, std::string>& peers) {
  std::string out;
  for (const auto& [id, address] : peers) out += (out.empty() ? "" : ",") + id + "=" + address;
  return out;
}

std::string join_endpoints(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& e : list) out += (out.empty() ? "" : ",") + e;
  return out;
}

// Rules that tie several keys together.
Status check_cluster_keys(const NodeConfig& c) {
  auto bad = [](std::string m) { return Error{Errc::invalid_argument, std::move(m)}; };
  if (!c.join.empty() && c.role != "worker") return bad("cluster.join needs cluster.role worker, not " + c.role);
  if (!c.workers.empty() && c.role != "coordinator") {
    return bad("cluster.workers needs cluster.role coordinator, not " + c.role);
  }
  if (c.test_part_delay_seconds > 0 && c.role != "worker") {
    return bad("cluster.test_part_delay_seconds needs cluster.role worker, not " + c.role);
  }
  if (c.heartbeat_timeout_seconds <= c.heartbeat_interval_seconds) {
    return bad("cluster.heartbeat_timeout_seconds (" + format_double(c.heartbeat_timeout_seconds) +
               ") must be longer than cluster.heartbeat_interval_seconds (" +
               format_double(c.heartbeat_interval_seconds) + ")");
  }
  if (c.raft_election_timeout_ms < 2 * c.raft_heartbeat_ms) {
    return bad("raft.election_timeout_ms (" + std::to_string(c.raft_election_timeout_ms) +
               ") must be at least twice raft.heartbeat_ms (" + std::to_string(c.raft_heartbeat_ms) + ")");
  }
  const bool wildcard = c.host == "0.0.0.0" || c.host == "::" || c.host == "[::]";
  if (wildcard && c.role != "both" && c.advertise.empty()) {
    return bad("node.host " + c.host + " is not an address other nodes can dial; set cluster.advertise HOST:PORT");
  }
  return ok_status();
}

}  // namespace

const std::vector<KeySpec>& node_keys() {
  static const std::vector<KeySpec> keys = {
      {"node.id", "MINGA_ID", "--id", "node id, unique in the cluster",
       [](NodeConfig& c, std::string_view v) { return set_text(c.id, v); }, "NAME",
       [](const NodeConfig& c) { return c.id; }},
      {"node.host", "MINGA_HOST", "--host", "address to bind the client and monitor ports",
       [](NodeConfig& c, std::string_view v) { return set_text(c.host, v); }, "HOST",
       [](const NodeConfig& c) { return c.host; }},
      {"node.port", "MINGA_PORT", "--port", "client port (binary protocol and text mode); 0 = any free port",
       [](NodeConfig& c, std::string_view v) { return set_port(c.port, v); }, "PORT",
       [](const NodeConfig& c) { return std::to_string(c.port); }},
      {"node.monitor_port", "MINGA_MONITOR_PORT", "--monitor-port", "HTTP monitor port; 0 = any free port",
       [](NodeConfig& c, std::string_view v) { return set_port(c.monitor_port, v); }, "PORT",
       [](const NodeConfig& c) { return std::to_string(c.monitor_port); }},
      {"node.api_token_file", "MINGA_API_TOKEN_FILE", "--api-token-file",
       "file holding the token HTTP API writes must send (Authorization: Bearer); without one only a monitor "
       "on loopback takes writes",
       [](NodeConfig& c, std::string_view v) { return set_text(c.api_token_file, v); }, "FILE",
       [](const NodeConfig& c) { return c.api_token_file; }},
      {"node.data_dir", "MINGA_DATA_DIR", "--data-dir", "where the node keeps its durable state",
       [](NodeConfig& c, std::string_view v) { return set_text(c.data_dir, v); }, "DIR",
       [](const NodeConfig& c) { return c.data_dir; }},
      {"node.threads", "MINGA_THREADS", "--threads", "task pool threads; 0 = hardware threads",
       [](NodeConfig& c, std::string_view v) { return set_count(c.threads, v, 0, 1024); }, "N",
       [](const NodeConfig& c) { return std::to_string(c.threads); }},
      {"node.io_threads", "MINGA_IO_THREADS", "--io-threads", "network event-loop threads",
       [](NodeConfig& c, std::string_view v) { return set_count(c.io_threads, v, 1, 64); }, "N",
       [](const NodeConfig& c) { return std::to_string(c.io_threads); }},
      {"node.queue_capacity", "MINGA_QUEUE_CAPACITY", "--queue-capacity",
       "CPU tasks waiting for a thread before new ones get `busy`",
       [](NodeConfig& c, std::string_view v) { return set_count(c.queue_capacity, v, 1, 10'000'000); }, "N",
       [](const NodeConfig& c) { return std::to_string(c.queue_capacity); }},
      {"node.max_waiting_tasks", "MINGA_MAX_WAITING_TASKS", "--max-waiting-tasks",
       "waiting tasks (sleep) at once before new ones get `busy`",
       [](NodeConfig& c, std::string_view v) { return set_count(c.max_waiting_tasks, v, 1, 10'000'000); }, "N",
       [](const NodeConfig& c) { return std::to_string(c.max_waiting_tasks); }},
      {"node.max_connections", "MINGA_MAX_CONNECTIONS", "--max-connections", "open client connections at most",
       [](NodeConfig& c, std::string_view v) { return set_count(c.max_connections, v, 1, 1'000'000); }, "N",
       [](const NodeConfig& c) { return std::to_string(c.max_connections); }},
      {"node.max_frame_bytes", "MINGA_MAX_FRAME_BYTES", "--max-frame-bytes", "largest accepted frame body",
       [](NodeConfig& c, std::string_view v) { return set_count(c.max_frame_bytes, v, 1024, 1u << 30); }, "BYTES",
       [](const NodeConfig& c) { return std::to_string(c.max_frame_bytes); }},
      {"node.read_timeout_seconds", "MINGA_READ_TIMEOUT_SECONDS", "--read-timeout",
       "an idle connection is closed after this many seconds",
       [](NodeConfig& c, std::string_view v) { return set_seconds(c.read_timeout_seconds, v); }, "SECONDS",
       [](const NodeConfig& c) { return format_double(c.read_timeout_seconds); }},
      {"node.write_timeout_seconds", "MINGA_WRITE_TIMEOUT_SECONDS", "--write-timeout",
       "a write to a client that takes longer closes its connection",
       [](NodeConfig& c, std::string_view v) { return set_seconds(c.write_timeout_seconds, v); }, "SECONDS",
       [](const NodeConfig& c) { return format_double(c.write_timeout_seconds); }},
      {"node.drain_timeout_seconds", "MINGA_DRAIN_TIMEOUT_SECONDS", "--drain-timeout",
       "on SIGTERM, how long in-flight tasks may take to finish",
       [](NodeConfig& c, std::string_view v) { return set_seconds(c.drain_timeout_seconds, v); }, "SECONDS",
       [](const NodeConfig& c) { return format_double(c.drain_timeout_seconds); }},
      {"log.level", "MINGA_LOG_LEVEL", "--log-level", "trace|debug|info|warn|error|off",
       [](NodeConfig& c, std::string_view v) { return set_level(c.log_level, v); }, "LEVEL",
       [](const NodeConfig& c) { return c.log_level; }},
      {"log.format", "MINGA_LOG_FORMAT", "--log-format", "text|json",
       [](NodeConfig& c, std::string_view v) {
         return set_choice(c.log_format, v, {"text", "json"});
       },
       "FORMAT", [](const NodeConfig& c) { return c.log_format; }},
      {"cluster.role", "MINGA_ROLE", "--role", "coordinator|worker|both",
       [](NodeConfig& c, std::string_view v) {
         return set_choice(c.role, v, {"coordinator", "worker", "both"});
       },
       "ROLE", [](const NodeConfig& c) { return c.role; }},
      {"cluster.join", "MINGA_JOIN", "--join", "role worker: the coordinator HOST:PORT to report to",
       [](NodeConfig& c, std::string_view v) { return set_endpoint(c.join, v); }, "HOST:PORT",
       [](const NodeConfig& c) { return c.join; }},
      {"cluster.join_wait_seconds", "MINGA_JOIN_WAIT_SECONDS", "--join-wait",
       "role worker: waiting this long for the coordinator is logged as a failure (it keeps trying)",
       [](NodeConfig& c, std::string_view v) { return set_seconds(c.join_wait_seconds, v); }, "SECONDS",
       [](const NodeConfig& c) { return format_double(c.join_wait_seconds); }},
      {"cluster.workers", "MINGA_WORKERS", "--workers", "role coordinator: worker HOST:PORT,... to dial itself",
       [](NodeConfig& c, std::string_view v) { return set_endpoints(c.workers, v); }, "HOST:PORT,...",
       [](const NodeConfig& c) { return join_endpoints(c.workers); }},
      {"cluster.advertise", "MINGA_ADVERTISE", "--advertise",
       "HOST:PORT where other nodes reach this one (default: host and bound port)",
       [](NodeConfig& c, std::string_view v) { return set_endpoint(c.advertise, v); }, "HOST:PORT",
       [](const NodeConfig& c) { return c.advertise; }},
      {"cluster.policy", "MINGA_POLICY", "--policy", "how the coordinator spreads tasks: round-robin|least-loaded",
       [](NodeConfig& c, std::string_view v) -> Status {
         auto p = parse_policy(v);
         if (!p.ok()) return p.error();
         c.policy = std::string(v);
         return ok_status();
       },
       "POLICY", [](const NodeConfig& c) { return c.policy; }},
      {"cluster.heartbeat_interval_seconds", "MINGA_HEARTBEAT_INTERVAL_SECONDS", "--heartbeat-interval",
       "seconds between worker heartbeats (the coordinator's value wins)",
       [](NodeConfig& c, std::string_view v) { return set_seconds(c.heartbeat_interval_seconds, v); }, "SECONDS",
       [](const NodeConfig& c) { return format_double(c.heartbeat_interval_seconds); }},
      {"cluster.heartbeat_timeout_seconds", "MINGA_HEARTBEAT_TIMEOUT_SECONDS", "--heartbeat-timeout",
       "a worker silent for this long is dead and its tasks move",
       [](NodeConfig& c, std::string_view v) { return set_seconds(c.heartbeat_timeout_seconds, v); }, "SECONDS",
       [](const NodeConfig& c) { return format_double(c.heartbeat_timeout_seconds); }},
      {"cluster.task_timeout_seconds", "MINGA_TASK_TIMEOUT_SECONDS", "--task-timeout",
       "a task a worker has not answered within this (plus its own sleep) moves to another worker",
       [](NodeConfig& c, std::string_view v) { return set_seconds(c.task_timeout_seconds, v); }, "SECONDS",
       [](const NodeConfig& c) { return format_double(c.task_timeout_seconds); }},
      {"cluster.max_attempts", "MINGA_MAX_ATTEMPTS", "--max-attempts",
       "workers a task is tried on before it fails with timeout",
       [](NodeConfig& c, std::string_view v) { return set_count(c.max_attempts, v, 1, 100); }, "N",
       [](const NodeConfig& c) { return std::to_string(c.max_attempts); }},
      {"cluster.raft_port", "MINGA_RAFT_PORT", "--raft-port",
       "Raft port (peer links); default the client port + 100, 0 = any free port",
       [](NodeConfig& c, std::string_view v) -> Status {
         std::uint16_t p = 0;
         if (auto st = set_port(p, v); !st.ok()) return st;
         c.raft_port = p;
         return ok_status();
       },
       "PORT", [](const NodeConfig& c) { return c.raft_port < 0 ? std::string() : std::to_string(c.raft_port); }},
      {"cluster.peers", "MINGA_PEERS", "--peers",
       "the other voters of a new cluster, ID=HOST:RAFT_PORT,... (read on the first start)",
       [](NodeConfig& c, std::string_view v) { return set_peers(c.peers, v); }, "ID=HOST:PORT,...",
       [](const NodeConfig& c) { return join_peers(c.peers); }},
      {"cluster.state", "MINGA_CLUSTER_STATE", "--cluster-state",
       "new: the first start bootstraps a cluster from --peers; existing: join a running cluster once "
       "`minga cluster add` names this node",
       [](NodeConfig& c, std::string_view v) {
         return set_choice(c.cluster_state, v, {"new", "existing"});
       },
       "STATE", [](const NodeConfig& c) { return c.cluster_state; }},
      {"cluster.secret_file", "MINGA_CLUSTER_SECRET_FILE", "--cluster-secret-file",
       "file holding the secret peers prove to each other; without one the Raft port binds to 127.0.0.1",
       [](NodeConfig& c, std::string_view v) { return set_text(c.cluster_secret_file, v); }, "FILE",
       [](const NodeConfig& c) { return c.cluster_secret_file; }},
      {"raft.heartbeat_ms", "MINGA_RAFT_HEARTBEAT_MS", "--raft-heartbeat-ms",
       "leader heartbeat interval (also the tick of Raft's clock)",
       [](NodeConfig& c, std::string_view v) { return set_count(c.raft_heartbeat_ms, v, 5, 10000); }, "MS",
       [](const NodeConfig& c) { return std::to_string(c.raft_heartbeat_ms); }},
      {"raft.election_timeout_ms", "MINGA_RAFT_ELECTION_TIMEOUT_MS", "--raft-election-timeout-ms",
       "a follower that hears no leader for a random time in [t, 2t) starts an election",
       [](NodeConfig& c, std::string_view v) { return set_count(c.raft_election_timeout_ms, v, 20, 60000); }, "MS",
       [](const NodeConfig& c) { return std::to_string(c.raft_election_timeout_ms); }},
      {"raft.snapshot_entries", "MINGA_RAFT_SNAPSHOT_ENTRIES", "--raft-snapshot-entries",
       "snapshot the apps' state and compact the log after at least this many applied entries (and a log as large as "
       "the last snapshot)",
       [](NodeConfig& c, std::string_view v) { return set_count(c.raft_snapshot_entries, v, 2, 1'000'000'000); }, "N",
       [](const NodeConfig& c) { return std::to_string(c.raft_snapshot_entries); }},
      {"cluster.test_part_delay_seconds", "MINGA_TEST_PART_DELAY_SECONDS", "--test-part-delay",
       "TEST ONLY: a worker waits this long before each sumsq part",
       [](NodeConfig& c, std::string_view v) { return set_seconds_or_zero(c.test_part_delay_seconds, v); }, "SECONDS",
       [](const NodeConfig& c) { return format_double(c.test_part_delay_seconds); }},
  };
  return keys;
}

Result<NodeConfig> load_node_config(const ConfigSources& sources) {
  auto settings = SourceSettings::parse(sources);
  if (!settings.ok()) return settings.error();
  NodeConfig config;
  for (const KeySpec& key : node_keys()) {
    std::optional<std::string> value;
    std::string origin;
    if (auto it = sources.flags.find(key.flag); !key.flag.empty() && it != sources.flags.end()) {
      value = it->second;
      origin = "flag " + key.flag;
    } else if (auto v = settings->get(key.file_key, key.env)) {
      value = *v;
      origin = (sources.env && sources.env(key.env)) ? "environment " + key.env : "file key " + key.file_key;
    }
    if (!value) continue;
    if (auto st = key.apply(config, *value); !st.ok()) {
      return Error{Errc::invalid_argument, origin + ": " + st.error().message};
    }
  }
  if (config.threads == 0) config.threads = std::max(1u, std::thread::hardware_concurrency());
  if (auto st = check_cluster_keys(config); !st.ok()) return st.error();
  return config;
}

Status check_no_unknown_keys(const SourceSettings& settings) {
  return settings.check_no_unknown_keys([](std::string_view key) {
    const auto& keys = node_keys();
    return std::any_of(keys.begin(), keys.end(), [&](const KeySpec& k) { return k.file_key == key; });
  });
}

std::chrono::milliseconds to_millis(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
}

}  // namespace minga::cluster
