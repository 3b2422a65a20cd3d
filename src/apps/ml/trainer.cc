#include "apps/ml/trainer.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <numeric>

#include "base/assert.h"
#include "base/thread_pool.h"

namespace minga::ml {
namespace {

using MatrixRM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapM = Eigen::Map<MatrixRM>;
using ConstMapM = Eigen::Map<const MatrixRM>;

// One thread's buffers: activations and deltas per layer for up to `capacity`
// rows, and its slice's gradient sum. Sized once, reused every step.
struct Workspace {
  std::size_t capacity = 0;
  std::vector<FloatVector> act;    // act[l]: rows x layer_sizes[l]
  std::vector<FloatVector> delta;  // delta[l]: rows x layer_sizes[l + 1]
  FloatVector grad;
  double loss_sum = 0;
  std::size_t correct = 0;

  void reserve(const Architecture& arch, std::size_t rows) {
    if (rows <= capacity) return;
    capacity = rows;
    act.resize(arch.layer_sizes.size());
    delta.resize(arch.layers());
    for (std::size_t l = 0; l < act.size(); ++l) act[l].assign(rows * arch.layer_sizes[l], 0.0f);
    for (std::size_t l = 0; l < delta.size(); ++l) delta[l].assign(rows * arch.layer_sizes[l + 1], 0.0f);
  }
};

// Forward pass over `n` rows already copied into ws.act[0]; leaves the logits
// in ws.act.back() and returns nothing else. Bias add and ReLU are one pass.
void forward(const Model& m, Workspace& ws, std::size_t n) {
  const auto& arch = m.arch;
  for (std::size_t l = 0; l < arch.layers(); ++l) {
    std::size_t in = arch.layer_sizes[l], out = arch.layer_sizes[l + 1];
    ConstMapM w(m.parameters.data() + arch.weight_offset(l), in, out);
    ConstMapM a(ws.act[l].data(), n, in);
    MapM z(ws.act[l + 1].data(), n, out);
    z.noalias() = a * w;
    const float* b = m.parameters.data() + arch.bias_offset(l);
    float* zp = ws.act[l + 1].data();
    bool relu = l + 1 < arch.layers();
    for (std::size_t r = 0; r < n; ++r) {
      float* row = zp + r * out;
      if (relu) {
        for (std::size_t j = 0; j < out; ++j) row[j] = std::max(row[j] + b[j], 0.0f);
      } else {
        for (std::size_t j = 0; j < out; ++j) row[j] += b[j];
      }
    }
  }
}

void gather(const Dataset& data, std::span<const std::uint32_t> rows, Workspace& ws) {
  float* dst = ws.act[0].data();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::copy_n(data.row(rows[r]), data.features, dst + r * data.features);
  }
}

// Softmax cross-entropy of the logits in ws.act.back(); writes dLoss/dLogits
// (per example, not yet divided by the batch size) into ws.delta.back().
void softmax_loss(const Dataset& data, std::span<const std::uint32_t> rows, Workspace& ws, std::size_t classes) {
  const float* logits = ws.act.back().data();
  float* d = ws.delta.back().data();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const float* z = logits + r * classes;
    float* dr = d + r * classes;
    float mx = *std::max_element(z, z + classes);
    float sum = 0;
    for (std::size_t j = 0; j < classes; ++j) sum += (dr[j] = std::exp(z[j] - mx));
    float inv = 1.0f / sum;
    for (std::size_t j = 0; j < classes; ++j) dr[j] *= inv;
    std::uint32_t y = data.y[rows[r]];
    ws.loss_sum += std::log(sum) - (z[y] - mx);
    dr[y] -= 1.0f;
  }
}

// Gradient sum over `rows` into ws.grad (overwritten).
void slice_gradient(const Model& m, const Dataset& data, std::span<const std::uint32_t> rows, Workspace& ws) {
  const auto& arch = m.arch;
  std::size_t n = rows.size();
  ws.loss_sum = 0;
  if (n == 0) {
    std::fill(ws.grad.begin(), ws.grad.end(), 0.0f);
    return;
  }
  gather(data, rows, ws);
  forward(m, ws, n);
  softmax_loss(data, rows, ws, arch.classes());
  for (std::size_t l = arch.layers(); l-- > 0;) {
    std::size_t in = arch.layer_sizes[l], out = arch.layer_sizes[l + 1];
    ConstMapM a(ws.act[l].data(), n, in);
    ConstMapM d(ws.delta[l].data(), n, out);
    MapM gw(ws.grad.data() + arch.weight_offset(l), in, out);
    gw.noalias() = a.transpose() * d;
    Eigen::Map<Eigen::RowVectorXf> gb(ws.grad.data() + arch.bias_offset(l), out);
    gb = d.colwise().sum();
    if (l == 0) break;
    ConstMapM w(m.parameters.data() + arch.weight_offset(l), in, out);
    MapM prev(ws.delta[l - 1].data(), n, in);
    prev.noalias() = d * w.transpose();
    const float* act = ws.act[l].data();
    float* p = ws.delta[l - 1].data();
    for (std::size_t i = 0; i < n * in; ++i) p[i] = act[i] > 0.0f ? p[i] : 0.0f;
  }
}

// The optimizer steps over [0, n): free functions with restrict pointers and
// constants by value, so that GCC vectorises them.
struct AdamStep {
  float inv_n, b1, b2, step, inv_sqrt_c2, eps;
};

void adam_update(float* __restrict p, float* __restrict m1, float* __restrict m2, const float* __restrict g,
                 std::size_t n, AdamStep a) {
  for (std::size_t i = 0; i < n; ++i) {
    float gi = g[i] * a.inv_n;
    m1[i] = a.b1 * m1[i] + (1.0f - a.b1) * gi;
    m2[i] = a.b2 * m2[i] + (1.0f - a.b2) * gi * gi;
    p[i] -= a.step * m1[i] / (std::sqrt(m2[i]) * a.inv_sqrt_c2 + a.eps);
  }
}

void sgd_update(float* __restrict p, float* __restrict v, const float* __restrict g, std::size_t n, float inv_n,
                float mu, float lr) {
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = mu * v[i] + g[i] * inv_n;
    p[i] -= lr * v[i];
  }
}

void add_into(float* __restrict dst, const float* __restrict src, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] += src[i];
}

// [begin, end) of part t of n over `count` items.
std::pair<std::size_t, std::size_t> part(std::size_t count, std::size_t t, std::size_t n) {
  return {count * t / n, count * (t + 1) / n};
}

}  // namespace

Status validate(const TrainConfig& c) {
  auto bad = [](const std::string& m) { return make_error(Errc::invalid_argument, m); };
  if (c.threads < 1 || c.threads > 256) return bad("threads must be 1 to 256");
  if (c.batch_size < 1) return bad("batch size must be at least 1");
  if (!(c.learning_rate > 0) || !std::isfinite(c.learning_rate)) return bad("learning rate must be positive");
  if (!(c.momentum >= 0 && c.momentum < 1)) return bad("momentum must be in [0, 1)");
  if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1)) return bad("Adam betas must be in [0, 1)");
  if (!(c.epsilon > 0)) return bad("Adam epsilon must be positive");
  return ok_status();
}

Result<Gradient> average_gradients(std::span<const Gradient> gradients) {
  if (gradients.empty()) return make_error(Errc::invalid_argument, "no gradients to average");
  Gradient out;
  out.values.assign(gradients[0].values.size(), 0.0f);
  for (const auto& g : gradients) {
    if (g.values.size() != out.values.size()) return make_error(Errc::invalid_argument, "gradients of different sizes");
    out.samples += g.samples;
    out.loss_sum += g.loss_sum;
  }
  if (out.samples == 0) return make_error(Errc::invalid_argument, "gradients over no samples");
  for (const auto& g : gradients) {
    float w = static_cast<float>(g.samples) / static_cast<float>(out.samples);
    for (std::size_t i = 0; i < out.values.size(); ++i) out.values[i] += w * g.values[i];
  }
  return out;
}

struct Trainer::Impl {
  std::unique_ptr<ThreadPool> pool;
  std::vector<Workspace> ws;
  FloatVector m1, m2;  // optimizer state: momentum / Adam's first and second moments
  std::uint64_t steps = 0;

  // Runs fn(0..n-1), fn(0) on the calling thread; returns when all are done.
  template <class F>
  void parallel(std::size_t n, F&& fn) {
    if (n <= 1) {
      if (n == 1) fn(0);
      return;
    }
    std::mutex mu;
    std::condition_variable cv;
    std::size_t remaining = n - 1;
    for (std::size_t t = 1; t < n; ++t) {
      bool ok = pool->try_submit([&, t] {
        fn(t);
        std::lock_guard lock(mu);
        if (--remaining == 0) cv.notify_one();
      });
      MINGA_ASSERT(ok, "training pool refused a slice");
    }
    fn(0);
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return remaining == 0; });
  }
};

Trainer::Trainer(Model model, TrainConfig config)
    : model_(std::move(model)), config_(config), impl_(std::make_unique<Impl>()) {
  MINGA_ASSERT(validate(model_.arch).ok() && validate(config_).ok(), "Trainer needs a valid model and config");
  MINGA_ASSERT(model_.parameters.size() == model_.arch.parameter_count(), "model parameters do not fit its shape");
  if (config_.threads > 1) impl_->pool = std::make_unique<ThreadPool>(config_.threads - 1, config_.threads);
  impl_->ws.resize(config_.threads);
  std::size_t slice = (config_.batch_size + config_.threads - 1) / config_.threads;
  for (auto& w : impl_->ws) {
    w.reserve(model_.arch, slice);
    w.grad.assign(model_.parameters.size(), 0.0f);
  }
  impl_->m1.assign(model_.parameters.size(), 0.0f);
  if (config_.optimizer == Optimizer::adam) impl_->m2.assign(model_.parameters.size(), 0.0f);
}

Trainer::~Trainer() = default;

Status Trainer::set_parameters(std::span<const float> parameters) {
  if (parameters.size() != model_.parameters.size()) {
    return make_error(Errc::invalid_argument, "parameter count differs from the model's");
  }
  std::copy(parameters.begin(), parameters.end(), model_.parameters.begin());
  return ok_status();
}

EpochStats Trainer::train_epoch(const Dataset& data, Random& rng) {
  std::vector<std::uint32_t> order(data.rows);
  std::iota(order.begin(), order.end(), 0u);
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.uniform(0, i - 1)]);
  return train_rows(data, order);
}

EpochStats Trainer::train_rows(const Dataset& data, std::span<const std::uint32_t> rows) {
  MINGA_ASSERT(data.features == model_.arch.inputs() && data.classes <= model_.arch.classes(),
               "dataset does not fit the model");
  auto& im = *impl_;
  std::size_t threads = config_.threads, P = model_.parameters.size();
  EpochStats stats;
  double loss = 0;
  const bool adam = config_.optimizer == Optimizer::adam;
  for (std::size_t start = 0; start < rows.size(); start += config_.batch_size) {
    auto batch = rows.subspan(start, std::min<std::size_t>(config_.batch_size, rows.size() - start));
    std::size_t T = std::min(threads, batch.size());
    im.parallel(T, [&](std::size_t t) {
      auto [b, e] = part(batch.size(), t, T);
      slice_gradient(model_, data, batch.subspan(b, e - b), im.ws[t]);
    });
    for (std::size_t t = 0; t < T; ++t) loss += im.ws[t].loss_sum;
    ++im.steps;
    const float inv_n = 1.0f / static_cast<float>(batch.size()), lr = config_.learning_rate;
    const float b1 = config_.beta1, b2 = config_.beta2, eps = config_.epsilon, mu = config_.momentum;
    const float c1 = 1.0f - static_cast<float>(std::pow(double{b1}, static_cast<double>(im.steps)));
    const float c2 = 1.0f - static_cast<float>(std::pow(double{b2}, static_cast<double>(im.steps)));
    const float step = lr / c1, inv_sqrt_c2 = 1.0f / std::sqrt(c2);
    // The sum over slices and the update, split over the parameters; plain
    // restrict pointers so that both loops vectorise.
    const AdamStep a{inv_n, b1, b2, step, inv_sqrt_c2, eps};
    im.parallel(threads, [&](std::size_t t) {
      auto [b, e] = part(P, t, threads);
      float* g = im.ws[0].grad.data() + b;
      for (std::size_t s = 1; s < T; ++s) add_into(g, im.ws[s].grad.data() + b, e - b);
      if (adam) {
        adam_update(model_.parameters.data() + b, im.m1.data() + b, im.m2.data() + b, g, e - b, a);
      } else {
        sgd_update(model_.parameters.data() + b, im.m1.data() + b, g, e - b, inv_n, mu, lr);
      }
    });
    ++stats.steps;
  }
  stats.mean_loss = rows.empty() ? 0.0 : loss / static_cast<double>(rows.size());
  return stats;
}

Gradient Trainer::compute_gradient(const Dataset& data, std::span<const std::uint32_t> rows) {
  MINGA_ASSERT(data.features == model_.arch.inputs() && data.classes <= model_.arch.classes(),
               "dataset does not fit the model");
  auto& im = *impl_;
  std::size_t threads = config_.threads, P = model_.parameters.size();
  Gradient out;
  out.values.assign(P, 0.0f);
  out.samples = rows.size();
  for (std::size_t start = 0; start < rows.size(); start += config_.batch_size) {
    auto batch = rows.subspan(start, std::min<std::size_t>(config_.batch_size, rows.size() - start));
    std::size_t T = std::min(threads, batch.size());
    im.parallel(T, [&](std::size_t t) {
      auto [b, e] = part(batch.size(), t, T);
      slice_gradient(model_, data, batch.subspan(b, e - b), im.ws[t]);
    });
    for (std::size_t t = 0; t < T; ++t) {
      out.loss_sum += im.ws[t].loss_sum;
      for (std::size_t i = 0; i < P; ++i) out.values[i] += im.ws[t].grad[i];
    }
  }
  if (!rows.empty()) {
    float inv = 1.0f / static_cast<float>(rows.size());
    for (auto& v : out.values) v *= inv;
  }
  return out;
}

void Trainer::apply_gradient(const Gradient& gradient) {
  MINGA_ASSERT(gradient.values.size() == model_.parameters.size(), "gradient does not fit the model");
  auto& im = *impl_;
  ++im.steps;
  const float lr = config_.learning_rate;
  if (config_.optimizer == Optimizer::sgd) {
    sgd_update(model_.parameters.data(), im.m1.data(), gradient.values.data(), gradient.values.size(), 1.0f,
               config_.momentum, lr);
    return;
  }
  const float b1 = config_.beta1, b2 = config_.beta2;
  const float c1 = 1.0f - static_cast<float>(std::pow(double{b1}, static_cast<double>(im.steps)));
  const float c2 = 1.0f - static_cast<float>(std::pow(double{b2}, static_cast<double>(im.steps)));
  const float step = lr / c1, inv_sqrt_c2 = 1.0f / std::sqrt(c2);
  adam_update(model_.parameters.data(), im.m1.data(), im.m2.data(), gradient.values.data(), gradient.values.size(),
              AdamStep{1.0f, b1, b2, step, inv_sqrt_c2, config_.epsilon});
}

Evaluation Trainer::evaluate(const Dataset& data) {
  MINGA_ASSERT(data.features == model_.arch.inputs(), "dataset does not fit the model");
  auto& im = *impl_;
  constexpr std::size_t kChunk = 256;
  std::size_t threads = config_.threads, classes = model_.arch.classes();
  std::vector<std::uint32_t> all(data.rows);
  std::iota(all.begin(), all.end(), 0u);
  im.parallel(threads, [&](std::size_t t) {
    auto& ws = im.ws[t];
    ws.reserve(model_.arch, kChunk);
    ws.loss_sum = 0;
    ws.correct = 0;
    auto [b, e] = part(data.rows, t, threads);
    for (std::size_t s = b; s < e; s += kChunk) {
      auto rows = std::span<const std::uint32_t>(all).subspan(s, std::min(kChunk, e - s));
      gather(data, rows, ws);
      forward(model_, ws, rows.size());
      const float* logits = ws.act.back().data();
      for (std::size_t r = 0; r < rows.size(); ++r) {
        const float* z = logits + r * classes;
        if (static_cast<std::uint32_t>(std::max_element(z, z + classes) - z) == data.y[rows[r]]) ++ws.correct;
      }
      softmax_loss(data, rows, ws, classes);
    }
  });
  Evaluation ev;
  std::size_t correct = 0;
  for (std::size_t t = 0; t < threads; ++t) {
    ev.mean_loss += im.ws[t].loss_sum;
    correct += im.ws[t].correct;
  }
  if (data.rows > 0) {
    ev.mean_loss /= static_cast<double>(data.rows);
    ev.accuracy = static_cast<double>(correct) / static_cast<double>(data.rows);
  }
  return ev;
}

}  // namespace minga::ml
