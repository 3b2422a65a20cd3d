// The training core: mini-batch SGD (with momentum) or Adam on softmax
// cross-entropy, pure and deterministic.
//
// Threading: each of `threads` threads runs the forward and backward pass of
// a contiguous slice of the batch, then computes the whole batch's gradient
// of the parameter rows it owns and updates them (docs/ml.md has the
// measurements behind this). One seed and one thread count give
// byte-identical weights; another thread count splits the work differently
// and gives slightly different floats.
//
// For data-parallel training elsewhere: compute_gradient on a shard, average
// the Gradients of several trainers (average_gradients), apply_gradient on each.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "apps/ml/dataset.h"
#include "apps/ml/model.h"
#include "base/random.h"

namespace minga {
class ThreadPool;
}

namespace minga::ml {

enum class Optimizer { sgd, adam };

struct TrainConfig {
  Optimizer optimizer = Optimizer::adam;
  float learning_rate = 0.001f;
  float momentum = 0.9f;  // SGD only
  float beta1 = 0.9f;     // Adam only
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
  std::uint32_t batch_size = 64;
  unsigned threads = 1;  // >= 1; bounds the threads used
};

Status validate(const TrainConfig& config);

// The mean gradient of the loss over `samples` examples, flat like Model::parameters.
struct Gradient {
  std::vector<float> values;
  double loss_sum = 0;  // sum of per-example losses
  std::size_t samples = 0;
};

// Sample-weighted mean of gradients from several trainers.
Result<Gradient> average_gradients(std::span<const Gradient> gradients);

struct EpochStats {
  double mean_loss = 0;
  std::size_t steps = 0;
};

// The optimizer's state: SGD's velocity or Adam's first moment (m1), Adam's
// second moment (m2, empty for SGD), one per parameter, and the steps taken
// (Adam's bias correction).
struct OptimizerState {
  std::vector<float> m1, m2;
  std::uint64_t steps = 0;
};

struct Evaluation {
  double mean_loss = 0;
  double accuracy = 0;  // fraction of rows whose largest logit is the label
};

class Trainer {
 public:
  // `model` must be valid; config.threads - 1 pool threads are started when threads > 1.
  Trainer(Model model, TrainConfig config);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // One pass over `data` in an order shuffled with `rng`, batch by batch.
  EpochStats train_epoch(const Dataset& data, Random& rng);
  // Batches over the given rows of `data`, in that order; the last batch may be short.
  EpochStats train_rows(const Dataset& data, std::span<const std::uint32_t> rows);

  // The data-parallel pieces: the mean gradient over `rows`, and one optimizer step with it.
  Gradient compute_gradient(const Dataset& data, std::span<const std::uint32_t> rows);
  void apply_gradient(const Gradient& gradient);

  Evaluation evaluate(const Dataset& data);

  const Model& model() const { return model_; }
  // Replaces the weights (e.g. with an average of several trainers'); optimizer state is kept.
  Status set_parameters(std::span<const float> parameters);
  const TrainConfig& config() const { return config_; }
  // A copy of the optimizer state, and its replacement (sizes must match the
  // model and the optimizer: m2 empty for SGD).
  OptimizerState optimizer_state() const;
  Status set_optimizer_state(const OptimizerState& state);

 private:
  struct Impl;
  Model model_;
  TrainConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace minga::ml
