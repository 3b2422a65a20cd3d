// The composition root: the one place that knows the network server, the
// monitor, the task pool, the runner and every app, and wires them.
#pragma once

#include <memory>

#include "cluster/config.h"

namespace minga::cluster {

class Node {
 public:
  Node(NodeConfig config, SourceSettings settings);
  ~Node();
  // Starts everything and serves until SIGTERM/SIGINT; returns the exit code
  // (0; 2 for an unknown key in the configuration file; 1 for other failures).
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace minga::cluster
