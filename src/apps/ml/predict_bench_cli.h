// `minga bench predict`: requests/s and p50/p99 latency of predictions of a
// ready model, one connection then many (docs/ml.md, docs/benchmarks.md).
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace minga::client {
struct ClientOptions;
}

namespace minga::ml {

void add_predict_bench_cli(CLI::App& bench, client::ClientOptions& options, std::function<int()>& action);

}  // namespace minga::ml
