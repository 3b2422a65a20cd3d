// Randomness is an input: pure cores take a Random& seeded by their driver,
// so a simulation seed replays a run exactly.
#pragma once

#include <cstdint>

namespace minga {

// splitmix64-seeded xoshiro256** generator: small, fast, reproducible across
// platforms (unlike std::uniform_int_distribution).
class Random {
 public:
  explicit Random(std::uint64_t seed);
  std::uint64_t next();
  // Uniform in [lo, hi] inclusive; requires lo <= hi.
  std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi);
  // True with probability numerator/denominator.
  bool chance(std::uint64_t numerator, std::uint64_t denominator);

 private:
  std::uint64_t s_[4];
};

}  // namespace minga
