#include "apps/ml/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

namespace minga::ml {
namespace {

// `rows` points in `features` dimensions; the label is the quadrant of the first two features.
Dataset blobs(std::size_t rows, std::size_t features, std::uint64_t seed) {
  Random rng(seed);
  Dataset d;
  d.rows = rows;
  d.features = features;
  d.classes = 4;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t f = 0; f < features; ++f) {
      d.x.push_back(static_cast<float>(static_cast<double>(rng.uniform(0, 2000)) / 1000.0 - 1.0));
    }
    float a = d.x[r * features], b = d.x[r * features + 1];
    d.y.push_back((a > 0 ? 1u : 0u) + (b > 0 ? 2u : 0u));
  }
  return d;
}

std::vector<std::uint32_t> all_rows(const Dataset& d) {
  std::vector<std::uint32_t> rows(d.rows);
  std::iota(rows.begin(), rows.end(), 0u);
  return rows;
}

Model model_for(const Architecture& arch, std::uint64_t seed) {
  Random rng(seed);
  return Model::he_init(arch, rng);
}

TrainConfig config(std::uint32_t batch, unsigned threads = 1, Optimizer opt = Optimizer::adam, float lr = 0.001f) {
  TrainConfig c;
  c.batch_size = batch;
  c.threads = threads;
  c.optimizer = opt;
  c.learning_rate = lr;
  return c;
}

double mean_loss(Trainer& t, const Dataset& d) { return t.evaluate(d).mean_loss; }

TEST(MlTrainer, GradientMatchesFiniteDifferences) {
  Dataset d = blobs(7, 5, 3);
  Architecture arch{{5, 6, 4, 4}};
  for (unsigned threads : {1u, 3u}) {
    Trainer t(model_for(arch, 11), config(4, threads));
    auto rows = all_rows(d);
    Gradient g = t.compute_gradient(d, rows);
    EXPECT_EQ(g.samples, 7u);
    EXPECT_NEAR(g.loss_sum / 7, mean_loss(t, d), 1e-5);
    FloatVector p = t.model().parameters;
    const float h = 1e-3f;
    for (std::size_t i = 0; i < p.size(); ++i) {
      FloatVector q = p;
      q[i] = p[i] + h;
      ASSERT_TRUE(t.set_parameters(q).ok());
      double up = mean_loss(t, d);
      q[i] = p[i] - h;
      ASSERT_TRUE(t.set_parameters(q).ok());
      double down = mean_loss(t, d);
      double numeric = (up - down) / (2.0 * h);
      EXPECT_NEAR(g.values[i], numeric, 2e-3 + 2e-2 * std::abs(numeric)) << "parameter " << i << " threads " << threads;
    }
  }
}

TEST(MlTrainer, LossFallsOnATinySetWithAdamAndWithSgd) {
  Dataset d = blobs(64, 2, 5);
  for (auto opt : {Optimizer::adam, Optimizer::sgd}) {
    Trainer t(model_for(Architecture{{2, 16, 4}}, 1), config(8, 1, opt, opt == Optimizer::adam ? 0.01f : 0.05f));
    double before = mean_loss(t, d);
    Random rng(2);
    for (int e = 0; e < 200; ++e) t.train_epoch(d, rng);
    auto ev = t.evaluate(d);
    EXPECT_LT(ev.mean_loss, before / 4) << "optimizer " << static_cast<int>(opt);
    EXPECT_GE(ev.accuracy, 0.95);
  }
}

std::string train_bytes(std::uint64_t seed, unsigned threads, Optimizer opt) {
  Dataset d = blobs(300, 6, 9);
  Trainer t(model_for(Architecture{{6, 32, 16, 4}}, seed), config(16, threads, opt, 0.01f));
  Random rng(seed);
  for (int e = 0; e < 3; ++e) t.train_epoch(d, rng);
  return t.model().serialize();
}

TEST(MlTrainer, OneSeedAndOneThreadCountGiveByteIdenticalWeights) {
  for (unsigned threads : {1u, 2u, 3u}) {
    for (auto opt : {Optimizer::adam, Optimizer::sgd}) {
      EXPECT_EQ(train_bytes(7, threads, opt), train_bytes(7, threads, opt)) << threads;
    }
  }
  EXPECT_NE(train_bytes(7, 1, Optimizer::adam), train_bytes(8, 1, Optimizer::adam));
}

// A trainer given another's weights and optimizer state goes on exactly as the other does.
TEST(MlTrainer, TheOptimizerStateCarriesTheOptimisationOver) {
  const Dataset d = blobs(256, 6, 3);
  const Architecture arch{{6, 16, 4}};
  const auto rows = all_rows(d);
  const std::span<const std::uint32_t> first(rows.data(), 128), second(rows.data() + 128, 128);
  for (auto opt : {Optimizer::adam, Optimizer::sgd}) {
    Trainer a(model_for(arch, 5), config(32, 1, opt, 0.01f));
    a.train_rows(d, first);
    const OptimizerState state = a.optimizer_state();
    EXPECT_EQ(state.steps, 4u);
    EXPECT_EQ(state.m1.size(), arch.parameter_count());
    EXPECT_EQ(state.m2.size(), opt == Optimizer::adam ? arch.parameter_count() : 0u);
    Trainer b(a.model(), config(32, 1, opt, 0.01f));
    Trainer fresh(a.model(), config(32, 1, opt, 0.01f));
    ASSERT_TRUE(b.set_optimizer_state(state).ok());
    a.train_rows(d, second);
    b.train_rows(d, second);
    fresh.train_rows(d, second);
    EXPECT_EQ(a.model().parameters, b.model().parameters);
    EXPECT_NE(a.model().parameters, fresh.model().parameters);  // zero moments take another path
    EXPECT_EQ(b.optimizer_state().steps, 8u);
  }
  Trainer t(model_for(arch, 5), config(32));
  OptimizerState bad;
  bad.m1.assign(3, 0.0f);
  auto st = t.set_optimizer_state(bad);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "optimizer state of 3+0 values; the model takes " +
                                    std::to_string(arch.parameter_count()) + "+" +
                                    std::to_string(arch.parameter_count()));
}

TEST(MlTrainer, ThreadCountsAgreeUpToRounding) {
  Dataset d = blobs(200, 6, 4);
  auto rows = all_rows(d);
  Trainer one(model_for(Architecture{{6, 32, 4}}, 3), config(50, 1));
  Trainer two(model_for(Architecture{{6, 32, 4}}, 3), config(50, 2));
  one.train_rows(d, rows);
  two.train_rows(d, rows);
  for (std::size_t i = 0; i < one.model().parameters.size(); ++i) {
    EXPECT_NEAR(one.model().parameters[i], two.model().parameters[i], 1e-4);
  }
}

// What a data-parallel coordinator does: gradients of two halves, averaged,
// equal the gradient of the whole batch, and apply_gradient is one step.
TEST(MlTrainer, AveragedShardGradientsEqualTheWholeBatchStep) {
  Dataset d = blobs(30, 4, 6);
  auto rows = all_rows(d);
  Architecture arch{{4, 8, 4}};
  Trainer whole(model_for(arch, 2), config(30));
  Trainer a(model_for(arch, 2), config(30));
  Trainer b(model_for(arch, 2), config(30));
  Gradient parts[] = {a.compute_gradient(d, std::span(rows).subspan(0, 10)),
                      b.compute_gradient(d, std::span(rows).subspan(10))};
  auto avg = average_gradients(parts);
  ASSERT_TRUE(avg.ok());
  EXPECT_EQ(avg->samples, 30u);
  Gradient full = whole.compute_gradient(d, rows);
  for (std::size_t i = 0; i < full.values.size(); ++i) EXPECT_NEAR(avg->values[i], full.values[i], 1e-5);
  whole.train_rows(d, rows);
  a.apply_gradient(avg.value());
  for (std::size_t i = 0; i < full.values.size(); ++i) {
    EXPECT_NEAR(a.model().parameters[i], whole.model().parameters[i], 1e-6);
  }
}

TEST(MlTrainer, BadConfigsAreRefused) {
  EXPECT_EQ(validate(config(64, 0)).error().message, "threads must be 1 to 256");
  EXPECT_EQ(validate(config(0)).error().message, "batch size must be at least 1");
  EXPECT_EQ(validate(config(64, 1, Optimizer::sgd, -1)).error().message, "learning rate must be positive");
  EXPECT_EQ(validate(Architecture{{4}}).error().message, "a network needs at least an input and an output layer");
  EXPECT_EQ(validate(Architecture{{4, 1}}).error().message, "the output layer needs at least 2 classes");
}

}  // namespace
}  // namespace minga::ml
