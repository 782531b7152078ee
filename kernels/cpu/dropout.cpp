// Dropout kernels. One Philox call yields the 4 words of 4 consecutive elements (counter
// first_counter + i / 4, word i % 4), so the mask loop runs per counter; written without
// per-element conditions it vectorises (32×32→64-bit multiplies per lane), and the worker is
// compiled per ISA like the softmax/loss workers.
#include "kernels/cpu/dropout.h"

#include <algorithm>

#include "kernels/common/dropout.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define XGD_DROPOUT_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), flatten))
#else
#define XGD_DROPOUT_CLONES
#endif

namespace xgd::kernels::cpu {

namespace {
constexpr int64_t kParallel = 32768;
constexpr int64_t kCounters = 4096;  // counters (16384 elements) per task

// mask[4k .. 4k+3] for counters k in [k0, k1), all four words in range.
XGD_DROPOUT_CLONES void mask_counters(uint64_t seed, uint64_t first_counter, int64_t k0, int64_t k1,
                                      uint32_t threshold, uint8_t* mask) {
  for (int64_t k = k0; k < k1; ++k) {
    const Philox4 r = philox4x32_10(first_counter + k, 0, seed);
    mask[4 * k + 0] = dropout_keep(r.v[0], threshold);
    mask[4 * k + 1] = dropout_keep(r.v[1], threshold);
    mask[4 * k + 2] = dropout_keep(r.v[2], threshold);
    mask[4 * k + 3] = dropout_keep(r.v[3], threshold);
  }
}
}  // namespace

void dropout_mask(uint64_t seed, uint64_t first_counter, int64_t n, uint32_t threshold,
                  uint8_t* mask) {
  const int64_t full = n / 4, tasks = (full + kCounters - 1) / kCounters;
#pragma omp parallel for schedule(static) if (n > kParallel)
  for (int64_t t = 0; t < tasks; ++t)
    mask_counters(seed, first_counter, t * kCounters, std::min(full, (t + 1) * kCounters),
                  threshold, mask);
  if (n % 4) {  // the last counter's first n % 4 words
    const Philox4 r = philox4x32_10(first_counter + full, 0, seed);
    for (int64_t w = 0; w < n % 4; ++w) mask[4 * full + w] = dropout_keep(r.v[w], threshold);
  }
}

template <class T>
void dropout_apply(const T* x, const uint8_t* mask, int64_t n, int64_t group, T scale, T* out) {
  if (group == 1) {
#pragma omp parallel for schedule(static) if (n > kParallel)
    for (int64_t i = 0; i < n; ++i) out[i] = kernels::dropout_apply(x[i], mask[i] != 0, scale);
    return;
  }
#pragma omp parallel for schedule(static) if (n * group > kParallel)
  for (int64_t i = 0; i < n; ++i) {
    const T* p = x + i * group;  // (group,)
    T* q = out + i * group;
    const bool keep = mask[i] != 0;
    for (int64_t j = 0; j < group; ++j) q[j] = kernels::dropout_apply(p[j], keep, scale);
  }
}

template void dropout_apply<float>(const float*, const uint8_t*, int64_t, int64_t, float, float*);
template void dropout_apply<double>(const double*, const uint8_t*, int64_t, int64_t, double,
                                    double*);

}  // namespace xgd::kernels::cpu
