#include "cli/cluster_admin.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <CLI/CLI.hpp>

#include "base/number.h"
#include "proto/raft.pb.h"

namespace minga::cli {

using namespace minga::client;  // the client layer, which the subcommands use throughout

namespace {

int run_status(const ClientOptions& options) {
  auto r = call_cluster<pb::ClusterStatusResponse>(options, pb::CLUSTER_STATUS_REQUEST, pb::ClusterStatusRequest{},
                                                   pb::CLUSTER_STATUS_RESPONSE, true);
  if (!r.ok()) return report(options, r.error());
  // Only the leader knows every member's progress: ask it when it is known.
  if (r->role() != "leader" && !r->leader_address().empty()) {
    ClientOptions at_leader = options;
    at_leader.server = r->leader_address();
    auto lr = call_cluster<pb::ClusterStatusResponse>(at_leader, pb::CLUSTER_STATUS_REQUEST, pb::ClusterStatusRequest{},
                                                      pb::CLUSTER_STATUS_RESPONSE, true);
    if (lr.ok() && lr->role() == "leader") r = std::move(lr);
  }
  std::sort(r->mutable_members()->begin(), r->mutable_members()->end(),
            [](const pb::MemberStatus& a, const pb::MemberStatus& b) { return a.id() < b.id(); });
  if (options.json()) {
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    o.always_print_primitive_fields = true;
    std::string body;
    (void)google::protobuf::util::MessageToJsonString(r.value(), &body, o);
    std::cout << R"({"ok":true,)" << body.substr(1) << std::endl;
    return kExitOk;
  }
  const auto& s = r.value();
  std::cout << "answered by " << s.id() << " (" << s.role() << "), term " << s.term() << ", leader "
            << (s.leader().empty() ? "unknown"
                                   : s.leader() + (s.leader_address().empty() ? "" : " at " + s.leader_address()))
            << "\n";
  std::cout << "commit " << s.commit_index() << ", applied " << s.applied_index() << ", last " << s.last_index()
            << ", snapshot " << s.snapshot_index() << "\n";
  std::vector<std::vector<std::string>> rows = {
      {"ID", "ROLE", "VOTER", "CLIENT", "RAFT", "MATCH", "LAG", "LAST CONTACT", "LINK"}};
  for (const auto& m : s.members()) {
    const bool leader_view = s.role() == "leader";
    rows.push_back(
        {m.id(), m.role(), m.voter() ? "voter" : "learner", m.client_address().empty() ? "-" : m.client_address(),
         m.raft_address(), leader_view ? std::to_string(m.match_index()) : "-",
         leader_view ? std::to_string(m.lag_entries()) : "-",
         m.id() == s.id()               ? "-"
         : m.last_contact_seconds() < 0 ? "never"
                                        : format_double(std::round(m.last_contact_seconds() * 1000) / 1000) + " s",
         m.id() == s.id() ? "-"
         : m.link_up()    ? "up"
                          : "down"});
  }
  print_table(rows);
  std::cout << "the cluster can lose " << s.can_lose() << " more voter" << (s.can_lose() == 1 ? "" : "s")
            << " and keep committing" << std::endl;
  return kExitOk;
}

// add, remove, transfer: sent to the leader, found through --server.
int run_change(const ClientOptions& options, pb::ClusterChangeRequest::Op op, const std::string& id,
               const std::string& raft_address) {
  auto s = call_cluster<pb::ClusterStatusResponse>(options, pb::CLUSTER_STATUS_REQUEST, pb::ClusterStatusRequest{},
                                                   pb::CLUSTER_STATUS_RESPONSE, true);
  if (!s.ok()) return report(options, s.error());
  ClientOptions at_leader = options;
  if (s->role() != "leader") {
    if (s->leader_address().empty()) {
      return report(options, Error{Errc::not_leader, "no leader is known now (an election?); retry"});
    }
    at_leader.server = s->leader_address();
  }
  pb::ClusterChangeRequest req;
  req.set_op(op);
  req.set_id(id);
  req.set_raft_address(raft_address);
  auto r =
      call_cluster<pb::ClusterChangeResponse>(at_leader, pb::CLUSTER_CHANGE_REQUEST, req, pb::CLUSTER_CHANGE_RESPONSE);
  if (!r.ok()) return report(options, r.error());
  const char* what = op == pb::ClusterChangeRequest::ADD      ? "added as a learner (promoted to voter once caught up)"
                     : op == pb::ClusterChangeRequest::REMOVE ? "removed"
                                                              : "asked to take over the leadership";
  if (options.json()) {
    std::cout << R"({"ok":true,"id":")" << id << R"(","index":)" << r->index() << "}" << std::endl;
  } else {
    std::cout << id << " " << what << (r->index() > 0 ? " at log index " + std::to_string(r->index()) : "")
              << std::endl;
  }
  return kExitOk;
}

// --- cluster up: a local cluster of child processes
volatile sig_atomic_t g_stop_signal = 0;
void on_stop_signal(int signo) { g_stop_signal = signo; }

struct UpOptions {
  unsigned nodes = 3;
  std::string data_dir = "./minga-cluster";
  unsigned base_port = 7400;
  std::vector<std::string> extra;  // passed to every node
};

int run_up(const UpOptions& up) {
  if (up.nodes < 1 || up.nodes > 9) {
    std::cerr << "error: --nodes must be from 1 to 9" << std::endl;
    return kExitUsage;
  }
  if (up.base_port < 1024 || up.base_port + 100 + up.nodes > 65535) {
    std::cerr << "error: --base-port must leave room for the client, monitor and Raft ports (1024..65000)" << std::endl;
    return kExitUsage;
  }
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::cerr << "error: cannot find the minga binary: " << std::strerror(errno) << std::endl;
    return kExitServerError;
  }
  self[n] = '\0';
  struct Node {
    std::string id;
    unsigned client, raft, monitor;
    std::string dir;
    pid_t pid = -1;
  };
  std::vector<Node> nodes;
  for (unsigned i = 1; i <= up.nodes; ++i) {
    nodes.push_back({"n" + std::to_string(i), up.base_port + i, up.base_port + 100 + i, up.base_port + 80 + i,
                     (std::filesystem::path(up.data_dir) / ("n" + std::to_string(i))).string()});
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  for (auto& node : nodes) {
    std::string peers;
    for (const auto& other : nodes) {
      if (other.id == node.id) continue;
      peers += (peers.empty() ? "" : ",") + other.id + "=127.0.0.1:" + std::to_string(other.raft);
    }
    std::vector<std::string> args = {self,
                                     "node",
                                     "--id",
                                     node.id,
                                     "--port",
                                     std::to_string(node.client),
                                     "--raft-port",
                                     std::to_string(node.raft),
                                     "--monitor-port",
                                     std::to_string(node.monitor),
                                     "--data-dir",
                                     node.dir};
    if (!peers.empty()) {
      args.push_back("--peers");
      args.push_back(peers);
    }
    args.insert(args.end(), up.extra.begin(), up.extra.end());
    std::error_code ec;
    std::filesystem::create_directories(node.dir, ec);
    const pid_t pid = ::fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(self, argv.data());
      std::_Exit(127);
    }
    node.pid = pid;
  }
  std::cout << "minga: a local cluster of " << up.nodes << " node" << (up.nodes == 1 ? "" : "s")
            << " (Ctrl-C stops it)\n";
  print_table([&] {
    std::vector<std::vector<std::string>> rows = {{"ID", "PID", "CLIENT", "RAFT", "MONITOR", "DATA"}};
    for (const auto& node : nodes) {
      rows.push_back({node.id, std::to_string(node.pid), "127.0.0.1:" + std::to_string(node.client),
                      "127.0.0.1:" + std::to_string(node.raft),
                      "http://127.0.0.1:" + std::to_string(node.monitor) + "/", node.dir});
    }
    return rows;
  }());
  std::string all;
  for (const auto& node : nodes) all += (all.empty() ? "" : ",") + ("127.0.0.1:" + std::to_string(node.client));
  std::cout << "try: minga --server " << all << " records add hello" << std::endl;
  std::size_t alive = nodes.size();
  while (g_stop_signal == 0 && alive > 0) {
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      for (auto& node : nodes) {
        if (node.pid != done) continue;
        std::cerr << "minga: node " << node.id << " (pid " << done << ") exited "
                  << (WIFEXITED(status) ? "with code " + std::to_string(WEXITSTATUS(status))
                                        : "on signal " + std::to_string(WTERMSIG(status)))
                  << std::endl;
        node.pid = -1;
        --alive;
      }
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (const auto& node : nodes) {
    if (node.pid > 0) ::kill(node.pid, SIGTERM);
  }
  int code = g_stop_signal != 0 ? kExitOk : kExitServerError;
  for (auto& node : nodes) {
    if (node.pid <= 0) continue;
    int status = 0;
    ::waitpid(node.pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) code = kExitServerError;
  }
  std::cout << "minga: the cluster stopped" << std::endl;
  return code;
}

}  // namespace

void add_cluster_admin_commands(CLI::App& root, ClientOptions& options, std::function<int()>& action) {
  auto* cluster = root.add_subcommand("cluster", "the replicated cluster: status of its members, a local cluster");
  cluster->require_subcommand(1);
  cluster
      ->add_subcommand("status",
                       "per member: role, voter, addresses, match index and lag (on the leader), last contact; "
                       "and how many more voters the cluster can lose")
      ->callback([&options, &action] { action = [&options] { return run_status(options); }; });

  auto id = std::make_shared<std::string>();
  auto address = std::make_shared<std::string>();
  auto* add = cluster->add_subcommand(
      "add", "add a member (started with --cluster-state existing): a learner until it catches up, then a voter");
  add->add_option("id", *id, "the new member's id (its --id)")->required();
  add->add_option("raft_address", *address, "HOST:PORT of its Raft port")->required();
  add->callback([&options, &action, id, address] {
    action = [&options, id, address] { return run_change(options, pb::ClusterChangeRequest::ADD, *id, *address); };
  });
  auto* remove = cluster->add_subcommand("remove", "remove a member (the leader too: it steps down once committed)");
  remove->add_option("id", *id, "the member's id")->required();
  remove->callback([&options, &action, id] {
    action = [&options, id] { return run_change(options, pb::ClusterChangeRequest::REMOVE, *id, ""); };
  });
  auto* transfer = cluster->add_subcommand("transfer", "hand the leadership to a voter");
  transfer->add_option("id", *id, "the voter that should lead")->required();
  transfer->callback([&options, &action, id] {
    action = [&options, id] { return run_change(options, pb::ClusterChangeRequest::TRANSFER, *id, ""); };
  });

  auto up = std::make_shared<UpOptions>();
  auto* upc = cluster->add_subcommand(
      "up", "start a local cluster of N nodes as child processes (n1..nN) and stop them all on Ctrl-C or SIGTERM");
  upc->add_option("--nodes", up->nodes, "how many nodes (1-9)")->capture_default_str();
  upc->add_option("--data-dir", up->data_dir, "each node keeps its data in DIR/nI")->capture_default_str();
  upc->add_option("--base-port", up->base_port, "node I listens on client port P+I, monitor P+80+I, Raft P+100+I")
      ->capture_default_str();
  upc->add_option("--node-arg", up->extra, "an extra argument for every node (repeat it)");
  upc->callback([&action, up] { action = [up] { return run_up(*up); }; });
}

}  // namespace minga::cli
