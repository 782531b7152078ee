// CUDA kernels of softmax / log_softmax over (outer, C, inner). Backward overwrites dx (=).
// Built by nvcc into xgd_kernels_cuda and by the host compiler into xgd_kernels_emu.
//   inner > 1 (classes of N×C×H×W: inner = H·W): one thread per pixel, grid-stride over the
//     outer·inner pixels, looping over the C planes; a warp reads 32 consecutive pixels of a
//     plane, so every load and store is coalesced. Forward reads x twice (online max and sum,
//     then the output), backward reads y, dy twice (the dot product, then dx).
//   inner = 1 (the last dim, contiguous rows): one warp per row, lanes striding over C
//     (coalesced), the row's max / sum combined with warp shuffles.
// Sums accumulate in T, as the CPU kernels.
#include "kernels/cuda/device.h"
// (device.h first)
#include <cmath>

#include "kernels/common/softmax.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/softmax.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

// ---------------------------------------------------------------- pixels (inner > 1)
template <class T>
__global__ void softmax_pixels_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t pixels,
                                      int64_t C, int64_t inner, bool log) {
  for (int64_t q = global_thread(); q < pixels; q += grid_stride()) {
    const int64_t o = q / inner, i = q - o * inner;
    const T* xp = x + o * C * inner + i;  // (C,) at stride inner
    T* yp = y + o * C * inner + i;
    T m = xp[0], s = T(1);
    for (int64_t c = 1; c < C; ++c) online_lse_step(xp[c * inner], m, s);
    if (log) {
      const T lse = m + std::log(s);
      for (int64_t c = 0; c < C; ++c) yp[c * inner] = xp[c * inner] - lse;
    } else {
      const T r = T(1) / s;
      for (int64_t c = 0; c < C; ++c) yp[c * inner] = std::exp(xp[c * inner] - m) * r;
    }
  }
}

template <class T>
__global__ void softmax_backward_pixels_kernel(const T* __restrict__ y, const T* __restrict__ dy,
                                               T* __restrict__ dx, int64_t pixels, int64_t C,
                                               int64_t inner, bool log) {
  for (int64_t q = global_thread(); q < pixels; q += grid_stride()) {
    const int64_t o = q / inner, i = q - o * inner, off = o * C * inner + i;
    const T *yp = y + off, *gp = dy + off;  // (C,) at stride inner
    T* dp = dx + off;
    T acc = 0;  // Σ dy·y (softmax) or Σ dy (log_softmax)
    for (int64_t c = 0; c < C; ++c) acc += log ? gp[c * inner] : gp[c * inner] * yp[c * inner];
    for (int64_t c = 0; c < C; ++c) {
      const int64_t k = c * inner;
      dp[k] = log ? log_softmax_bwd(std::exp(yp[k]), gp[k], acc) : softmax_bwd(yp[k], gp[k], acc);
    }
  }
}

// ---------------------------------------------------------------- rows (inner = 1)
template <class T>
XGD_DEVICE T warp_allsum(T v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// Every lane of a warp takes the same rows (the loop bound is per warp), so the shuffles are
// convergent; blocks are whole warps.
template <class T>
__global__ void softmax_rows_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows,
                                    int64_t C, bool log) {
  const unsigned lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t r = global_thread() / 32; r < rows; r += warps) {
    const T* xr = x + r * C;
    T* yr = y + r * C;
    T m = -INFINITY, s = 0;  // this lane's classes lane, lane + 32, ...
    for (int64_t c = lane; c < C; c += 32) online_lse_step(xr[c], m, s);
    for (int off = 16; off > 0; off >>= 1) {
      const T m2 = __shfl_xor_sync(0xffffffffu, m, off), s2 = __shfl_xor_sync(0xffffffffu, s, off);
      online_lse_merge(m, s, m2, s2);
    }
    if (log) {
      const T lse = m + std::log(s);
      for (int64_t c = lane; c < C; c += 32) yr[c] = xr[c] - lse;
    } else {
      const T inv = T(1) / s;
      for (int64_t c = lane; c < C; c += 32) yr[c] = std::exp(xr[c] - m) * inv;
    }
  }
}

template <class T>
__global__ void softmax_backward_rows_kernel(const T* __restrict__ y, const T* __restrict__ dy,
                                             T* __restrict__ dx, int64_t rows, int64_t C,
                                             bool log) {
  const unsigned lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t r = global_thread() / 32; r < rows; r += warps) {
    const T *yr = y + r * C, *gr = dy + r * C;
    T* dr = dx + r * C;
    T acc = 0;
    for (int64_t c = lane; c < C; c += 32) acc += log ? gr[c] : gr[c] * yr[c];
    acc = warp_allsum(acc);
    for (int64_t c = lane; c < C; c += 32)
      dr[c] = log ? log_softmax_bwd(std::exp(yr[c]), gr[c], acc) : softmax_bwd(yr[c], gr[c], acc);
  }
}

unsigned rows_grid(int64_t rows) {
  return grid_1d(rows * 32);
}

}  // namespace

// ---------------------------------------------------------------- launchers
template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log,
                     cudaStream_t s) {
  if (outer * C * inner == 0) return;
  if (inner == 1) {
    XGD_LAUNCH(softmax_rows_kernel<T>, rows_grid(outer), kBlock, 0, s)(x, y, outer, C, log);
  } else {
    XGD_LAUNCH(softmax_pixels_kernel<T>, grid_1d(outer * inner), kBlock, 0, s)
    (x, y, outer * inner, C, inner, log);
  }
  XGD_CHECK_LAUNCH();
}

template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, int64_t outer, int64_t C, int64_t inner,
                      bool log, cudaStream_t s) {
  if (outer * C * inner == 0) return;
  if (inner == 1) {
    XGD_LAUNCH(softmax_backward_rows_kernel<T>, rows_grid(outer), kBlock, 0, s)
    (y, dy, dx, outer, C, log);
  } else {
    XGD_LAUNCH(softmax_backward_pixels_kernel<T>, grid_1d(outer * inner), kBlock, 0, s)
    (y, dy, dx, outer * inner, C, inner, log);
  }
  XGD_CHECK_LAUNCH();
}

const SoftmaxTable& softmax_table() {
  static const SoftmaxTable table{{&softmax_forward<float>, &softmax_backward<float>},
                                  {&softmax_forward<double>, &softmax_backward<double>}};
  return table;
}

#define XGD_INSTANTIATE(T)                                                                       \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t, int64_t, bool, cudaStream_t); \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, bool,     \
                                    cudaStream_t);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
