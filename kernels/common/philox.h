// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
// counter-based generator of cuRAND and PyTorch's CUDA RNG. Stateless: the 128-bit counter
// (offset, subsequence) and 64-bit key (seed) give four 32-bit words, so the CPU and every CUDA
// thread draw the same stream with no shared state.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.h"

namespace xgd::kernels {

struct Philox4 {
  uint32_t v[4];
};

XGD_HD Philox4 philox4x32_10(uint64_t counter_lo, uint64_t counter_hi, uint64_t key) {
  uint32_t c0 = static_cast<uint32_t>(counter_lo), c1 = static_cast<uint32_t>(counter_lo >> 32);
  uint32_t c2 = static_cast<uint32_t>(counter_hi), c3 = static_cast<uint32_t>(counter_hi >> 32);
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform in [0, 1) with 24 random bits (exactly representable as float).
XGD_HD float uniform_from_bits(uint32_t bits) {
  return (bits >> 8) * (1.0f / 16777216.0f);
}
// Uniform in (0, 1] (safe for log in Box-Muller).
XGD_HD float uniform_open_from_bits(uint32_t bits) {
  return ((bits >> 8) + 1) * (1.0f / 16777216.0f);
}

// Element i of a stream keyed by (seed, offset): counter = offset + i / 4, word = i % 4.
XGD_HD uint32_t philox_word(uint64_t seed, uint64_t offset, uint64_t i) {
  return philox4x32_10(offset + i / 4, 0, seed).v[i % 4];
}

// ---- Fills (engine/rng.cpp: uniform_, normal_), one truth for the CPU and the CUDA kernels:
// the value in double from the stream's words, then rounded to the tensor's dtype. Products
// are rounded before the adds (__dmul_rn on the device: nvcc would otherwise contract them into
// FMAs), so both sides round the same operations and uniform_ is bit-identical across devices.
XGD_HD double fill_mul(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
// low + (high − low) · u, u uniform in [0, 1) from one word.
XGD_HD double fill_uniform(uint32_t bits, double low, double high) {
  return low + fill_mul(high - low, static_cast<double>(uniform_from_bits(bits)));
}
// Box-Muller from two words (u1 in (0, 1], u2 in [0, 1)): mean + stddev·√(−2 ln u1)·cos(2π u2).
// log and cos come from each side's maths library (CUDA's double log is within 1 ulp, cos
// within 2), so the device may differ from the CPU in the last bits of a double.
XGD_HD double fill_normal(uint32_t bits1, uint32_t bits2, double mean, double stddev) {
  const double u1 = uniform_open_from_bits(bits1), u2 = uniform_from_bits(bits2);
  constexpr double two_pi = 6.283185307179586476925286766559;  // 2·M_PI, exactly
  const double r = std::sqrt(fill_mul(-2.0, std::log(u1)));
  return mean + fill_mul(fill_mul(stddev, r), std::cos(fill_mul(two_pi, u2)));
}

}  // namespace xgd::kernels
