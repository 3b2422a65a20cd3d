// `minga bench files`: durable replicated puts of random files, then every
// file read back and its sha256 checked (docs/benchmarks.md).
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace minga::client {
struct ClientOptions;
}

namespace minga::files {

void add_bench_cli(CLI::App& bench, client::ClientOptions& options, std::function<int()>& action);

}  // namespace minga::files
