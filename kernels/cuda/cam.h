// CUDA kernels of the Grad-CAM weighting ops (engine/ops/cam.*): launchers on device pointers,
// enqueued on `stream`, never synchronising; every launcher overwrites its outputs (=). Same
// contracts and layouts as kernels/cpu/cam.h; per-element maths from kernels/common/cam.h.
// Reductions are deterministic (fixed per-block trees and chunk order, no float atomics).
// Plain C++: the engine includes it for CamTable and the workspace sizes.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

struct CamTable;

// The per-image reductions of minmax_normalise split each image into this many chunks (one
// block each, so small batches of large maps still fill the GPU), combined in a second pass.
constexpr int64_t kMinmaxChunkElems = 4096;
constexpr int64_t kMinmaxMaxChunks = 64;
inline int64_t minmax_chunks(int64_t P) {
  return std::clamp<int64_t>((P + kMinmaxChunkElems - 1) / kMinmaxChunkElems, 1, kMinmaxMaxChunks);
}
// Workspace of minmax_normalise: (N · minmax_chunks(P) · 2) values of T and as many int64
// indices; of minmax_normalise_backward: (N · minmax_chunks(P) · 2) doubles.
inline int64_t minmax_workspace_elems(int64_t N, int64_t P) {
  return N * minmax_chunks(P) * 2;
}

XGD_CUDA_ABI_BEGIN
// As the cpu:: kernels of the same names (kernels/cpu/cam.h).
template <class T>
void cam_channel_mean(const T* g, int64_t rows, int64_t P, T* w, cudaStream_t stream);
template <class T>
void gradcampp_weights(const T* a, const T* g, int64_t rows, int64_t P, T* w, cudaStream_t stream);
template <class T>
void cam_weighted_sum_relu(const T* a, const T* w, int64_t N, int64_t C, int64_t P, bool pixel,
                           T* m, cudaStream_t stream);
template <class T>
void cam_weighted_sum_relu_backward(const T* m, const T* dm, const T* w, int64_t N, int64_t C,
                                    int64_t P, bool pixel, T* da, cudaStream_t stream);
// ws_val (T) and ws_idx (int64): minmax_workspace_elems(N, P) each.
template <class T>
void minmax_normalise(const T* x, int64_t N, int64_t P, T eps, T* out, int64_t* index, T* ws_val,
                      int64_t* ws_idx, cudaStream_t stream);
// ws: minmax_workspace_elems(N, P) doubles.
template <class T>
void minmax_normalise_backward(const T* x, const int64_t* index, const T* dy, int64_t N, int64_t P,
                               T eps, T* dx, double* ws, cudaStream_t stream);

// The launchers above as one table, for the engine's dispatch (engine/ops/cam.cpp).
const CamTable& cam_table();
XGD_CUDA_ABI_END

template <class T>
struct CamFns {
  decltype(&cuda::cam_channel_mean<T>) cam_channel_mean;
  decltype(&cuda::gradcampp_weights<T>) gradcampp_weights;
  decltype(&cuda::cam_weighted_sum_relu<T>) cam_weighted_sum_relu;
  decltype(&cuda::cam_weighted_sum_relu_backward<T>) cam_weighted_sum_relu_backward;
  decltype(&cuda::minmax_normalise<T>) minmax_normalise;
  decltype(&cuda::minmax_normalise_backward<T>) minmax_normalise_backward;
};

struct CamTable {
  CamFns<float> f32;
  CamFns<double> f64;
  template <class T>
  const CamFns<T>& of() const {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

}  // namespace xgd::kernels::cuda
