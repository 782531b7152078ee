// CUDA kernels of dropout. Backward reuses the forward's mask and overwrites (=). Built by nvcc
// into xgd_kernels_cuda and by the host compiler into xgd_kernels_emu.
// Philox gives 4 words per counter (element i: counter first + i / 4, word i % 4), so the mask
// kernels run one thread per counter, grid-stride; the mask and the values are exactly the
// CPU's (integer compares, one IEEE product: kernels/common/dropout.h).
#include "kernels/cuda/device.h"
// (device.h first)
#include "kernels/common/dropout.h"
#include "kernels/common/philox.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/launch.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

__global__ void dropout_mask_kernel(uint64_t seed, uint64_t first, int64_t n, uint32_t threshold,
                                    uint8_t* __restrict__ mask) {
  const int64_t counters = (n + 3) / 4;
  for (int64_t k = global_thread(); k < counters; k += grid_stride()) {
    const Philox4 r = philox4x32_10(first + k, 0, seed);
    for (int w = 0; w < 4; ++w)
      if (4 * k + w < n) mask[4 * k + w] = dropout_keep(r.v[w], threshold);
  }
}

template <class T>
__global__ void dropout_forward_kernel(const T* __restrict__ x, uint64_t seed, uint64_t first,
                                       int64_t n, uint32_t threshold, T scale,
                                       uint8_t* __restrict__ mask, T* __restrict__ out) {
  const int64_t counters = (n + 3) / 4;
  for (int64_t k = global_thread(); k < counters; k += grid_stride()) {
    const Philox4 r = philox4x32_10(first + k, 0, seed);
    for (int w = 0; w < 4; ++w) {
      const int64_t i = 4 * k + w;
      if (i >= n) break;
      const bool keep = dropout_keep(r.v[w], threshold);
      mask[i] = keep;
      out[i] = kernels::dropout_apply(x[i], keep, scale);
    }
  }
}

template <class T>
__global__ void dropout_apply_kernel(const T* __restrict__ x, const uint8_t* __restrict__ mask,
                                     int64_t total, int64_t group, T scale, T* __restrict__ out) {
  for (int64_t j = global_thread(); j < total; j += grid_stride()) {
    const int64_t m = group == 1 ? j : j / group;
    out[j] = kernels::dropout_apply(x[j], mask[m] != 0, scale);
  }
}

}  // namespace

void dropout_mask(uint64_t seed, uint64_t first_counter, int64_t n, uint32_t threshold,
                  uint8_t* mask, cudaStream_t s) {
  if (n == 0) return;
  XGD_LAUNCH(dropout_mask_kernel, grid_1d((n + 3) / 4), kBlock, 0, s)
  (seed, first_counter, n, threshold, mask);
  XGD_CHECK_LAUNCH();
}

template <class T>
void dropout_apply(const T* x, const uint8_t* mask, int64_t n, int64_t group, T scale, T* out,
                   cudaStream_t s) {
  const int64_t total = n * group;
  if (total == 0) return;
  XGD_LAUNCH(dropout_apply_kernel<T>, grid_1d(total), kBlock, 0, s)
  (x, mask, total, group, scale, out);
  XGD_CHECK_LAUNCH();
}

template <class T>
void dropout_forward(const T* x, uint64_t seed, uint64_t first_counter, int64_t n,
                     uint32_t threshold, T scale, uint8_t* mask, T* out, cudaStream_t s) {
  if (n == 0) return;
  XGD_LAUNCH(dropout_forward_kernel<T>, grid_1d((n + 3) / 4), kBlock, 0, s)
  (x, seed, first_counter, n, threshold, scale, mask, out);
  XGD_CHECK_LAUNCH();
}

const DropoutTable& dropout_table() {
  static const DropoutTable table{&dropout_mask,
                                  {&dropout_apply<float>, &dropout_forward<float>},
                                  {&dropout_apply<double>, &dropout_forward<double>}};
  return table;
}

#define XGD_INSTANTIATE(T)                                                                         \
  template void dropout_apply<T>(const T*, const uint8_t*, int64_t, int64_t, T, T*, cudaStream_t); \
  template void dropout_forward<T>(const T*, uint64_t, uint64_t, int64_t, uint32_t, T, uint8_t*,   \
                                   T*, cudaStream_t);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
