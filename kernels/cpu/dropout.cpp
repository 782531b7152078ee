// Dropout kernels. One Philox call yields the 4 words of 4 consecutive elements (counter
// first_counter + i / 4, word i % 4), so the mask loop runs per counter.
#include "kernels/cpu/dropout.h"

#include "kernels/common/dropout.h"

namespace xgd::kernels::cpu {

namespace {
constexpr int64_t kParallel = 32768;
}

void dropout_mask(uint64_t seed, uint64_t first_counter, int64_t n, uint32_t threshold,
                  uint8_t* mask) {
  const int64_t counters = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n > kParallel)
  for (int64_t k = 0; k < counters; ++k) {
    Philox4 r = philox4x32_10(first_counter + k, 0, seed);
    for (int64_t w = 0; w < 4 && 4 * k + w < n; ++w)
      mask[4 * k + w] = dropout_keep(r.v[w], threshold) ? 1 : 0;
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
