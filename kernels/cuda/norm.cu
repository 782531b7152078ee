// CUDA kernels of batch normalisation (contracts: norm.h). Built by nvcc into xgd_kernels_cuda
// and by the host compiler into xgd_kernels_emu (kernels/emu).
//
// Per-channel reductions (the statistics, the backward sums) run one block per (channel, chunk):
// a chunk is a range of the channel's N·HW values, walked plane by plane so the threads read
// contiguous memory. Statistics use Welford's algorithm per thread in double, merged across the
// block with Chan's formula in a fixed tree order, then across chunks in chunk order. The
// element-wise passes are grid-stride loops. Per-element maths: kernels/common/norm.h, so
// results match kernels/cpu/norm.cpp bit for bit where the maths is the same (forward, dx) and
// to double rounding where the summation order differs (statistics, sums).
#include "kernels/cuda/device.h"
// (device.h first)
#include "kernels/common/norm.h"
#include "kernels/cuda/block_reduce.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/norm.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

constexpr unsigned kThreads = 256;     // per (channel, chunk) block
constexpr int64_t kWantBlocks = 1024;  // split channels into chunks until about this many
constexpr int64_t kMinChunk = 4096;    // values per chunk at least

struct Chunks {
  int64_t chunks = 1, len = 1;  // each channel's count values in `chunks` ranges of `len`
};

Chunks chunks_of(const BatchNormGeometry& g) {
  Chunks k;
  const int64_t count = g.n * g.hw;
  k.len = count;
  if (g.c < kWantBlocks / 2 && count >= 2 * kMinChunk) {
    k.chunks = std::min((count + kMinChunk - 1) / kMinChunk, (kWantBlocks + g.c - 1) / g.c);
    k.len = (count + k.chunks - 1) / k.chunks;
    k.chunks = (count + k.len - 1) / k.len;
  }
  return k;
}

// Calls f(offset) for this thread's share of channel c's values [r0, r1) (r = n·HW + i).
template <class F>
XGD_DEVICE void for_chunk(const BatchNormGeometry& g, int64_t c, int64_t r0, int64_t r1, F& f) {
  for (int64_t n = r0 / g.hw; n * g.hw < r1; ++n) {
    const int64_t lo = r0 > n * g.hw ? r0 - n * g.hw : 0;
    const int64_t hi = r1 - n * g.hw < g.hw ? r1 - n * g.hw : g.hw;
    const int64_t base = (n * g.c + c) * g.hw;
    for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) f(base + i);
  }
}

// ---------------------------------------------------------------- Welford statistics
struct Welford {
  double n = 0, mean = 0, m2 = 0;
};
// Chan et al.'s parallel merge of two partial results.
XGD_DEVICE Welford merge(Welford a, Welford b) {
  if (b.n == 0) return a;
  if (a.n == 0) return b;
  Welford r;
  r.n = a.n + b.n;
  const double d = b.mean - a.mean, f = b.n / r.n;
  r.mean = a.mean + d * f;
  r.m2 = a.m2 + b.m2 + d * d * a.n * f;
  return r;
}

template <class T>
struct WelfordAdd {
  const T* x;
  Welford w;
  XGD_DEVICE void operator()(int64_t off) {
    const double v = static_cast<double>(x[off]);
    w.n += 1;
    const double d = v - w.mean;
    w.mean += d / w.n;
    w.m2 += d * (v - w.mean);
  }
};

// Merge over the block, result in thread 0 (blockDim.x a multiple of 32).
XGD_DEVICE Welford block_welford(Welford w) {
  __shared__ double part[3][32];
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
  for (unsigned offset = 16; offset > 0; offset >>= 1) {
    Welford o;
    o.n = __shfl_down_sync(0xffffffffu, w.n, offset);
    o.mean = __shfl_down_sync(0xffffffffu, w.mean, offset);
    o.m2 = __shfl_down_sync(0xffffffffu, w.m2, offset);
    if (lane + offset < 32) w = merge(w, o);
  }
  __syncthreads();  // the previous call may still be reading part
  if (lane == 0) part[0][warp] = w.n, part[1][warp] = w.mean, part[2][warp] = w.m2;
  __syncthreads();
  Welford r;
  if (threadIdx.x == 0)
    for (unsigned k = 0; k < nwarps; ++k) r = merge(r, Welford{part[0][k], part[1][k], part[2][k]});
  return r;
}

XGD_DEVICE void write_stats(Welford w, double eps, int64_t c, double* mean, double* var,
                            double* invstd) {
  const double v = w.m2 / w.n;  // biased
  mean[c] = w.mean;
  var[c] = v;
  invstd[c] = bn_invstd(v, eps);
}

// Block b: channel b / chunks, chunk b % chunks. One chunk: the statistics; else the partial
// (n, mean, m2) to part[3b ...].
template <class T>
__global__ void stats_kernel(const T* __restrict__ x, BatchNormGeometry g, Chunks k, double eps,
                             double* mean, double* var, double* invstd, double* part) {
  const int64_t count = g.n * g.hw;
  for (int64_t b = blockIdx.x; b < g.c * k.chunks; b += gridDim.x) {
    const int64_t c = b / k.chunks, ch = b - c * k.chunks;
    const int64_t r0 = ch * k.len, r1 = r0 + k.len < count ? r0 + k.len : count;
    WelfordAdd<T> acc{x, {}};
    for_chunk(g, c, r0, r1, acc);
    const Welford w = block_welford(acc.w);
    if (threadIdx.x == 0) {
      if (k.chunks == 1) {
        write_stats(w, eps, c, mean, var, invstd);
      } else {
        part[3 * b] = w.n, part[3 * b + 1] = w.mean, part[3 * b + 2] = w.m2;
      }
    }
  }
}

__global__ void stats_finish_kernel(int64_t channels, int64_t chunks, const double* part,
                                    double eps, double* mean, double* var, double* invstd) {
  for (int64_t c = global_thread(); c < channels; c += grid_stride()) {
    Welford w;
    for (int64_t k = 0; k < chunks; ++k) {
      const double* p = part + 3 * (c * chunks + k);
      w = merge(w, Welford{p[0], p[1], p[2]});
    }
    write_stats(w, eps, c, mean, var, invstd);
  }
}

template <class T>
__global__ void eval_stats_kernel(const T* __restrict__ rm, const T* __restrict__ rv,
                                  int64_t channels, double eps, double* mean, double* invstd) {
  for (int64_t c = global_thread(); c < channels; c += grid_stride()) {
    mean[c] = static_cast<double>(rm[c]);
    invstd[c] = bn_invstd(static_cast<double>(rv[c]), eps);
  }
}

// ---------------------------------------------------------------- forward
template <class T>
__global__ void forward_kernel(const T* __restrict__ x, T* __restrict__ y, BatchNormGeometry g,
                               const double* __restrict__ mean, const double* __restrict__ invstd,
                               const T* __restrict__ weight, const T* __restrict__ bias) {
  const int64_t n = g.n * g.c * g.hw;
  for (int64_t e = global_thread(); e < n; e += grid_stride()) {
    const int64_t c = (e / g.hw) % g.c;
    const T alpha = bn_alpha(static_cast<T>(invstd[c]), weight ? weight[c] : T(1));
    const T beta = bn_beta(static_cast<T>(mean[c]), alpha, bias ? bias[c] : T(0));
    y[e] = bn_apply(x[e], alpha, beta);
  }
}

// ---------------------------------------------------------------- backward
template <class T>
struct DotAdd {
  const T* x;
  const T* dy;
  double mean, s_dy = 0, s_dot = 0;
  XGD_DEVICE void operator()(int64_t off) {
    const double g = static_cast<double>(dy[off]);
    s_dy += g;
    s_dot += g * (static_cast<double>(x[off]) - mean);
  }
};

// part[2b], part[2b + 1] = Σ dy, Σ dy·(x - mean) over block b's chunk.
template <class T>
__global__ void backward_sums_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                                     BatchNormGeometry g, Chunks k, const double* __restrict__ mean,
                                     double* part) {
  const int64_t count = g.n * g.hw;
  for (int64_t b = blockIdx.x; b < g.c * k.chunks; b += gridDim.x) {
    const int64_t c = b / k.chunks, ch = b - c * k.chunks;
    const int64_t r0 = ch * k.len, r1 = r0 + k.len < count ? r0 + k.len : count;
    DotAdd<T> acc{x, dy, mean[c]};
    for_chunk(g, c, r0, r1, acc);
    const double s_dy = block_sum(acc.s_dy);
    const double s_dot = block_sum(acc.s_dot);
    if (threadIdx.x == 0) part[2 * b] = s_dy, part[2 * b + 1] = s_dot;
  }
}

// Per channel: the sums (chunks in order), dweight, dbias, and dx's coefficients as T values
// (stored in double, exactly) coef[4c ...] = mean, mean_dy, k, scale.
template <class T>
__global__ void backward_coef_kernel(BatchNormGeometry g, int64_t chunks, const double* part,
                                     bool has_sums, const double* __restrict__ mean,
                                     const double* __restrict__ invstd,
                                     const T* __restrict__ weight, bool training, T* dweight,
                                     T* dbias, double* coef) {
  const double count = static_cast<double>(g.n * g.hw);
  for (int64_t c = global_thread(); c < g.c; c += grid_stride()) {
    double s_dy = 0, s_dot = 0;
    if (has_sums)
      for (int64_t k = 0; k < chunks; ++k) {
        s_dy += part[2 * (c * chunks + k)];
        s_dot += part[2 * (c * chunks + k) + 1];
      }
    if (dweight) dweight[c] = static_cast<T>(s_dot * invstd[c]);
    if (dbias) dbias[c] = static_cast<T>(s_dy);
    const T scale = static_cast<T>(invstd[c]) * (weight ? weight[c] : T(1));
    const T mean_dy = training ? static_cast<T>(s_dy / count) : T(0);
    const T kk = training ? static_cast<T>(s_dot * invstd[c] * invstd[c] / count) : T(0);
    coef[4 * c] = static_cast<double>(static_cast<T>(mean[c]));
    coef[4 * c + 1] = static_cast<double>(mean_dy);
    coef[4 * c + 2] = static_cast<double>(kk);
    coef[4 * c + 3] = static_cast<double>(scale);
  }
}

template <class T>
__global__ void backward_dx_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                                   T* __restrict__ dx, BatchNormGeometry g,
                                   const double* __restrict__ coef) {
  const int64_t n = g.n * g.c * g.hw;
  for (int64_t e = global_thread(); e < n; e += grid_stride()) {
    const double* q = coef + 4 * ((e / g.hw) % g.c);
    dx[e] = bn_train_dx(dy[e], x[e], static_cast<T>(q[0]), static_cast<T>(q[1]),
                        static_cast<T>(q[2]), static_cast<T>(q[3]));
  }
}

template <class T>
__global__ void update_running_kernel(T* rm, T* rv, const double* __restrict__ mean,
                                      const double* __restrict__ var, int64_t channels,
                                      double unbias, double momentum) {
  for (int64_t c = global_thread(); c < channels; c += grid_stride()) {
    rm[c] = bn_running_update(rm[c], mean[c], momentum);
    rv[c] = bn_running_update(rv[c], var[c] * unbias, momentum);
  }
}

__global__ void increment_kernel(int64_t* counter) {
  if (threadIdx.x == 0 && blockIdx.x == 0) *counter += 1;
}

unsigned channel_blocks(const BatchNormGeometry& g, const Chunks& k) {
  return static_cast<unsigned>(std::min<int64_t>(g.c * k.chunks, max_grid_blocks()));
}

}  // namespace

// ---------------------------------------------------------------- launchers
int64_t batch_norm_workspace(const BatchNormGeometry& g) {
  const Chunks k = chunks_of(g);
  return std::max(3 * g.c * k.chunks, 2 * g.c * k.chunks + 4 * g.c);
}

template <class T>
void batch_norm_stats(const T* x, const BatchNormGeometry& g, double eps, double* mean, double* var,
                      double* invstd, double* workspace, cudaStream_t s) {
  if (g.c == 0) return;
  XGD_CHECK(g.n * g.hw > 0, "batch_norm_stats: no values per channel");
  const Chunks k = chunks_of(g);
  XGD_LAUNCH(stats_kernel<T>, channel_blocks(g, k), kThreads, 0, s)
  (x, g, k, eps, mean, var, invstd, workspace);
  XGD_CHECK_LAUNCH();
  if (k.chunks > 1) {
    XGD_LAUNCH(stats_finish_kernel, grid_1d(g.c), kBlock, 0, s)
    (g.c, k.chunks, workspace, eps, mean, var, invstd);
    XGD_CHECK_LAUNCH();
  }
}

template <class T>
void batch_norm_eval_stats(const T* rm, const T* rv, int64_t c, double eps, double* mean,
                           double* invstd, cudaStream_t s) {
  if (c == 0) return;
  XGD_LAUNCH(eval_stats_kernel<T>, grid_1d(c), kBlock, 0, s)(rm, rv, c, eps, mean, invstd);
  XGD_CHECK_LAUNCH();
}

template <class T>
void batch_norm_forward(const T* x, T* y, const BatchNormGeometry& g, const double* mean,
                        const double* invstd, const T* weight, const T* bias, cudaStream_t s) {
  const int64_t n = g.n * g.c * g.hw;
  if (n == 0) return;
  XGD_LAUNCH(forward_kernel<T>, grid_1d(n), kBlock, 0, s)(x, y, g, mean, invstd, weight, bias);
  XGD_CHECK_LAUNCH();
}

template <class T>
void batch_norm_backward(const T* x, const T* dy, T* dx, T* dweight, T* dbias,
                         const BatchNormGeometry& g, const double* mean, const double* invstd,
                         const T* weight, bool training, double* workspace, cudaStream_t s) {
  if (g.c == 0) return;
  const int64_t n = g.n * g.c * g.hw;
  const bool need_sums = (dweight || dbias || (dx && training)) && n > 0;
  const Chunks k = chunks_of(g);
  double* part = workspace;                       // (C, chunks, 2)
  double* coef = workspace + 2 * g.c * k.chunks;  // (C, 4)
  if (need_sums) {
    XGD_LAUNCH(backward_sums_kernel<T>, channel_blocks(g, k), kThreads, 0, s)
    (x, dy, g, k, mean, part);
    XGD_CHECK_LAUNCH();
  }
  XGD_LAUNCH(backward_coef_kernel<T>, grid_1d(g.c), kBlock, 0, s)
  (g, k.chunks, part, need_sums, mean, invstd, weight, training, dweight, dbias, coef);
  XGD_CHECK_LAUNCH();
  if (dx && n > 0) {
    XGD_LAUNCH(backward_dx_kernel<T>, grid_1d(n), kBlock, 0, s)(x, dy, dx, g, coef);
    XGD_CHECK_LAUNCH();
  }
}

template <class T>
void batch_norm_update_running(T* rm, T* rv, const double* mean, const double* var, int64_t c,
                               int64_t count, double momentum, cudaStream_t s) {
  if (c == 0) return;
  const double unbias = static_cast<double>(count) / static_cast<double>(count - 1);
  XGD_LAUNCH(update_running_kernel<T>, grid_1d(c), kBlock, 0, s)
  (rm, rv, mean, var, c, unbias, momentum);
  XGD_CHECK_LAUNCH();
}

void increment_counter(int64_t* counter, cudaStream_t s) {
  XGD_LAUNCH(increment_kernel, 1, 32, 0, s)(counter);
  XGD_CHECK_LAUNCH();
}

namespace {
template <class T>
NormFns<T> make_fns() {
  return {&batch_norm_stats<T>, &batch_norm_eval_stats<T>, &batch_norm_forward<T>,
          &batch_norm_backward<T>, &batch_norm_update_running<T>};
}
}  // namespace

const NormTable& norm_table() {
  static const NormTable table{&batch_norm_workspace, &increment_counter, make_fns<float>(),
                               make_fns<double>()};
  return table;
}

#define XGD_INSTANTIATE(T)                                                                        \
  template void batch_norm_stats<T>(const T*, const BatchNormGeometry&, double, double*, double*, \
                                    double*, double*, cudaStream_t);                              \
  template void batch_norm_eval_stats<T>(const T*, const T*, int64_t, double, double*, double*,   \
                                         cudaStream_t);                                           \
  template void batch_norm_forward<T>(const T*, T*, const BatchNormGeometry&, const double*,      \
                                      const double*, const T*, const T*, cudaStream_t);           \
  template void batch_norm_backward<T>(const T*, const T*, T*, T*, T*, const BatchNormGeometry&,  \
                                       const double*, const double*, const T*, bool, double*,     \
                                       cudaStream_t);                                             \
  template void batch_norm_update_running<T>(T*, T*, const double*, const double*, int64_t,       \
                                             int64_t, double, cudaStream_t);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
