// CUDA kernels of dense conv2d (cross-correlation as PyTorch), NCHW, groups, stride, padding,
// dilation: launchers on device pointers, enqueued on `stream`, never synchronising (DESIGN.md
// §2). Same geometry and contracts as kernels/cpu/conv.h (x (N, C, H, W), w (K, C/groups, KH,
// KW), b (K) or null, y (N, K, OH, OW)); gradients OVERWRITE (=) their outputs. Depthwise
// convolutions have their own kernels; these serve every geometry. Index maths:
// kernels/common/conv.h. Plain C++: the engine includes it for ConvTable.
//
// Every tensor handed to these launchers must have fewer than 2^31 elements (the kernels index
// in 32 bits); a larger one is an xgd::Error.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/conv.h"
#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

using cpu::ConvGeom;

struct ConvTable;

XGD_CUDA_ABI_BEGIN
// y = conv(x, w) + b (b may be null). Implicit GEMM: (K/groups) × (N·OH·OW) per group.
template <class T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, const T* b, T* y,
                    cudaStream_t stream);
// dx = conv_transpose(dy, w). Implicit GEMM: (C/groups) × (N·H·W) per group, each input pixel
// gathering the output pixels that read it (no scatter, no atomics).
template <class T>
void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx, cudaStream_t stream);
// Scratch bytes conv2d_backward_weight needs for geometry g (0: none). The reduction over
// N·OH·OW is split over blocks into partial sums there, then summed in a fixed order.
template <class T>
size_t conv2d_backward_weight_workspace_bytes(const ConvGeom& g);
// dw = Σ_n dy[n] ⋆ x[n]. `workspace` holds at least conv2d_backward_weight_workspace_bytes(g)
// bytes (may be null when that is 0). Deterministic: reruns give the same bits.
template <class T>
void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw, void* workspace,
                            size_t workspace_bytes, cudaStream_t stream);
// db[k] = Σ_{n, oh, ow} dy[n, k, oh, ow], accumulated in double, one block per channel.
template <class T>
void conv2d_backward_bias(const ConvGeom& g, const T* dy, T* db, cudaStream_t stream);

// The launchers above as one table, for the engine's dispatch (engine/ops/conv.cpp).
const ConvTable& conv_table();
XGD_CUDA_ABI_END

template <class T>
struct ConvFns {
  decltype(&cuda::conv2d_forward<T>) forward;
  decltype(&cuda::conv2d_backward_data<T>) backward_data;
  decltype(&cuda::conv2d_backward_weight_workspace_bytes<T>) backward_weight_workspace_bytes;
  decltype(&cuda::conv2d_backward_weight<T>) backward_weight;
  decltype(&cuda::conv2d_backward_bias<T>) backward_bias;
};

struct ConvTable {
  ConvFns<float> f32;
  ConvFns<double> f64;
  template <class T>
  const ConvFns<T>& of() const {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

}  // namespace xgd::kernels::cuda
