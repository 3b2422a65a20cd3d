// minga-sim: runs the deterministic Raft simulator.
//
//   minga-sim [--seed N] [--runs N] [--steps K] [--nodes 3|5] [--bug NAME] [--trace]
//
// Runs seeds N..N+runs-1 (each with --nodes, or alternating 3 and 5 nodes
// when --nodes is not given). Prints one line per failing seed with the
// command that replays it, and a summary. The output depends only on the
// arguments. Exit code 0 only when every checker held in every run.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "sim/simulation.h"

namespace {

bool parse_u64(const char* s, std::uint64_t& out) {
  if (s == nullptr || *s == '\0') return false;
  char* end = nullptr;
  out = std::strtoull(s, &end, 10);
  return *end == '\0';
}

int usage() {
  std::fprintf(stderr,
               "usage: minga-sim [--seed N] [--runs N] [--steps K] [--nodes 3|5] [--trace]\n"
               "                 [--bug commit-by-counting|vote-without-log-check|vote-before-persist|"
               "apply-before-commit|ack-before-sync|read-without-read-index]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using minga::sim::SimOptions;
  SimOptions base;
  std::uint64_t runs = 1;
  std::uint64_t nodes = 0;  // 0: alternate 3 and 5
  bool trace = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--trace") {
      trace = true;
      continue;
    }
    std::uint64_t n = 0;
    if (a == "--seed" && parse_u64(v, n)) {
      base.seed = n;
    } else if (a == "--runs" && parse_u64(v, n) && n > 0) {
      runs = n;
    } else if (a == "--steps" && parse_u64(v, n) && n > 0) {
      base.steps = n;
    } else if (a == "--nodes" && parse_u64(v, n) && n >= 1 && n <= 9) {
      nodes = n;
    } else if (a == "--bug" && v != nullptr && minga::sim::parse_bug(v, base)) {
    } else {
      return usage();
    }
    ++i;
  }
  std::uint64_t failures = 0;
  std::uint64_t committed = 0;
  std::uint64_t ops = 0;
  for (std::uint64_t r = 0; r < runs; ++r) {
    SimOptions opt = base;
    opt.seed = base.seed + r;
    opt.nodes = nodes != 0 ? nodes : (opt.seed % 2 == 0 ? 5 : 3);
    auto result = minga::sim::run_simulation(opt, trace ? &std::cout : nullptr);
    committed += result.stats.committed;
    ops += result.stats.ops_done;
    if (runs == 1 || !result.ok) {
      const auto& s = result.stats;
      std::cout << "seed=" << opt.seed << " nodes=" << opt.nodes << " steps=" << opt.steps
                << (result.ok ? " ok" : " FAIL") << " committed=" << s.committed << " max_term=" << s.max_term
                << " crashes=" << s.crashes << " disk_faults=" << s.disk_faults << " torn_writes=" << s.torn_writes
                << " partitions=" << s.partitions << " membership_changes=" << s.membership_changes
                << " ops=" << s.ops_done << " unknown_appends=" << s.ops_unknown << " messages=" << s.messages << "\n";
    }
    if (!result.ok) {
      ++failures;
      const std::string bugs = minga::sim::bug_names(opt);
      std::cout << "  violation at step " << result.step << ": " << result.violation << "\n"
                << "  replay: ./build/release/minga-sim --seed " << opt.seed << " --steps " << opt.steps << " --nodes "
                << opt.nodes << (bugs.empty() ? "" : " --bug " + bugs) << " --trace\n";
    }
  }
  std::cout << "runs=" << runs << " failed=" << failures << " committed=" << committed << " ops=" << ops << "\n";
  return failures == 0 ? 0 : 1;
}
