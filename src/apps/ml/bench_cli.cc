#include "apps/ml/bench_cli.h"

#include <chrono>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "apps/ml/dataset.h"
#include "apps/ml/trainer.h"

namespace minga::ml {
namespace {

struct BenchFlags {
  unsigned epochs = 5;
  unsigned threads = 2;
  std::uint64_t seed = 1;
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
};

int run_bench(const BenchFlags& f) {
  auto path = [&](const char* name) { return f.data_dir + "/" + name; };
  auto train = load_idx(path("train-images-idx3-ubyte.gz"), path("train-labels-idx1-ubyte.gz"));
  if (!train) {
    std::cerr << "minga: " << train.error().message << "\n";
    return 1;
  }
  auto test = load_idx(path("t10k-images-idx3-ubyte.gz"), path("t10k-labels-idx1-ubyte.gz"));
  if (!test) {
    std::cerr << "minga: " << test.error().message << "\n";
    return 1;
  }
  TrainConfig config;
  config.threads = f.threads;
  if (auto st = validate(config); !st) {
    std::cerr << "minga: " << st.error().message << "\n";
    return 1;
  }
  Random rng(f.seed);
  Trainer trainer(Model::he_init(Architecture{{784, 256, 128, 10}}, rng), config);
  std::cout << fmt::format("ml: 784-256-128-10, Adam lr 0.001, batch 64, {} threads, {} train / {} test rows\n",
                           f.threads, train->rows, test->rows);
  double total = 0;
  for (unsigned e = 1; e <= f.epochs; ++e) {
    auto t0 = std::chrono::steady_clock::now();
    auto stats = trainer.train_epoch(train.value(), rng);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    total += secs;
    auto ev = trainer.evaluate(test.value());
    std::cout << fmt::format("epoch {}: {:.3f} s, train loss {:.4f}, test loss {:.4f}, test accuracy {:.2f}%\n", e,
                             secs, stats.mean_loss, ev.mean_loss, 100.0 * ev.accuracy);
  }
  auto ev = trainer.evaluate(test.value());
  std::cout << fmt::format("ml: {:.3f} s/epoch (mean of {}), test accuracy {:.2f}%\n", total / f.epochs, f.epochs,
                           100.0 * ev.accuracy);
  return 0;
}

}  // namespace

void add_bench_cli(CLI::App& bench, std::function<int()>& action) {
  auto f = std::make_shared<BenchFlags>();
  auto* cmd = bench.add_subcommand("ml", "train the 784-256-128-10 MLP on Fashion-MNIST; seconds/epoch, accuracy");
  cmd->add_option("--epochs", f->epochs, "epochs to train")->check(CLI::Range(1u, 1000u))->capture_default_str();
  cmd->add_option("--threads", f->threads, "threads (each takes a slice of every batch)")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "seed of the initial weights and the shuffle")->capture_default_str();
  cmd->add_option("--data-dir", f->data_dir, "directory with the four Fashion-MNIST .gz IDX files")
      ->capture_default_str();
  cmd->callback([f, &action] { action = [f] { return run_bench(*f); }; });
}

}  // namespace minga::ml
