// CUDA kernels of bilinear resizing: launchers on device pointers, enqueued on `stream`, never
// synchronising (DESIGN.md §2). Same contracts as kernels/cpu/interpolate.h (tensors (P, H, W)
// with P = N·C planes, the shared ResizeGeometry); index maths from kernels/common/interpolate.h.
// Both launchers OVERWRITE their output (=). Plain C++: the engine includes it for its table.
#pragma once
#include <cstdint>

#include "kernels/cpu/interpolate.h"
#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

using cpu::ResizeGeometry;

struct InterpolateTable;

XGD_CUDA_ABI_BEGIN
// y (P, out_h, out_w) = bilinear resize of x (P, in_h, in_w), PyTorch-exact, bit-identical to
// the CPU kernel.
template <class T>
void bilinear_forward(const T* x, T* y, const ResizeGeometry& g, cudaStream_t stream);
// dx (P, in_h, in_w) = adjoint of bilinear_forward applied to dy (P, out_h, out_w). A gather
// (one thread per dx element, no atomics): deterministic, and it adds the same terms in the
// same order as the CPU kernel, so the two agree bit for bit.
template <class T>
void bilinear_backward(const T* dy, T* dx, const ResizeGeometry& g, cudaStream_t stream);

const InterpolateTable& interpolate_table();
XGD_CUDA_ABI_END

template <class T>
struct InterpolateFns {
  decltype(&cuda::bilinear_forward<T>) bilinear_forward;
  decltype(&cuda::bilinear_backward<T>) bilinear_backward;
};

struct InterpolateTable {
  InterpolateFns<float> f32;
  InterpolateFns<double> f64;
  template <class T>
  const InterpolateFns<T>& of() const {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

}  // namespace xgd::kernels::cuda
