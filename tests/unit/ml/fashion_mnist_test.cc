// The 784-256-128-10 MLP on Debian's Fashion-MNIST (dataset-fashion-mnist,
// installed by scripts/install-deps.sh): Adam, batch 64, 5 epochs, 2 threads.
#include <gtest/gtest.h>

#include "apps/ml/dataset.h"
#include "apps/ml/trainer.h"

namespace minga::ml {
namespace {

const std::string kDir = "/usr/share/datasets/fashion-mnist/";

TEST(MlFashionMnist, MlpReaches87Point5PercentInFiveEpochs) {
  auto train = load_idx(kDir + "train-images-idx3-ubyte.gz", kDir + "train-labels-idx1-ubyte.gz");
  ASSERT_TRUE(train.ok()) << train.error().message << " (scripts/install-deps.sh installs dataset-fashion-mnist)";
  auto test = load_idx(kDir + "t10k-images-idx3-ubyte.gz", kDir + "t10k-labels-idx1-ubyte.gz");
  ASSERT_TRUE(test.ok()) << test.error().message;
  ASSERT_EQ(train->rows, 60000u);
  ASSERT_EQ(test->rows, 10000u);
  ASSERT_EQ(train->features, 784u);
  TrainConfig config;  // Adam, lr 0.001, batch 64
  config.threads = 2;
  Random rng(1);
  Trainer t(Model::he_init(Architecture{{784, 256, 128, 10}}, rng), config);
  double first_loss = 0, last_loss = 0;
  for (int e = 0; e < 5; ++e) {
    auto stats = t.train_epoch(train.value(), rng);
    (e == 0 ? first_loss : last_loss) = stats.mean_loss;
  }
  EXPECT_LT(last_loss, first_loss);
  auto ev = t.evaluate(test.value());
  EXPECT_GE(ev.accuracy, 0.875) << "test loss " << ev.mean_loss;
}

}  // namespace
}  // namespace minga::ml
