// CUDA kernels of the Grad-CAM weighting ops. Every launcher overwrites its outputs (=). Built
// by nvcc into xgd_kernels_cuda and by the host compiler into xgd_kernels_emu (kernels/emu).
//   channel weights   one block per (n, c) row (grid-stride over rows), coalesced row reads,
//                     block tree sum in double (GradCAM++: Σ A first, then Σ of its terms)
//   weighted sum      one thread per output pixel, k looped in order (coalesced along pixels;
//                     the channel weight is one broadcast load per warp): same order as the CPU
//   minmax            per image, chunks of kMinmaxChunkElems pixels, one block each: pass 1
//                     writes per-chunk partials (arg-extrema; backward: Σ dy, Σ dy·y) to a
//                     workspace, pass 2 combines them in chunk order and maps the chunk.
// Everything is deterministic: fixed reduction trees, no atomics.
#include "kernels/cuda/device.h"
// (device.h first)
#include "kernels/common/cam.h"
#include "kernels/cuda/block_reduce.h"
#include "kernels/cuda/cam.h"
#include "kernels/cuda/launch.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

// ---------------------------------------------------------------- channel weights
template <class T>
__global__ void channel_mean_kernel(const T* __restrict__ g, int64_t rows, int64_t P, double scale,
                                    T* __restrict__ w) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {  // uniform over the block
    const T* gr = g + r * P;
    double acc = 0;
    for (int64_t p = threadIdx.x; p < P; p += blockDim.x) acc += static_cast<double>(gr[p]);
    acc = block_sum(acc);
    if (threadIdx.x == 0) w[r] = static_cast<T>(acc * scale);
  }
}

template <class T>
__global__ void gradcampp_kernel(const T* __restrict__ a, const T* __restrict__ g, int64_t rows,
                                 int64_t P, T* __restrict__ w) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    double sa = 0;
    for (int64_t p = threadIdx.x; p < P; p += blockDim.x) sa += static_cast<double>(a[r * P + p]);
    const T sum_a = static_cast<T>(block_sum(sa));  // every thread gets the same bits
    double acc = 0;
    for (int64_t p = threadIdx.x; p < P; p += blockDim.x)
      acc += static_cast<double>(gradcampp_term(g[r * P + p], sum_a));
    acc = block_sum(acc);
    if (threadIdx.x == 0) w[r] = static_cast<T>(acc);
  }
}

// ---------------------------------------------------------------- weighted sum + ReLU
template <class T, bool kPixel>
__global__ void weighted_sum_relu_kernel(const T* __restrict__ a, const T* __restrict__ w,
                                         int64_t N, int64_t C, int64_t P, T* __restrict__ m) {
  for (int64_t i = global_thread(); i < N * P; i += grid_stride()) {
    const int64_t n = i / P, p = i - n * P;
    const T* an = a + n * C * P + p;
    double acc = 0;
    for (int64_t k = 0; k < C; ++k)
      acc = cam_accumulate(acc, kPixel ? w[(n * C + k) * P + p] : w[n * C + k], an[k * P]);
    m[i] = relu_fwd(static_cast<T>(acc));
  }
}

template <class T, bool kPixel>
__global__ void weighted_sum_relu_backward_kernel(const T* __restrict__ m, const T* __restrict__ dm,
                                                  const T* __restrict__ w, int64_t N, int64_t C,
                                                  int64_t P, T* __restrict__ da) {
  for (int64_t i = global_thread(); i < N * C * P; i += grid_stride()) {
    const int64_t nk = i / P, p = i - nk * P, n = nk / C;
    da[i] = relu_bwd(m[n * P + p], dm[n * P + p]) * (kPixel ? w[i] : w[nk]);
  }
}

// ---------------------------------------------------------------- minmax_normalise
// Whether (v, i) should replace (b, j) as an extremum; j < 0 marks "nothing yet".
template <class T>
XGD_DEVICE bool takes(bool is_max, T v, int64_t i, T b, int64_t j) {
  return i >= 0 && (j < 0 || minmax_better(is_max, v, i, b, j));
}

XGD_DEVICE int64_t end_of(int64_t P, int64_t end) {
  return end < P ? end : P;
}

struct ChunkGeom {
  int64_t N, P, chunks, len;  // len: pixels per chunk (the last may be shorter)
};

// Pass 1: the arg-extrema of chunk blockIdx.x of image n → ws_val/ws_idx[(n·chunks + c)·2 + {0
// min, 1 max}]. Tree over the block (a power of two <= kBlock threads) in shared memory; ties
// resolved by index, so exact.
template <class T>
__global__ void minmax_partial_kernel(const T* __restrict__ x, ChunkGeom g, T* __restrict__ ws_val,
                                      int64_t* __restrict__ ws_idx) {
  __shared__ T lo_v[kBlock], hi_v[kBlock];
  __shared__ int64_t lo_i[kBlock], hi_i[kBlock];
  const unsigned t = threadIdx.x;
  for (int64_t n = blockIdx.y; n < g.N; n += gridDim.y) {
    const T* xn = x + n * g.P;
    const int64_t begin = blockIdx.x * g.len, end = end_of(g.P, begin + g.len);
    T lv = T(0), hv = T(0);
    int64_t li = -1, hi = -1;
    for (int64_t p = begin + t; p < end; p += blockDim.x) {
      const T v = xn[p];
      if (takes(false, v, p, lv, li)) lv = v, li = p;
      if (takes(true, v, p, hv, hi)) hv = v, hi = p;
    }
    __syncthreads();  // the previous image's tree may still be read
    lo_v[t] = lv, lo_i[t] = li, hi_v[t] = hv, hi_i[t] = hi;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
      if (t < s) {
        if (takes(false, lo_v[t + s], lo_i[t + s], lo_v[t], lo_i[t]))
          lo_v[t] = lo_v[t + s], lo_i[t] = lo_i[t + s];
        if (takes(true, hi_v[t + s], hi_i[t + s], hi_v[t], hi_i[t]))
          hi_v[t] = hi_v[t + s], hi_i[t] = hi_i[t + s];
      }
      __syncthreads();
    }
    if (t == 0) {
      const int64_t o = (n * g.chunks + blockIdx.x) * 2;
      ws_val[o] = lo_v[0], ws_idx[o] = lo_i[0];
      ws_val[o + 1] = hi_v[0], ws_idx[o + 1] = hi_i[0];
    }
  }
}

// Pass 2: combine image n's partials (thread 0, chunk order), then map chunk blockIdx.x.
template <class T>
__global__ void minmax_apply_kernel(const T* __restrict__ x, ChunkGeom g, T eps,
                                    const T* __restrict__ ws_val,
                                    const int64_t* __restrict__ ws_idx, T* __restrict__ out,
                                    int64_t* __restrict__ index) {
  __shared__ T s_lo, s_den;
  for (int64_t n = blockIdx.y; n < g.N; n += gridDim.y) {
    __syncthreads();  // s_lo/s_den of the previous image may still be read
    if (threadIdx.x == 0) {
      T lv = T(0), hv = T(0);
      int64_t li = -1, hi = -1;
      for (int64_t c = 0; c < g.chunks; ++c) {
        const int64_t o = (n * g.chunks + c) * 2;
        if (takes(false, ws_val[o], ws_idx[o], lv, li)) lv = ws_val[o], li = ws_idx[o];
        if (takes(true, ws_val[o + 1], ws_idx[o + 1], hv, hi))
          hv = ws_val[o + 1], hi = ws_idx[o + 1];
      }
      s_lo = lv;
      s_den = minmax_denominator(lv, hv, eps);
      if (blockIdx.x == 0) index[2 * n] = li, index[2 * n + 1] = hi;
    }
    __syncthreads();
    const T lo = s_lo, den = s_den;
    const int64_t begin = blockIdx.x * g.len, end = end_of(g.P, begin + g.len);
    for (int64_t p = begin + threadIdx.x; p < end; p += blockDim.x)
      out[n * g.P + p] = minmax_forward(x[n * g.P + p], lo, den);
  }
}

// Backward pass 1: Σ dy and Σ dy·y over chunk blockIdx.x of image n → ws[(n·chunks + c)·2 +
// {0, 1}] (block tree sums in double).
template <class T>
__global__ void minmax_bwd_partial_kernel(const T* __restrict__ x,
                                          const int64_t* __restrict__ index,
                                          const T* __restrict__ dy, ChunkGeom g, T eps,
                                          double* __restrict__ ws) {
  for (int64_t n = blockIdx.y; n < g.N; n += gridDim.y) {
    const T* xn = x + n * g.P;
    const T* dyn = dy + n * g.P;
    const T lo = xn[index[2 * n]], den = minmax_denominator(lo, xn[index[2 * n + 1]], eps);
    const int64_t begin = blockIdx.x * g.len, end = end_of(g.P, begin + g.len);
    double s0 = 0, s1 = 0;
    for (int64_t p = begin + threadIdx.x; p < end; p += blockDim.x) {
      s0 += static_cast<double>(dyn[p]);
      s1 = cam_accumulate(s1, dyn[p], minmax_forward(xn[p], lo, den));
    }
    s0 = block_sum(s0);
    s1 = block_sum(s1);
    if (threadIdx.x == 0) {
      ws[(n * g.chunks + blockIdx.x) * 2] = s0;
      ws[(n * g.chunks + blockIdx.x) * 2 + 1] = s1;
    }
  }
}

template <class T>
__global__ void minmax_bwd_apply_kernel(const T* __restrict__ x, const int64_t* __restrict__ index,
                                        const T* __restrict__ dy, ChunkGeom g, T eps,
                                        const double* __restrict__ ws, T* __restrict__ dx) {
  __shared__ double s_s0, s_s1;
  for (int64_t n = blockIdx.y; n < g.N; n += gridDim.y) {
    __syncthreads();
    if (threadIdx.x == 0) {
      double s0 = 0, s1 = 0;
      for (int64_t c = 0; c < g.chunks; ++c) {
        s0 += ws[(n * g.chunks + c) * 2];
        s1 += ws[(n * g.chunks + c) * 2 + 1];
      }
      s_s0 = s0, s_s1 = s1;
    }
    __syncthreads();
    const double s0 = s_s0, s1 = s_s1;
    const int64_t ilo = index[2 * n], ihi = index[2 * n + 1];
    const T* xn = x + n * g.P;
    const T den = minmax_denominator(xn[ilo], xn[ihi], eps);
    const int64_t begin = blockIdx.x * g.len, end = end_of(g.P, begin + g.len);
    for (int64_t p = begin + threadIdx.x; p < end; p += blockDim.x)
      dx[n * g.P + p] = minmax_backward(dy[n * g.P + p], den, p == ilo, p == ihi, s0, s1);
  }
}

ChunkGeom chunk_geom(int64_t N, int64_t P) {
  ChunkGeom g{N, P, minmax_chunks(P), 0};
  g.len = (P + g.chunks - 1) / g.chunks;
  return g;
}
dim3 chunk_grid(const ChunkGeom& g) {
  const int64_t y = std::min<int64_t>({g.N, 65535, max_grid_blocks()});
  return dim3(static_cast<unsigned>(g.chunks), static_cast<unsigned>(y));
}
// Threads for reductions over `len` elements: a power of two from 32 (one warp) to kBlock, so
// short rows (a 7×7 map) do not leave most of a 256-thread block idle.
unsigned threads_for(int64_t len) {
  unsigned t = 32;
  while (t < kBlock && static_cast<int64_t>(t) < len) t *= 2;
  return t;
}
unsigned row_grid(int64_t rows) {
  return static_cast<unsigned>(std::clamp<int64_t>(rows, 1, max_grid_blocks()));
}

}  // namespace

// ---------------------------------------------------------------- launchers
template <class T>
void cam_channel_mean(const T* g, int64_t rows, int64_t P, T* w, cudaStream_t s) {
  if (rows == 0) return;
  XGD_LAUNCH(channel_mean_kernel<T>, row_grid(rows), threads_for(P), 0, s)
  (g, rows, P, 1.0 / static_cast<double>(P), w);
  XGD_CHECK_LAUNCH();
}

template <class T>
void gradcampp_weights(const T* a, const T* g, int64_t rows, int64_t P, T* w, cudaStream_t s) {
  if (rows == 0) return;
  XGD_LAUNCH(gradcampp_kernel<T>, row_grid(rows), threads_for(P), 0, s)(a, g, rows, P, w);
  XGD_CHECK_LAUNCH();
}

template <class T>
void cam_weighted_sum_relu(const T* a, const T* w, int64_t N, int64_t C, int64_t P, bool pixel,
                           T* m, cudaStream_t s) {
  if (N * P == 0) return;
  if (pixel) {
    XGD_LAUNCH((weighted_sum_relu_kernel<T, true>), grid_1d(N * P), kBlock, 0, s)(a, w, N, C, P, m);
  } else {
    XGD_LAUNCH((weighted_sum_relu_kernel<T, false>), grid_1d(N * P), kBlock, 0, s)
    (a, w, N, C, P, m);
  }
  XGD_CHECK_LAUNCH();
}

template <class T>
void cam_weighted_sum_relu_backward(const T* m, const T* dm, const T* w, int64_t N, int64_t C,
                                    int64_t P, bool pixel, T* da, cudaStream_t s) {
  const int64_t n = N * C * P;
  if (n == 0) return;
  if (pixel) {
    XGD_LAUNCH((weighted_sum_relu_backward_kernel<T, true>), grid_1d(n), kBlock, 0, s)
    (m, dm, w, N, C, P, da);
  } else {
    XGD_LAUNCH((weighted_sum_relu_backward_kernel<T, false>), grid_1d(n), kBlock, 0, s)
    (m, dm, w, N, C, P, da);
  }
  XGD_CHECK_LAUNCH();
}

template <class T>
void minmax_normalise(const T* x, int64_t N, int64_t P, T eps, T* out, int64_t* index, T* ws_val,
                      int64_t* ws_idx, cudaStream_t s) {
  if (N == 0 || P == 0) return;
  const ChunkGeom g = chunk_geom(N, P);
  XGD_LAUNCH(minmax_partial_kernel<T>, chunk_grid(g), threads_for(g.len), 0, s)
  (x, g, ws_val, ws_idx);
  XGD_CHECK_LAUNCH();
  XGD_LAUNCH(minmax_apply_kernel<T>, chunk_grid(g), threads_for(g.len), 0, s)
  (x, g, eps, ws_val, ws_idx, out, index);
  XGD_CHECK_LAUNCH();
}

template <class T>
void minmax_normalise_backward(const T* x, const int64_t* index, const T* dy, int64_t N, int64_t P,
                               T eps, T* dx, double* ws, cudaStream_t s) {
  if (N == 0 || P == 0) return;
  const ChunkGeom g = chunk_geom(N, P);
  XGD_LAUNCH(minmax_bwd_partial_kernel<T>, chunk_grid(g), threads_for(g.len), 0, s)
  (x, index, dy, g, eps, ws);
  XGD_CHECK_LAUNCH();
  XGD_LAUNCH(minmax_bwd_apply_kernel<T>, chunk_grid(g), threads_for(g.len), 0, s)
  (x, index, dy, g, eps, ws, dx);
  XGD_CHECK_LAUNCH();
}

namespace {
template <class T>
CamFns<T> make_fns() {
  return {&cam_channel_mean<T>,      &gradcampp_weights<T>,
          &cam_weighted_sum_relu<T>, &cam_weighted_sum_relu_backward<T>,
          &minmax_normalise<T>,      &minmax_normalise_backward<T>};
}
}  // namespace

const CamTable& cam_table() {
  static const CamTable table{make_fns<float>(), make_fns<double>()};
  return table;
}

#define XGD_INSTANTIATE(T)                                                                         \
  template void cam_channel_mean<T>(const T*, int64_t, int64_t, T*, cudaStream_t);                 \
  template void gradcampp_weights<T>(const T*, const T*, int64_t, int64_t, T*, cudaStream_t);      \
  template void cam_weighted_sum_relu<T>(const T*, const T*, int64_t, int64_t, int64_t, bool, T*,  \
                                         cudaStream_t);                                            \
  template void cam_weighted_sum_relu_backward<T>(const T*, const T*, const T*, int64_t, int64_t,  \
                                                  int64_t, bool, T*, cudaStream_t);                \
  template void minmax_normalise<T>(const T*, int64_t, int64_t, T, T*, int64_t*, T*, int64_t*,     \
                                    cudaStream_t);                                                 \
  template void minmax_normalise_backward<T>(const T*, const int64_t*, const T*, int64_t, int64_t, \
                                             T, T*, double*, cudaStream_t);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
