// CUDA kernels of softmax / log_softmax over one dim of a tensor viewed as (outer, C, inner),
// as kernels/cpu/softmax.h: launchers on device pointers, enqueued on `stream`, never
// synchronising. Backward overwrites dx (=). Per-element backward maths from
// kernels/common/softmax.h. Plain C++: the engine includes it for SoftmaxTable.
#pragma once
#include <cstdint>

#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

struct SoftmaxTable;

XGD_CUDA_ABI_BEGIN
// y = softmax(x) (or log_softmax) over C.   x, y: (outer, C, inner)
template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log,
                     cudaStream_t stream);
// dx from the forward's output y and dy.   y, dy, dx: (outer, C, inner)
template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, int64_t outer, int64_t C, int64_t inner,
                      bool log, cudaStream_t stream);

const SoftmaxTable& softmax_table();
XGD_CUDA_ABI_END

template <class T>
struct SoftmaxFns {
  decltype(&cuda::softmax_forward<T>) forward;
  decltype(&cuda::softmax_backward<T>) backward;
};

struct SoftmaxTable {
  SoftmaxFns<float> f32;
  SoftmaxFns<double> f64;
  template <class T>
  const SoftmaxFns<T>& of() const {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

}  // namespace xgd::kernels::cuda
