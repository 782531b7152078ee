// CPU kernels of softmax / log_softmax over one dim of a tensor viewed as (outer, C, inner):
// the hot case, classes of N×C×H×W, is (N, C, H·W) with the pixels contiguous. Raw pointers and
// sizes only (DESIGN.md §2). Backward overwrites dx (=).
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

// The block workers of the softmax and loss kernels are compiled for AVX-512, AVX2 and baseline
// x86-64 and picked at load time: the kernels library is built without -march, so plain code
// gets SSE2 only, and the exp-bound loops run 2-3x faster with wider vectors.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define XGD_SOFTMAX_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), flatten))
#else
#define XGD_SOFTMAX_CLONES
#endif
// Everything the clones call must inline into each of them to get its ISA (flatten above; the
// template bodies and exp are marked too, so they also inline where flatten is unavailable).
#define XGD_ALWAYS_INLINE [[gnu::always_inline]] inline

namespace xgd::kernels::cpu {

// exp for the CPU softmax and loss loops: Cephes' expf (range reduction by ln 2 in two parts,
// degree-7 polynomial; measured < 1 ulp from exp over the whole float range, denormal results
// included: tests/reference/softmax_test.cpp) written so loops over it vectorise. glibc's expf
// is one call per element, and without -fno-trapping-math GCC will not if-convert float
// selects, so the special cases are integer masks: NaN propagates, x > ln(FLT_MAX) gives inf,
// x < −103.97 (below the smallest denormal) gives 0, as expf.
namespace detail {
XGD_ALWAYS_INLINE int32_t select_bits(int32_t mask, int32_t a, int32_t b) {
  return (a & mask) | (b & ~mask);
}
}  // namespace detail
XGD_ALWAYS_INLINE float exp_fast(float x) {
  constexpr float lo = -103.972076f, hi = 88.7228394f;
  const int32_t ix = std::bit_cast<int32_t>(x), ax = ix & 0x7FFFFFFF;
  const int32_t nan = -static_cast<int32_t>(ax > 0x7F800000);  // all ones where x is NaN
  const int32_t neg = ix >> 31;                                // all ones where x < 0
  const int32_t under = neg & -static_cast<int32_t>(ax > std::bit_cast<int32_t>(-lo)) & ~nan;
  const int32_t over = ~neg & -static_cast<int32_t>(ax > std::bit_cast<int32_t>(hi)) & ~nan;
  const float xc = std::bit_cast<float>(
      detail::select_bits(under, std::bit_cast<int32_t>(lo),
                          detail::select_bits(over, std::bit_cast<int32_t>(hi), ix & ~nan)));
  // n = round(x / ln 2): adding 1.5·2^23 leaves n in the low mantissa bits.
  constexpr float magic = 12582912.0f;
  const float t = xc * 1.44269504088896341f + magic;
  const float n = t - magic;
  const float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;  // x − n·ln 2, |r| ≤ ln2/2
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;  // e^r
  // 2^n as two normal powers of two (n ∈ [−150, 128]), so the product underflows gradually.
  const int32_t ni = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(magic);
  const int32_t a = ni >> 1, b = ni - a;
  const float y = p * std::bit_cast<float>((a + 127) << 23) * std::bit_cast<float>((b + 127) << 23);
  return std::bit_cast<float>(detail::select_bits(
      nan, ix | 0x00400000,
      detail::select_bits(over, 0x7F800000, std::bit_cast<int32_t>(y) & ~under)));
}
// float: exp_fast; double (gradient checks, not speed): std::exp.
inline float exp_k(float x) {
  return exp_fast(x);
}
inline double exp_k(double x) {
  return std::exp(x);
}

// y = softmax(x) (or log_softmax) over C, max-subtracted.   x, y: (outer, C, inner)
template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log);

// dx from the forward's output y and dy.   y, dy, dx: (outer, C, inner)
template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, int64_t outer, int64_t C, int64_t inner,
                      bool log);

}  // namespace xgd::kernels::cpu
