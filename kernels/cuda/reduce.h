// CUDA kernels of the reduction family: launchers on device pointers, enqueued on `stream`,
// never synchronising (DESIGN.md §2). Same contracts as kernels/cpu/reduce.h: a reduction is the
// input's shape (a host array) and a per-dim `reduce` flag (host array); the output holds the
// kept dims in order. Every launcher overwrites its outputs (=). Plain C++: the engine includes
// it for ReduceTable.
//
// Workspace: reduce_sum, reduce_extreme and extreme_backward_even take a device buffer of
// reduce_workspace(shape, ndim, reduce) doubles (0 is possible: then it may be null). Short
// reductions with many outputs need none; long ones with few outputs are split into chunks
// whose partials land there and are combined in chunk order by a second kernel, so the results
// are deterministic (no atomics) and independent of the grid size.
#pragma once
#include <cstdint>

#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

struct ReduceTable;

XGD_CUDA_ABI_BEGIN
// Doubles of workspace the launchers below need for this reduction (shape/reduce: host arrays).
int64_t reduce_workspace(const int64_t* shape, int ndim, const uint8_t* reduce);

// out = scale · Σ x over the reduced dims, accumulated in double (as the CPU backend).
template <class T>
void reduce_sum(const T* x, const int64_t* shape, int ndim, const uint8_t* reduce, double scale,
                T* out, double* workspace, cudaStream_t stream);

// out = max (or min) of x over the reduced dims; NaN propagates. numel > 0 along reduced dims.
template <class T>
void reduce_extreme(bool is_max, const T* x, const int64_t* shape, int ndim, const uint8_t* reduce,
                    T* out, double* workspace, cudaStream_t stream);

// One dim as (outer, R, inner): values[o, i] = extreme of x[o, :, i] (may be null) and
// index[o, i] its first position (first NaN wins, as PyTorch's max/argmax). R > 0.
template <class T>
void arg_extreme(bool is_max, const T* x, int64_t outer, int64_t R, int64_t inner, T* values,
                 int64_t* index, cudaStream_t stream);

// dx (outer, R, inner) = 0 except dx[o, index[o, i], i] = g[o, i].
template <class T>
void scatter_index_backward(const T* g, const int64_t* index, int64_t outer, int64_t R,
                            int64_t inner, T* dx, cudaStream_t stream);

// dx = scale · g broadcast over the reduced dims (backward of sum and mean).
template <class T>
void expand_reduced(const T* g, const int64_t* shape, int ndim, const uint8_t* reduce, T scale,
                    T* dx, cudaStream_t stream);

// Backward of max/min over several dims: g split evenly among the elements equal to the extreme
// m (NaN equals NaN).
template <class T>
void extreme_backward_even(const T* x, const T* m, const T* g, const int64_t* shape, int ndim,
                           const uint8_t* reduce, T* dx, double* workspace, cudaStream_t stream);

const ReduceTable& reduce_table();
XGD_CUDA_ABI_END

template <class T>
struct ReduceFns {
  decltype(&cuda::reduce_sum<T>) reduce_sum;
  decltype(&cuda::reduce_extreme<T>) reduce_extreme;
  decltype(&cuda::arg_extreme<T>) arg_extreme;
  decltype(&cuda::scatter_index_backward<T>) scatter_index_backward;
  decltype(&cuda::expand_reduced<T>) expand_reduced;
  decltype(&cuda::extreme_backward_even<T>) extreme_backward_even;
};

struct ReduceTable {
  decltype(&cuda::reduce_workspace) workspace;
  ReduceFns<float> f32;
  ReduceFns<double> f64;
  template <class T>
  const ReduceFns<T>& of() const {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

}  // namespace xgd::kernels::cuda
