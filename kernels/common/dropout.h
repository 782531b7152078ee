// Dropout masks: one truth for the CPU backend and the CUDA kernels. Element i of a draw of n
// keeps iff uniform_from_bits(philox_word(seed, first_counter, i)) >= p, first_counter =
// gen.advance(n). With u = (bits >> 8) / 2^24 that is (bits >> 8) >= ceil(p · 2^24): integer
// compares, so every backend keeps exactly the same elements.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.h"
#include "kernels/common/philox.h"

namespace xgd::kernels {

// ceil(p · 2^24): exact, since scaling a double by a power of two is exact (host side).
inline uint32_t dropout_threshold(double p) {
  return static_cast<uint32_t>(std::ceil(p * 16777216.0));
}
XGD_HD bool dropout_keep(uint32_t bits, uint32_t threshold) {
  return (bits >> 8) >= threshold;
}
// Inverted dropout of one value (forward: x; backward: dy); scale = 1 / (1 − p). A product
// with the 0/1 mask, as PyTorch's x · mask/(1 − p) (a dropped inf is NaN there too), and a
// conversion rather than a select, so the CPU loop vectorises.
template <class T>
XGD_HD T dropout_apply(T v, bool keep, T scale) {
  return v * (static_cast<T>(keep) * scale);
}

}  // namespace xgd::kernels
