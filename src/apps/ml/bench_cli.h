// `minga bench ml`: the 784-256-128-10 MLP on Fashion-MNIST with Adam, batch
// 64; prints seconds per epoch and test accuracy.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace minga::ml {

void add_bench_cli(CLI::App& bench, std::function<int()>& action);

}  // namespace minga::ml
