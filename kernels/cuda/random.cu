// CUDA kernels of the random fills. They overwrite out (=). Built by nvcc into xgd_kernels_cuda
// and by the host compiler into xgd_kernels_emu. One thread per Philox counter (4 words: 4
// uniform values or 2 normal ones), grid-stride; the values are those of engine/rng.cpp's CPU
// path (kernels/common/philox.h).
#include "kernels/cuda/device.h"
// (device.h first)
#include "kernels/common/philox.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/random.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

template <class T>
__global__ void uniform_kernel(T* __restrict__ out, int64_t n, uint64_t seed, uint64_t first,
                               double low, double high) {
  const int64_t counters = (n + 3) / 4;
  for (int64_t k = global_thread(); k < counters; k += grid_stride()) {
    const Philox4 r = philox4x32_10(first + k, 0, seed);
    for (int w = 0; w < 4; ++w)
      if (4 * k + w < n) out[4 * k + w] = static_cast<T>(fill_uniform(r.v[w], low, high));
  }
}

// Element i uses words 2i and 2i + 1: counter first + i / 2, words 2 (i % 2) and 2 (i % 2) + 1.
template <class T>
__global__ void normal_kernel(T* __restrict__ out, int64_t n, uint64_t seed, uint64_t first,
                              double mean, double stddev) {
  const int64_t counters = (n + 1) / 2;
  for (int64_t k = global_thread(); k < counters; k += grid_stride()) {
    const Philox4 r = philox4x32_10(first + k, 0, seed);
    out[2 * k] = static_cast<T>(fill_normal(r.v[0], r.v[1], mean, stddev));
    if (2 * k + 1 < n) out[2 * k + 1] = static_cast<T>(fill_normal(r.v[2], r.v[3], mean, stddev));
  }
}

}  // namespace

template <class T>
void uniform_fill(T* out, int64_t n, uint64_t seed, uint64_t first_counter, double low, double high,
                  cudaStream_t s) {
  if (n == 0) return;
  XGD_LAUNCH(uniform_kernel<T>, grid_1d((n + 3) / 4), kBlock, 0, s)
  (out, n, seed, first_counter, low, high);
  XGD_CHECK_LAUNCH();
}

template <class T>
void normal_fill(T* out, int64_t n, uint64_t seed, uint64_t first_counter, double mean,
                 double stddev, cudaStream_t s) {
  if (n == 0) return;
  XGD_LAUNCH(normal_kernel<T>, grid_1d((n + 1) / 2), kBlock, 0, s)
  (out, n, seed, first_counter, mean, stddev);
  XGD_CHECK_LAUNCH();
}

const RandomTable& random_table() {
  static const RandomTable table{{&uniform_fill<float>, &normal_fill<float>},
                                 {&uniform_fill<double>, &normal_fill<double>}};
  return table;
}

#define XGD_INSTANTIATE(T)                                                                      \
  template void uniform_fill<T>(T*, int64_t, uint64_t, uint64_t, double, double, cudaStream_t); \
  template void normal_fill<T>(T*, int64_t, uint64_t, uint64_t, double, double, cudaStream_t);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
