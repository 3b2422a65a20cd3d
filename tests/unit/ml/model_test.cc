#include "apps/ml/model.h"

#include <gtest/gtest.h>

#include "base/crc32c.h"

namespace minga::ml {
namespace {

Model small_model(std::uint64_t seed) {
  Random rng(seed);
  return Model::he_init(Architecture{{3, 4, 2}}, rng);
}

TEST(MlModel, ParameterLayoutIsWeightsThenBiasesPerLayer) {
  Architecture a{{3, 4, 2}};
  EXPECT_EQ(a.parameter_count(), 3u * 4 + 4 + 4 * 2 + 2);
  EXPECT_EQ(a.weight_offset(0), 0u);
  EXPECT_EQ(a.bias_offset(0), 12u);
  EXPECT_EQ(a.weight_offset(1), 16u);
  EXPECT_EQ(a.bias_offset(1), 24u);
}

TEST(MlModel, HeInitIsSeededWithZeroBiasesAndTheRightSpread) {
  EXPECT_EQ(small_model(5).parameters, small_model(5).parameters);
  EXPECT_NE(small_model(5).parameters, small_model(6).parameters);
  Random rng(1);
  Model big = Model::he_init(Architecture{{200, 300, 2}}, rng);
  double sum2 = 0;
  for (std::size_t i = 0; i < 200 * 300; ++i) sum2 += double{big.parameters[i]} * big.parameters[i];
  EXPECT_NEAR(sum2 / (200 * 300), 2.0 / 200, 0.0005);
  for (std::size_t i = big.arch.bias_offset(0); i < big.arch.weight_offset(1); ++i) EXPECT_EQ(big.parameters[i], 0.0f);
}

// The generator, Box-Muller and the byte format together: a change to any
// of them changes stored models, so it must be deliberate.
TEST(MlModel, KnownInitialModelBytesForSeed42) {
  std::string bytes = small_model(42).serialize();
  EXPECT_EQ(bytes.size(), 4u + 4 + 4 + 3 * 4 + 26 * 4 + 4);
  EXPECT_EQ(crc32c(bytes), 1214729159u);
}

TEST(MlModel, SerializeRoundTrip) {
  Model m = small_model(3);
  auto back = Model::deserialize(m.serialize());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->arch, m.arch);
  EXPECT_EQ(back->parameters, m.parameters);
  EXPECT_EQ(back->serialize(), m.serialize());
}

TEST(MlModel, CorruptBytesAreRefused) {
  std::string good = small_model(3).serialize();
  auto message = [](std::string bytes) {
    auto r = Model::deserialize(bytes);
    return r.ok() ? std::string("accepted") : r.error().message;
  };
  std::string flipped = good;
  flipped[40] ^= 0x01;
  EXPECT_EQ(message(flipped), "model bytes: checksum mismatch");
  EXPECT_EQ(message(good.substr(0, good.size() - 1)), "model bytes: size 131 bytes, the architecture needs 132");
  EXPECT_EQ(message("XGML" + good.substr(4)), "model bytes: bad magic (not a minga model)");
  EXPECT_EQ(message(""), "model bytes: bad magic (not a minga model)");
  std::string v2 = good;
  v2[4] = 2;
  auto r = Model::deserialize(v2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unsupported_version);
  EXPECT_EQ(r.error().message, "model bytes: format version 2 (this build reads version 1)");
  std::string zero_width = good;
  zero_width[16] = 0;  // the hidden layer's width 4 -> 0
  EXPECT_EQ(message(zero_width), "model bytes: layer 1 has width 0 (must be 1 to 1048576)");
}

TEST(MlModel, AverageIsElementWiseMean) {
  Model a = small_model(1), b = small_model(2);
  Model both[] = {a, b};
  auto avg = average(both);
  ASSERT_TRUE(avg.ok());
  for (std::size_t i = 0; i < a.parameters.size(); ++i) {
    EXPECT_FLOAT_EQ(avg->parameters[i], (a.parameters[i] + b.parameters[i]) * 0.5f);
  }
  Random rng(1);
  Model other[] = {a, Model::he_init(Architecture{{3, 5, 2}}, rng)};
  EXPECT_EQ(average(other).error().message, "models of different architectures");
}

TEST(MlModel, PredictIsTheForwardPass) {
  Model m{Architecture{{2, 2, 2}}, {1, -1, 2, 1, /*b0*/ 0, -10, /*w1*/ 1, 0, 0, 1, /*b1*/ 0.5f, 0}};
  // hidden = relu([1*1 + 2*2, 1*-1 + 2*1 - 10]) = [5, 0]; out = [5.5, 0]
  auto out = m.predict(std::vector<float>{1, 2});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FLOAT_EQ(out[0], 5.5f);
  EXPECT_FLOAT_EQ(out[1], 0.0f);
}

}  // namespace
}  // namespace minga::ml
