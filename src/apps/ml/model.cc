#include "apps/ml/model.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <numbers>

#include "base/assert.h"
#include "base/crc32c.h"

namespace minga::ml {
namespace {

constexpr char kMagic[4] = {'M', 'G', 'M', 'L'};
constexpr std::uint32_t kMaxLayerWidth = 1u << 20;
constexpr std::size_t kMaxParameters = std::size_t{1} << 30;

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(std::string_view in, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  return v;
}

// Standard normal from two uniform draws (Box-Muller), in double so that the
// value does not depend on float contraction choices.
double normal(Random& rng) {
  double u1 = (static_cast<double>(rng.next() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
  double u2 = static_cast<double>(rng.next() >> 11) * 0x1.0p-53;          // [0, 1)
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace

std::size_t Architecture::parameter_count() const { return bias_offset(layers() - 1) + layer_sizes.back(); }

std::size_t Architecture::weight_offset(std::size_t l) const {
  std::size_t off = 0;
  for (std::size_t i = 0; i < l; ++i) off += std::size_t{layer_sizes[i]} * layer_sizes[i + 1] + layer_sizes[i + 1];
  return off;
}

std::size_t Architecture::bias_offset(std::size_t l) const {
  return weight_offset(l) + std::size_t{layer_sizes[l]} * layer_sizes[l + 1];
}

Status validate(const Architecture& arch) {
  if (arch.layer_sizes.size() < 2) {
    return make_error(Errc::invalid_argument, "a network needs at least an input and an output layer");
  }
  std::size_t params = 0;
  for (std::size_t i = 0; i < arch.layer_sizes.size(); ++i) {
    std::uint32_t w = arch.layer_sizes[i];
    if (w == 0 || w > kMaxLayerWidth) {
      return make_error(Errc::invalid_argument, "layer " + std::to_string(i) + " has width " + std::to_string(w) +
                                                    " (must be 1 to " + std::to_string(kMaxLayerWidth) + ")");
    }
    if (i > 0) params += std::size_t{arch.layer_sizes[i - 1]} * w + w;
    if (params > kMaxParameters) return make_error(Errc::invalid_argument, "the network has too many parameters");
  }
  if (arch.classes() < 2) return make_error(Errc::invalid_argument, "the output layer needs at least 2 classes");
  return ok_status();
}

Model Model::he_init(Architecture arch, Random& rng) {
  MINGA_ASSERT(validate(arch).ok(), "he_init of an invalid architecture");
  Model m{std::move(arch), {}};
  m.parameters.assign(m.arch.parameter_count(), 0.0f);
  for (std::size_t l = 0; l < m.arch.layers(); ++l) {
    double stddev = std::sqrt(2.0 / m.arch.layer_sizes[l]);
    std::size_t n = std::size_t{m.arch.layer_sizes[l]} * m.arch.layer_sizes[l + 1];
    float* w = m.parameters.data() + m.arch.weight_offset(l);
    for (std::size_t i = 0; i < n; ++i) w[i] = static_cast<float>(normal(rng) * stddev);
  }
  return m;
}

std::string Model::serialize() const {
  std::string out(kMagic, 4);
  put_u32(out, kModelFormatVersion);
  put_u32(out, static_cast<std::uint32_t>(arch.layer_sizes.size()));
  for (auto w : arch.layer_sizes) put_u32(out, w);
  out.reserve(out.size() + parameters.size() * 4 + 4);
  for (float p : parameters) put_u32(out, std::bit_cast<std::uint32_t>(p));
  put_u32(out, crc32c(out));
  return out;
}

Result<Model> Model::deserialize(std::string_view bytes) {
  auto bad = [](std::string why) { return make_error(Errc::invalid_argument, "model bytes: " + why); };
  if (bytes.size() < 12 || std::memcmp(bytes.data(), kMagic, 4) != 0) return bad("bad magic (not a minga model)");
  std::uint32_t version = get_u32(bytes, 4);
  if (version != kModelFormatVersion) {
    return make_error(Errc::unsupported_version, "model bytes: format version " + std::to_string(version) +
                                                     " (this build reads version " +
                                                     std::to_string(kModelFormatVersion) + ")");
  }
  std::uint32_t count = get_u32(bytes, 8);
  if (count < 2 || count > 1024 || bytes.size() < 12 + std::size_t{count} * 4) return bad("bad layer count");
  Architecture arch;
  for (std::uint32_t i = 0; i < count; ++i) arch.layer_sizes.push_back(get_u32(bytes, 12 + 4 * i));
  if (auto st = validate(arch); !st) return bad(st.error().message);
  std::size_t header = 12 + std::size_t{count} * 4;
  std::size_t expected = header + arch.parameter_count() * 4 + 4;
  if (bytes.size() != expected) {
    return bad("size " + std::to_string(bytes.size()) + " bytes, the architecture needs " + std::to_string(expected));
  }
  if (crc32c(bytes.substr(0, expected - 4)) != get_u32(bytes, expected - 4)) return bad("checksum mismatch");
  Model m{std::move(arch), {}};
  m.parameters.resize(m.arch.parameter_count());
  for (std::size_t i = 0; i < m.parameters.size(); ++i) {
    m.parameters[i] = std::bit_cast<float>(get_u32(bytes, header + 4 * i));
  }
  return m;
}

std::vector<float> Model::predict(std::span<const float> input) const {
  MINGA_ASSERT(input.size() == arch.inputs(), "predict: input width differs from the model");
  std::vector<float> a(input.begin(), input.end());
  for (std::size_t l = 0; l < arch.layers(); ++l) {
    std::size_t in = arch.layer_sizes[l], out = arch.layer_sizes[l + 1];
    const float* w = parameters.data() + arch.weight_offset(l);
    const float* b = parameters.data() + arch.bias_offset(l);
    std::vector<float> z(b, b + out);
    for (std::size_t i = 0; i < in; ++i) {
      for (std::size_t j = 0; j < out; ++j) z[j] += a[i] * w[i * out + j];
    }
    if (l + 1 < arch.layers()) {
      for (auto& v : z) v = v > 0.0f ? v : 0.0f;
    }
    a = std::move(z);
  }
  return a;
}

Result<Model> average(std::span<const Model> models) {
  if (models.empty()) return make_error(Errc::invalid_argument, "no models to average");
  Model out = models[0];
  for (std::size_t k = 1; k < models.size(); ++k) {
    if (models[k].arch != out.arch) return make_error(Errc::invalid_argument, "models of different architectures");
    for (std::size_t i = 0; i < out.parameters.size(); ++i) out.parameters[i] += models[k].parameters[i];
  }
  float scale = 1.0f / static_cast<float>(models.size());
  for (auto& p : out.parameters) p *= scale;
  return out;
}

}  // namespace minga::ml
