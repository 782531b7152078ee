// CUDA kernels of dropout, as kernels/cpu/dropout.h: the mask is the Philox stream of
// kernels/common/dropout.h, so the device drops exactly the elements the CPU drops for the same
// generator state. Launchers on device pointers, enqueued on `stream`, never synchronising.
// Backward reuses the forward's mask and overwrites (=). Plain C++: the engine includes it.
#pragma once
#include <cstdint>

#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

struct DropoutTable;

XGD_CUDA_ABI_BEGIN
// mask[i] = 1 where element i of the Philox stream (seed, first_counter) keeps, for i < n;
// threshold = dropout_threshold(p).   mask: (n,)
void dropout_mask(uint64_t seed, uint64_t first_counter, int64_t n, uint32_t threshold,
                  uint8_t* mask, cudaStream_t stream);
// out[j] = mask[j / group] ? x[j] · scale : 0 for j < n·group.   x, out: (n, group)
template <class T>
void dropout_apply(const T* x, const uint8_t* mask, int64_t n, int64_t group, T scale, T* out,
                   cudaStream_t stream);
// dropout_mask and dropout_apply with group = 1 in one pass (one Philox call per 4 elements,
// no mask read back): mask and out as the two above.   x, out, mask: (n,)
template <class T>
void dropout_forward(const T* x, uint64_t seed, uint64_t first_counter, int64_t n,
                     uint32_t threshold, T scale, uint8_t* mask, T* out, cudaStream_t stream);

const DropoutTable& dropout_table();
XGD_CUDA_ABI_END

template <class T>
struct DropoutFns {
  decltype(&cuda::dropout_apply<T>) apply;
  decltype(&cuda::dropout_forward<T>) forward;
};

struct DropoutTable {
  decltype(&cuda::dropout_mask) mask;
  DropoutFns<float> f32;
  DropoutFns<double> f64;
  template <class T>
  const DropoutFns<T>& of() const {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

}  // namespace xgd::kernels::cuda
