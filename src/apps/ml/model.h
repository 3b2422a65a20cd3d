// A fully connected network: architecture + weights, nothing else.
//
// Hidden layers use ReLU; the last layer's outputs are logits for a softmax
// over classes. All parameters live in one flat float vector so that
// averaging models or gradients from several trainers is one loop over it.
#pragma once

#include <cstdint>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/random.h"
#include "base/result.h"

namespace minga::ml {

// 64-byte aligned storage: Eigen's vectorised kernels take different paths
// for different alignments, so a fixed alignment is what makes one seed give
// byte-identical weights from run to run.
template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) {}  // NOLINT: rebinding
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, kAlignment); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const {
    return true;
  }
};
using FloatVector = std::vector<float, AlignedAllocator<float>>;

// layer_sizes = {inputs, hidden..., classes}; at least two entries, each >= 1.
struct Architecture {
  std::vector<std::uint32_t> layer_sizes;

  std::size_t layers() const { return layer_sizes.size() - 1; }  // weight layers
  std::size_t inputs() const { return layer_sizes.front(); }
  std::size_t classes() const { return layer_sizes.back(); }
  std::size_t parameter_count() const;
  // Offsets into Model::parameters of layer l's weights (in x out, row-major) and biases (out).
  std::size_t weight_offset(std::size_t l) const;
  std::size_t bias_offset(std::size_t l) const;
  bool operator==(const Architecture&) const = default;
};

// Checks an architecture: a clear error instead of an assertion for user input.
Status validate(const Architecture& arch);

struct Model {
  Architecture arch;
  FloatVector parameters;  // arch.parameter_count() floats

  // He initialisation: weights ~ N(0, 2/fan_in), biases 0. Same seed, same bytes.
  static Model he_init(Architecture arch, Random& rng);

  // The versioned byte form (docs/ml.md): magic "MGML", version, layer sizes,
  // parameters as little-endian float32, then a CRC32C of all the bytes before it.
  std::string serialize() const;
  static Result<Model> deserialize(std::string_view bytes);

  // Logits for one input of arch.inputs() floats.
  std::vector<float> predict(std::span<const float> input) const;
};

inline constexpr std::uint32_t kModelFormatVersion = 1;

// The element-wise mean of models with one architecture (data-parallel averaging).
Result<Model> average(std::span<const Model> models);

}  // namespace minga::ml
