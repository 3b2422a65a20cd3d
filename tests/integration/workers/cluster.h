// A coordinator and N workers as real `minga node` processes on 127.0.0.1
// with ephemeral ports, plus binary-protocol helpers to inspect them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness.h"
#include "net/client.h"
#include "proto/cluster.pb.h"
#include "proto/minga.pb.h"

namespace minga::testing {

class Cluster {
 public:
  // A coordinator (id "coord") and workers w1..wN that join it (2 threads
  // each unless `worker_args` says --threads), all live when this returns.
  static std::unique_ptr<Cluster> start(int workers, std::vector<std::string> coordinator_args = {},
                                        std::vector<std::string> worker_args = {});

  // Starts worker `id` joining the coordinator (replacing a stopped one of
  // the same id) and returns it; does not wait for it to be live.
  NodeProcess& start_worker(const std::string& id, std::vector<std::string> extra = {});
  NodeProcess& worker(const std::string& id);
  NodeProcess& coordinator() { return coordinator_; }
  const std::string& address() const { return coordinator_.address(); }

  // `minga --server <coordinator> ARGS...`
  RunResult minga(std::vector<std::string> args, std::chrono::milliseconds timeout = 20s) const;
  // Spawns the same without waiting.
  Process spawn_minga(std::vector<std::string> args) const;

  pb::WorkersResponse workers() const;
  std::string state_of(const std::string& id) const;
  // Polls until exactly `n` workers are live; false on timeout.
  bool wait_live(std::size_t n, std::chrono::milliseconds timeout = 10s) const;
  // Polls until worker `id` is in `state`; false on timeout.
  bool wait_state(const std::string& id, const std::string& state, std::chrono::milliseconds timeout = 10s) const;

 private:
  NodeProcess coordinator_;
  std::vector<std::pair<std::string, std::unique_ptr<NodeProcess>>> workers_;
  std::vector<std::string> worker_args_;
};

// One call on the binary protocol; errors come back as Error.
template <class Response>
Result<Response> call(const std::string& address, std::uint32_t type, const google::protobuf::MessageLite& req,
                      std::uint32_t answer_type) {
  auto ep = net::parse_endpoint(address);
  if (!ep.ok()) return ep.error();
  auto c = net::Client::connect(ep.value(), 5s);
  if (!c.ok()) return c.error();
  return c->call<Response>(type, req, answer_type, 20s);
}

// The parts of a sumsq JSON answer: a, b, result, worker, reassigned_from.
struct PartLine {
  std::string a, b, result, worker, reassigned_from;
};
std::vector<PartLine> parse_parts(const std::string& json);

}  // namespace minga::testing
