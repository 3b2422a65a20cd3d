// The deterministic simulator. One seed drives one generator that decides
// everything: message delays, losses, duplicates, partitions, crashes,
// clock rates, client requests and membership changes. The same options
// always produce the same run, step for step, and the same output.
//
// A step is one unit of simulated time; a node's clock ticks 0.7 to 1.3 times
// per step. Within a step: faults, clients, message deliveries, fsync
// completions, ticks; the checkers run after every single event. After
// `steps` chaotic steps every fault heals and the cluster must complete new
// client work within `liveness_steps` (liveness). At the end the client
// history is checked for linearizability.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "raft/config.h"

namespace minga::sim {

struct SimOptions {
  std::uint64_t seed = 1;
  std::size_t nodes = 3;
  std::uint64_t steps = 2000;
  std::uint64_t liveness_steps = 600;
  raft::TestingBugs bugs;
  // A driver bug: acknowledge a batch without its fsync (the durability
  // check on every crash must catch it).
  bool ack_before_sync = false;
  // A driver bug: answer a read from the node's own applied state, without
  // ReadIndex (the linearizability check of the history must catch it).
  bool read_without_read_index = false;
};

struct SimStats {
  std::uint64_t committed = 0;
  std::uint64_t max_term = 0;
  std::uint64_t crashes = 0;
  std::uint64_t disk_faults = 0;  // nodes stopped by an injected I/O error
  std::uint64_t torn_writes = 0;  // crashes that left a torn tail on disk
  std::uint64_t partitions = 0;
  std::uint64_t one_way_partitions = 0;
  std::uint64_t messages_dropped = 0;
  std::uint64_t messages_duplicated = 0;
  std::uint64_t snapshots_installed = 0;  // sent by a leader to a follower that fell behind
  std::uint64_t transfers = 0;            // leadership transfers requested
  std::uint64_t membership_changes = 0;
  std::uint64_t replacements = 0;  // a removed server came back as a new one, empty disk
  std::uint64_t ops_done = 0;
  std::uint64_t ops_unknown = 0;
  std::uint64_t messages = 0;

  // Totals over several runs (max_term: the highest).
  SimStats& operator+=(const SimStats& o);
};

struct SimResult {
  bool ok = true;
  std::string violation;   // empty when ok
  std::uint64_t step = 0;  // where the violation was found
  SimStats stats;
};

// Runs one simulation. When `trace` is given, every event is written to it.
SimResult run_simulation(const SimOptions& options, std::ostream* trace = nullptr);

// "--bug" names, for the command line and test names.
bool parse_bug(const std::string& name, SimOptions& options);
std::string bug_names(const SimOptions& options);

}  // namespace minga::sim
