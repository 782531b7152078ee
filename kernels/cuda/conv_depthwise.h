// CUDA kernels of depthwise conv2d (groups == C, channel multiplier m = K / C >= 1, output
// channel k reads input channel k / m): MobileNetV2's 3×3 blocks, DeepLabV3+'s separable ASPP
// (3×3, dilation 12/24/36) and decoder. Launchers on device pointers, enqueued on `stream`,
// never synchronising. Same contracts as kernels/cpu/conv.h depthwise_* (ConvGeom, NCHW):
//   x (N, C, H, W), w (K, 1, KH, KW), b (K) or null, y / dy (N, K, OH, OW).
// Gradients OVERWRITE (=) dx and dw. The bias gradient is a per-channel sum of dy (the
// pointwise family's sum_to does it). Plain C++: the engine includes it for DepthwiseTable.
#pragma once
#include <cstddef>

#include "kernels/cpu/conv.h"
#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

using cpu::ConvGeom;

struct DepthwiseTable;

XGD_CUDA_ABI_BEGIN
// y = depthwise(x, w) + b
template <class T>
void depthwise_forward(const ConvGeom& g, const T* x, const T* w, const T* b, T* y,
                       cudaStream_t stream);
// dx = Σ_j conv_transpose(dy[c·m + j], w[c·m + j]): a gather per input element, no atomics.
template <class T>
void depthwise_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx,
                             cudaStream_t stream);
// Elements of T the weight gradient needs as workspace for geometry g (0: none). Depends only
// on g, so the reduction (and its result) is the same on every run and every GPU.
size_t depthwise_backward_weight_workspace(const ConvGeom& g);
// dw[k, kh, kw] = Σ_{n, oh, ow} dy · x: per channel, the N·OH·OW terms are split into slices
// reduced by blocks (partials in `workspace`, depthwise_backward_weight_workspace(g) elements,
// may be null when that is 0), then summed in slice order: deterministic.
template <class T>
void depthwise_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw, T* workspace,
                               cudaStream_t stream);

// The launchers above as one table, for the engine's dispatch (engine/ops/conv.cpp).
const DepthwiseTable& depthwise_table();
XGD_CUDA_ABI_END

template <class T>
struct DepthwiseFns {
  decltype(&cuda::depthwise_forward<T>) forward;
  decltype(&cuda::depthwise_backward_data<T>) backward_data;
  decltype(&cuda::depthwise_backward_weight<T>) backward_weight;
};

struct DepthwiseTable {
  DepthwiseFns<float> f32;
  DepthwiseFns<double> f64;
  decltype(&cuda::depthwise_backward_weight_workspace) backward_weight_workspace;
  template <class T>
  const DepthwiseFns<T>& of() const {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

}  // namespace xgd::kernels::cuda
