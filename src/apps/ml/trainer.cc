#include "apps/ml/trainer.h"

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <numeric>
#include <thread>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "base/assert.h"
#include "base/thread_pool.h"

namespace minga::ml {
namespace {

using MatrixRM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapM = Eigen::Map<MatrixRM>;
using ConstMapM = Eigen::Map<const MatrixRM>;

// C = A·B for the products whose B is row-major with a multiple of 64
// columns (the big layers' forward GEMMs and weight gradients), without
// Eigen's packing copies: B is read in place (its rows are contiguous), A
// through two strides, so A may be a matrix (i, k) = a[i·ars + k] or the
// transpose of one (i, k) = a[k·aks + i]. A register block of R rows by 64
// columns (R·4 vector accumulators) runs down K; K goes in chunks of kKc rows
// of B so that a chunk's 64 columns (32 KB) stay in L1 while every row block
// of A passes over it. Fixed order of operations: deterministic.
#if defined(__AVX512F__)
constexpr bool kOwnGemm = true;
constexpr std::size_t kKc = 128;

template <int R>
void gemm_block(const float* a, std::size_t ars, std::size_t aks, const float* b, std::size_t ldb, float* c,
                std::size_t ldc, std::size_t kc, bool accumulate) {
  __m512 acc[R][4];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < 4; ++v) {
      acc[r][v] = accumulate ? _mm512_loadu_ps(c + r * ldc + 16 * v) : _mm512_setzero_ps();
    }
  }
  for (std::size_t k = 0; k < kc; ++k) {
    const float* bk = b + k * ldb;
    __m512 b0 = _mm512_loadu_ps(bk), b1 = _mm512_loadu_ps(bk + 16);
    __m512 b2 = _mm512_loadu_ps(bk + 32), b3 = _mm512_loadu_ps(bk + 48);
    const float* ak = a + k * aks;
    for (int r = 0; r < R; ++r) {
      __m512 x = _mm512_set1_ps(ak[r * ars]);
      acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
      acc[r][2] = _mm512_fmadd_ps(x, b2, acc[r][2]);
      acc[r][3] = _mm512_fmadd_ps(x, b3, acc[r][3]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < 4; ++v) _mm512_storeu_ps(c + r * ldc + 16 * v, acc[r][v]);
  }
}

// C (m x n, row-major, ldc) = A (m x k, strides ars / aks) · B (k x n, row-major, ldb); n % 64 == 0.
void gemm(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t ars, std::size_t aks, const float* b,
          std::size_t ldb, float* c, std::size_t ldc) {
  constexpr std::size_t kRows = 6;
  for (std::size_t k0 = 0; k0 < k; k0 += kKc) {
    std::size_t kc = std::min(kKc, k - k0);
    for (std::size_t j = 0; j < n; j += 64) {
      for (std::size_t i = 0; i < m; i += kRows) {
        const float* ab = a + i * ars + k0 * aks;
        const float* bb = b + k0 * ldb + j;
        float* cb = c + i * ldc + j;
        bool acc = k0 > 0;
        switch (std::min(kRows, m - i)) {
          case 6:
            gemm_block<6>(ab, ars, aks, bb, ldb, cb, ldc, kc, acc);
            break;
          case 5:
            gemm_block<5>(ab, ars, aks, bb, ldb, cb, ldc, kc, acc);
            break;
          case 4:
            gemm_block<4>(ab, ars, aks, bb, ldb, cb, ldc, kc, acc);
            break;
          case 3:
            gemm_block<3>(ab, ars, aks, bb, ldb, cb, ldc, kc, acc);
            break;
          case 2:
            gemm_block<2>(ab, ars, aks, bb, ldb, cb, ldc, kc, acc);
            break;
          default:
            gemm_block<1>(ab, ars, aks, bb, ldb, cb, ldc, kc, acc);
            break;
        }
      }
    }
  }
}
#else
constexpr bool kOwnGemm = false;
void gemm(std::size_t, std::size_t, std::size_t, const float*, std::size_t, std::size_t, const float*, std::size_t,
          float*, std::size_t) {}
#endif

bool own_gemm_fits(std::size_t columns) { return kOwnGemm && columns % 64 == 0; }

// Activations and deltas per layer for up to `capacity` rows. Training uses
// one set shared by all threads (each writes its own rows); evaluation one per
// thread. Sized once, reused every step.
struct Layers {
  std::size_t capacity = 0;
  std::vector<FloatVector> act;    // act[l]: rows x layer_sizes[l]
  std::vector<FloatVector> delta;  // delta[l]: rows x layer_sizes[l + 1]

  void reserve(const Architecture& arch, std::size_t rows) {
    if (rows <= capacity) return;
    capacity = rows;
    act.resize(arch.layer_sizes.size());
    delta.resize(arch.layers());
    for (std::size_t l = 0; l < act.size(); ++l) act[l].assign(rows * arch.layer_sizes[l], 0.0f);
    for (std::size_t l = 0; l < delta.size(); ++l) delta[l].assign(rows * arch.layer_sizes[l + 1], 0.0f);
  }
};

// Forward pass over rows [r0, r0 + n) of `L`, whose inputs are already in
// act[0]; leaves the logits in act.back(). Bias add and ReLU are one pass.
void forward(const Model& m, Layers& L, std::size_t r0, std::size_t n) {
  const auto& arch = m.arch;
  for (std::size_t l = 0; l < arch.layers(); ++l) {
    std::size_t in = arch.layer_sizes[l], out = arch.layer_sizes[l + 1];
    ConstMapM w(m.parameters.data() + arch.weight_offset(l), in, out);
    ConstMapM a(L.act[l].data() + r0 * in, n, in);
    float* zp = L.act[l + 1].data() + r0 * out;
    if (own_gemm_fits(out)) {
      gemm(n, out, in, L.act[l].data() + r0 * in, in, 1, m.parameters.data() + arch.weight_offset(l), out, zp, out);
    } else {
      MapM z(zp, n, out);
      z.noalias() = a * w;
    }
    const float* b = m.parameters.data() + arch.bias_offset(l);
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

void gather(const Dataset& data, std::span<const std::uint32_t> rows, Layers& L, std::size_t r0) {
  float* dst = L.act[0].data() + r0 * data.features;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::copy_n(data.row(rows[r]), data.features, dst + r * data.features);
  }
}

// Softmax cross-entropy of the logits in rows [r0, r0 + rows.size()) of
// act.back(); writes dLoss/dLogits (per example, not yet divided by the batch
// size) into the same rows of delta.back() and returns the summed loss.
double softmax_loss(const Dataset& data, std::span<const std::uint32_t> rows, Layers& L, std::size_t r0,
                    std::size_t classes) {
  const float* logits = L.act.back().data() + r0 * classes;
  float* d = L.delta.back().data() + r0 * classes;
  double loss = 0;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const float* z = logits + r * classes;
    float* dr = d + r * classes;
    float mx = *std::max_element(z, z + classes);
    float sum = 0;
    for (std::size_t j = 0; j < classes; ++j) sum += (dr[j] = std::exp(z[j] - mx));
    float inv = 1.0f / sum;
    for (std::size_t j = 0; j < classes; ++j) dr[j] *= inv;
    std::uint32_t y = data.y[rows[r]];
    loss += std::log(sum) - (z[y] - mx);
    dr[y] -= 1.0f;
  }
  return loss;
}

// The first pass of a step over one slice of the batch, rows [r0, r0 +
// rows.size()): gather, forward, loss, and every layer's delta (what the
// weight gradients need); returns the slice's summed loss.
double slice_deltas(const Model& m, const Dataset& data, std::span<const std::uint32_t> rows, Layers& L,
                    std::size_t r0) {
  const auto& arch = m.arch;
  std::size_t n = rows.size();
  if (n == 0) return 0;
  gather(data, rows, L, r0);
  forward(m, L, r0, n);
  double loss = softmax_loss(data, rows, L, r0, arch.classes());
  for (std::size_t l = arch.layers() - 1; l > 0; --l) {
    std::size_t in = arch.layer_sizes[l], out = arch.layer_sizes[l + 1];
    ConstMapM d(L.delta[l].data() + r0 * out, n, out);
    ConstMapM w(m.parameters.data() + arch.weight_offset(l), in, out);
    float* p = L.delta[l - 1].data() + r0 * in;
    MapM prev(p, n, in);
    prev.noalias() = d * w.transpose();
    const float* act = L.act[l].data() + r0 * in;
    for (std::size_t i = 0; i < n * in; ++i) p[i] = act[i] > 0.0f ? p[i] : 0.0f;
  }
  return loss;
}

// The parameters one thread owns in the second pass: per layer, a range of
// weight rows (inputs) and a range of biases (outputs); each a contiguous
// range of Model::parameters.
struct Share {
  std::size_t row_begin, row_end, bias_begin, bias_end;
};

Share share_of(const Architecture& arch, std::size_t l, std::size_t t, std::size_t threads) {
  std::size_t in = arch.layer_sizes[l], out = arch.layer_sizes[l + 1];
  return {in * t / threads, in * (t + 1) / threads, out * t / threads, out * (t + 1) / threads};
}

// Layer l's gradient sum over the `n` batch rows of weight rows [r0, r1)
// into g ((r1 - r0) x outputs, row-major): act[l]^T restricted to those
// input columns, times delta[l].
void weight_rows_gradient(const Model& m, const Layers& L, std::size_t n, std::size_t l, std::size_t r0, std::size_t r1,
                          float* g) {
  const auto& arch = m.arch;
  std::size_t in = arch.layer_sizes[l], out = arch.layer_sizes[l + 1];
  if (own_gemm_fits(out)) {
    gemm(r1 - r0, out, n, L.act[l].data() + r0, 1, in, L.delta[l].data(), out, g, out);
    return;
  }
  ConstMapM a(L.act[l].data(), n, in);
  ConstMapM d(L.delta[l].data(), n, out);
  MapM gw(g, r1 - r0, out);
  gw.noalias() = a.middleCols(r0, r1 - r0).transpose() * d;
}

// Layer l's bias gradient sum of outputs [c0, c1) into g.
void bias_gradient(const Model& m, const Layers& L, std::size_t n, std::size_t l, std::size_t c0, std::size_t c1,
                   float* g) {
  ConstMapM d(L.delta[l].data(), n, m.arch.layer_sizes[l + 1]);
  Eigen::Map<Eigen::RowVectorXf> gb(g, c1 - c0);
  gb = d.middleCols(c0, c1 - c0).colwise().sum();
}

// The weight gradient is produced and used in chunks of about this many
// floats (32 KB), so that it goes from the GEMM to the optimizer through L1
// and the step streams only the parameters and the optimizer state.
constexpr std::size_t kChunkFloats = 8192;

std::size_t chunk_rows(std::size_t out) {
  std::size_t rows = kChunkFloats / out;
  return rows >= 12 ? rows / 6 * 6 : std::max<std::size_t>(rows, 1);  // whole 6-row register blocks
}

// A barrier for the threads of one training call. The passes between two
// barriers take a fraction of a millisecond, so a thread first spins a few
// microseconds (far less than a condition variable's wake-up); a partner that
// is later than that (descheduled on a busy machine, or more threads than
// cores) is waited for in the kernel (std::atomic::wait, a futex on Linux),
// which leaves the core to it.
class SpinBarrier {
 public:
  explicit SpinBarrier(std::size_t n) : n_(n) {}
  void arrive_and_wait() {
    if (n_ <= 1) return;
    std::uint64_t gen = generation_.load(std::memory_order_acquire);
    if (count_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) {
      count_.store(0, std::memory_order_relaxed);
      generation_.store(gen + 1, std::memory_order_release);
      generation_.notify_all();
      return;
    }
    for (unsigned spins = 0; spins < kSpins; ++spins) {
      if (generation_.load(std::memory_order_acquire) != gen) return;
      cpu_relax();
    }
    while (generation_.load(std::memory_order_acquire) == gen) generation_.wait(gen, std::memory_order_acquire);
  }

 private:
  static constexpr unsigned kSpins = 256;
  static void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  }
  alignas(64) std::atomic<std::size_t> count_{0};
  alignas(64) std::atomic<std::uint64_t> generation_{0};
  std::size_t n_;
};

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
  Layers batch;                      // the step's activations and deltas, all threads' rows
  std::vector<FloatVector> scratch;  // per thread, a chunk of its share of the step's gradient sum
  std::vector<double> loss;          // per thread, the step's slice loss
  std::vector<Layers> eval;          // per thread, for evaluate
  FloatVector m1, m2;                // optimizer state: momentum / Adam's first and second moments
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

  // The steps over `rows` in batches of `batch_size`, on `threads` threads
  // that stay in this call for all of them. Per step: each thread runs the
  // forward and backward pass of its slice of the batch (slice_deltas), then,
  // after a barrier, computes the whole batch's gradient of the parameters it
  // owns, chunk by chunk, and hands each chunk to `use(begin, end, gradient
  // sum of [begin, end), batch rows, step index)` while it is in L1; a
  // second barrier ends the step.
  template <class Use>
  void steps_over(const Model& model, const Dataset& data, std::span<const std::uint32_t> rows, std::size_t batch_size,
                  std::size_t threads, double& loss_total, Use&& use) {
    const auto& arch = model.arch;
    const std::size_t batches = (rows.size() + batch_size - 1) / batch_size;
    SpinBarrier barrier(threads);
    parallel(threads, [&](std::size_t t) {
      for (std::size_t k = 0; k < batches; ++k) {
        auto step_rows = rows.subspan(k * batch_size, std::min(batch_size, rows.size() - k * batch_size));
        auto [b, e] = part(step_rows.size(), t, threads);
        loss[t] = slice_deltas(model, data, step_rows.subspan(b, e - b), batch, b);
        barrier.arrive_and_wait();
        if (t == 0) {
          for (std::size_t s = 0; s < threads; ++s) loss_total += loss[s];
        }
        float* g = scratch[t].data();
        for (std::size_t l = 0; l < arch.layers(); ++l) {
          Share sh = share_of(arch, l, t, threads);
          std::size_t out = arch.layer_sizes[l + 1], w = arch.weight_offset(l), bo = arch.bias_offset(l);
          for (std::size_t r = sh.row_begin, step = chunk_rows(out); r < sh.row_end; r += step) {
            std::size_t re = std::min(r + step, sh.row_end);
            weight_rows_gradient(model, batch, step_rows.size(), l, r, re, g);
            use(w + r * out, w + re * out, g, step_rows.size(), k);
          }
          if (sh.bias_end > sh.bias_begin) {
            bias_gradient(model, batch, step_rows.size(), l, sh.bias_begin, sh.bias_end, g);
            use(bo + sh.bias_begin, bo + sh.bias_end, g, step_rows.size(), k);
          }
        }
        barrier.arrive_and_wait();
      }
    });
  }
};

Trainer::Trainer(Model model, TrainConfig config)
    : model_(std::move(model)), config_(config), impl_(std::make_unique<Impl>()) {
  MINGA_ASSERT(validate(model_.arch).ok() && validate(config_).ok(), "Trainer needs a valid model and config");
  MINGA_ASSERT(model_.parameters.size() == model_.arch.parameter_count(), "model parameters do not fit its shape");
  if (config_.threads > 1) impl_->pool = std::make_unique<ThreadPool>(config_.threads - 1, config_.threads);
  impl_->batch.reserve(model_.arch, config_.batch_size);
  std::size_t chunk = kChunkFloats;
  for (std::size_t l = 0; l < model_.arch.layers(); ++l)
    chunk = std::max<std::size_t>(chunk, model_.arch.layer_sizes[l + 1]);
  impl_->scratch.assign(config_.threads, FloatVector(chunk, 0.0f));
  impl_->loss.assign(config_.threads, 0.0);
  impl_->eval.resize(config_.threads);
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

OptimizerState Trainer::optimizer_state() const {
  OptimizerState s;
  s.m1.assign(impl_->m1.begin(), impl_->m1.end());
  s.m2.assign(impl_->m2.begin(), impl_->m2.end());
  s.steps = impl_->steps;
  return s;
}

Status Trainer::set_optimizer_state(const OptimizerState& state) {
  const std::size_t n = model_.parameters.size();
  const std::size_t m2 = config_.optimizer == Optimizer::adam ? n : 0;
  if (state.m1.size() != n || state.m2.size() != m2) {
    return make_error(Errc::invalid_argument, "optimizer state of " + std::to_string(state.m1.size()) + "+" +
                                                  std::to_string(state.m2.size()) + " values; the model takes " +
                                                  std::to_string(n) + "+" + std::to_string(m2));
  }
  std::copy(state.m1.begin(), state.m1.end(), impl_->m1.begin());
  std::copy(state.m2.begin(), state.m2.end(), impl_->m2.begin());
  impl_->steps = state.steps;
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
  EpochStats stats;
  double loss = 0;
  const bool adam = config_.optimizer == Optimizer::adam;
  const float lr = config_.learning_rate, b1 = config_.beta1, b2 = config_.beta2, eps = config_.epsilon;
  const float mu = config_.momentum;
  const std::uint64_t first_step = im.steps;
  im.steps_over(model_, data, rows, config_.batch_size, config_.threads, loss,
                [&](std::size_t begin, std::size_t end, const float* g, std::size_t n, std::size_t k) {
                  const float inv_n = 1.0f / static_cast<float>(n);
                  float* p = model_.parameters.data() + begin;
                  if (!adam) {
                    sgd_update(p, im.m1.data() + begin, g, end - begin, inv_n, mu, lr);
                    return;
                  }
                  const double step = static_cast<double>(first_step + k + 1);
                  const float c1 = 1.0f - static_cast<float>(std::pow(double{b1}, step));
                  const float c2 = 1.0f - static_cast<float>(std::pow(double{b2}, step));
                  adam_update(p, im.m1.data() + begin, im.m2.data() + begin, g, end - begin,
                              AdamStep{inv_n, b1, b2, lr / c1, 1.0f / std::sqrt(c2), eps});
                });
  std::size_t batches = (rows.size() + config_.batch_size - 1) / config_.batch_size;
  im.steps += batches;
  stats.steps = batches;
  stats.mean_loss = rows.empty() ? 0.0 : loss / static_cast<double>(rows.size());
  return stats;
}

Gradient Trainer::compute_gradient(const Dataset& data, std::span<const std::uint32_t> rows) {
  MINGA_ASSERT(data.features == model_.arch.inputs() && data.classes <= model_.arch.classes(),
               "dataset does not fit the model");
  auto& im = *impl_;
  Gradient out;
  out.values.assign(model_.parameters.size(), 0.0f);
  out.samples = rows.size();
  im.steps_over(model_, data, rows, config_.batch_size, config_.threads, out.loss_sum,
                [&](std::size_t begin, std::size_t end, const float* g, std::size_t, std::size_t) {
                  add_into(out.values.data() + begin, g, end - begin);
                });
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
  std::vector<double> loss(threads, 0.0);
  std::vector<std::size_t> correct(threads, 0);
  std::vector<std::uint32_t> all(data.rows);
  std::iota(all.begin(), all.end(), 0u);
  im.parallel(threads, [&](std::size_t t) {
    auto& ws = im.eval[t];
    ws.reserve(model_.arch, kChunk);
    loss[t] = 0;
    correct[t] = 0;
    auto [b, e] = part(data.rows, t, threads);
    for (std::size_t s = b; s < e; s += kChunk) {
      auto rows = std::span<const std::uint32_t>(all).subspan(s, std::min(kChunk, e - s));
      gather(data, rows, ws, 0);
      forward(model_, ws, 0, rows.size());
      const float* logits = ws.act.back().data();
      for (std::size_t r = 0; r < rows.size(); ++r) {
        const float* z = logits + r * classes;
        if (static_cast<std::uint32_t>(std::max_element(z, z + classes) - z) == data.y[rows[r]]) ++correct[t];
      }
      loss[t] += softmax_loss(data, rows, ws, 0, classes);
    }
  });
  Evaluation ev;
  std::size_t right = 0;
  for (std::size_t t = 0; t < threads; ++t) {
    ev.mean_loss += loss[t];
    right += correct[t];
  }
  if (data.rows > 0) {
    ev.mean_loss /= static_cast<double>(data.rows);
    ev.accuracy = static_cast<double>(right) / static_cast<double>(data.rows);
  }
  return ev;
}

}  // namespace minga::ml
