// CUDA kernels of the pooling family: launchers on device pointers, enqueued on `stream`, never
// synchronising. Same contracts as kernels/cpu/pool.h (Pool2dGeometry; tensors (P, H, W) with
// P = N·C planes; backward kernels OVERWRITE dx). Window maths from kernels/common/pool.h.
// Every backward is a gather (one thread per dx element, its windows in ascending output
// order): no atomics, and the same additions in the same order as the CPU's scatter, so the
// results match the CPU bit for bit. Plain C++: the engine includes it for PoolTable.
#pragma once
#include <cstdint>

#include "kernels/cpu/pool.h"
#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

using cpu::Pool2dGeometry;

struct PoolTable;

XGD_CUDA_ABI_BEGIN
// y (P, out_h, out_w); idx (P, out_h, out_w) = h·in_w + w of the chosen input in its plane (the
// first maximum, NaN propagating, as the CPU); idx may be null when no backward follows.
template <class T>
void max_pool2d_forward(const T* x, T* y, int64_t* idx, const Pool2dGeometry& g,
                        cudaStream_t stream);
// dx (P, in_h, in_w) = Σ of dy routed through idx.
template <class T>
void max_pool2d_backward(const T* dy, const int64_t* idx, T* dx, const Pool2dGeometry& g,
                         cudaStream_t stream);

template <class T>
void avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g, bool count_include_pad,
                        cudaStream_t stream);
template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const Pool2dGeometry& g, bool count_include_pad,
                         cudaStream_t stream);

// Only planes, in_* and out_* of g are used.
template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g, cudaStream_t stream);
template <class T>
void adaptive_avg_pool2d_backward(const T* dy, T* dx, const Pool2dGeometry& g, cudaStream_t stream);

// The launchers above as one table, for the engine's dispatch (engine/ops/pool.cpp).
const PoolTable& pool_table();
XGD_CUDA_ABI_END

template <class T>
struct PoolFns {
  decltype(&cuda::max_pool2d_forward<T>) max_pool2d_forward;
  decltype(&cuda::max_pool2d_backward<T>) max_pool2d_backward;
  decltype(&cuda::avg_pool2d_forward<T>) avg_pool2d_forward;
  decltype(&cuda::avg_pool2d_backward<T>) avg_pool2d_backward;
  decltype(&cuda::adaptive_avg_pool2d_forward<T>) adaptive_avg_pool2d_forward;
  decltype(&cuda::adaptive_avg_pool2d_backward<T>) adaptive_avg_pool2d_backward;
};

struct PoolTable {
  PoolFns<float> f32;
  PoolFns<double> f64;
  template <class T>
  const PoolFns<T>& of() const {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

}  // namespace xgd::kernels::cuda
