// `minga bench lottery`: agencies against a fresh local node, durable bets/s
// and the time from the first batch to the last agency's winners.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace minga::client {
struct ClientOptions;
}

namespace minga::lottery {

void add_bench_cli(CLI::App& bench, client::ClientOptions& options, std::function<int()>& action);

}  // namespace minga::lottery
