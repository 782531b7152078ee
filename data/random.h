// Counter-based random draws for the data layer: one Philox 4x32-10 block (four 32-bit words)
// per (seed, stream, a, b), so every draw is addressable and independent of thread scheduling.
#pragma once
#include <cstdint>

#include "kernels/common/philox.h"

namespace xgd::data {

// Disjoint streams of one seed (stored in the counter's high word: tag << 48 | a).
enum class Stream : uint64_t { Augment = 1, Permutation = 2, Synth = 3, Split = 4 };

inline kernels::Philox4 philox_block(uint64_t seed, Stream stream, uint64_t a, uint64_t b) {
  return kernels::philox4x32_10(b, (static_cast<uint64_t>(stream) << 48) | (a & 0xFFFFFFFFFFFFull),
                                seed);
}

// Uniform in [0, 1) with 24 random bits.
inline double unit_from_word(uint32_t w) {
  return (w >> 8) * (1.0 / 16777216.0);
}

}  // namespace xgd::data
