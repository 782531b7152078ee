// CUDA kernels of the fused losses over (N, C, P) logits. Backward overwrites (=). Built by
// nvcc into xgd_kernels_cuda and by the host compiler into xgd_kernels_emu.
// One thread per pixel, grid-stride over the N·P pixels, looping over the C class planes
// (stride P): a warp reads 32 consecutive pixels of a plane, so loads and stores coalesce.
// The forward passes read every logit once (online log-sum-exp, kernels/common/softmax.h and
// loss.h); the backward passes read the logits once and write the gradient once.
// Totals: each block sums its threads' double accumulators (block_sum, a fixed tree) into one
// partial of the workspace, then finish_kernel (one block) adds the partials in a fixed order
// and writes the loss: no float atomics, reruns give the same bits.
#include "kernels/cuda/device.h"
// (device.h first)
#include <climits>
#include <cmath>

#include "kernels/common/loss.h"
#include "kernels/common/softmax.h"
#include "kernels/cuda/block_reduce.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/loss.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

// Per-block partials in the workspace: G sums, G counts, G first-bad indices.
struct Partials {
  double* sum;
  int64_t* count;
  int64_t* bad;
};
Partials partials(void* workspace, unsigned G) {
  double* sum = static_cast<double*>(workspace);
  int64_t* count = reinterpret_cast<int64_t*>(sum + G);
  return {sum, count, count + G};
}

// Minimum over the block (blocks of whole warps), returned to every thread.
XGD_DEVICE long long block_min(long long v) {
  __shared__ long long warp_min[32];
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
  for (unsigned off = 16; off > 0; off >>= 1) {
    const long long o = __shfl_down_sync(0xffffffffu, v, off);
    v = o < v ? o : v;
  }
  __syncthreads();  // a previous call may still be reading warp_min
  if (lane == 0) warp_min[warp] = v;
  __syncthreads();
  long long m = warp_min[0];
  for (unsigned w = 1; w < nwarps; ++w) m = warp_min[w] < m ? warp_min[w] : m;
  return m;
}

// Adds the G partials in a fixed order (one block) and writes the results:
//   count != null (cross-entropy): *loss = count > 0 ? sum / count : 0, *count_out = count
//   otherwise: *loss = mul · sum / div
//   bad != null: *bad_out = the smallest bad index, or −1.
template <class T>
__global__ void finish_kernel(Partials p, unsigned G, bool with_count, bool with_bad, double mul,
                              double div, T* loss, int64_t* count_out, int64_t* bad_out) {
  double sum = 0;
  long long count = 0, bad = LLONG_MAX;
  for (unsigned g = threadIdx.x; g < G; g += blockDim.x) {
    sum += p.sum[g];
    if (with_count) count += p.count[g];
    if (with_bad) bad = p.bad[g] < bad ? p.bad[g] : bad;
  }
  sum = block_sum(sum);
  if (with_count) count = block_sum(count);
  if (with_bad) bad = block_min(bad);
  if (threadIdx.x != 0) return;
  if (with_count) {
    *loss = static_cast<T>(count > 0 ? sum / static_cast<double>(count) : 0.0);
    *count_out = count;
  } else {
    *loss = static_cast<T>(mul * sum / div);
  }
  if (with_bad) *bad_out = bad == LLONG_MAX ? -1 : bad;
}

// ---------------------------------------------------------------- cross-entropy
template <class T>
__global__ void ce_forward_kernel(const T* __restrict__ x, const int64_t* __restrict__ labels,
                                  int64_t pixels, int64_t C, int64_t P, int64_t ignore_index,
                                  T* __restrict__ lse, Partials part) {
  double sum = 0;
  long long count = 0, bad = LLONG_MAX;
  for (int64_t q = global_thread(); q < pixels; q += grid_stride()) {
    const int64_t n = q / P;
    const T* xp = x + n * C * P + (q - n * P);  // (C,) at stride P
    const int64_t y = labels[q];
    T m = xp[0], s = T(1), xl = xp[0];  // xl: the logit of the label
    for (int64_t c = 1; c < C; ++c) {
      const T z = xp[c * P];
      xl = c == y ? z : xl;
      online_lse_step(z, m, s);
    }
    const T l = m + std::log(s);
    lse[q] = l;
    if (y == ignore_index) continue;
    if (y < 0 || y >= C) {
      bad = q < bad ? q : bad;  // this thread's pixels ascend: the first is its minimum
      continue;
    }
    sum += static_cast<double>(l) - static_cast<double>(xl);
    ++count;
  }
  sum = block_sum(sum);
  count = block_sum(count);
  bad = block_min(bad);
  if (threadIdx.x == 0) {
    part.sum[blockIdx.x] = sum;
    part.count[blockIdx.x] = count;
    part.bad[blockIdx.x] = bad;
  }
}

template <class T>
__global__ void ce_backward_kernel(const T* __restrict__ x, const int64_t* __restrict__ labels,
                                   const T* __restrict__ lse, int64_t pixels, int64_t C, int64_t P,
                                   int64_t ignore_index, const T* __restrict__ dloss,
                                   const int64_t* __restrict__ count, T* __restrict__ dx) {
  const int64_t cnt = *count;
  const T scale = static_cast<T>(cnt > 0 ? static_cast<double>(*dloss) / cnt : 0.0);
  for (int64_t q = global_thread(); q < pixels; q += grid_stride()) {
    const int64_t n = q / P, off = n * C * P + (q - n * P);
    const T* xp = x + off;  // (C,) at stride P
    T* dp = dx + off;
    const int64_t y = labels[q];
    const T w = static_cast<T>(y != ignore_index) * scale;
    const T l = lse[q];
    for (int64_t c = 0; c < C; ++c) dp[c * P] = ce_grad(std::exp(xp[c * P] - l), c == y, w);
  }
}

// ---------------------------------------------------------------- KL(p_t || p_s)
template <class T>
__global__ void kl_forward_kernel(const T* __restrict__ t, const T* __restrict__ s, int64_t pixels,
                                  int64_t C, int64_t P, T inv_tau, T* __restrict__ lse_t,
                                  T* __restrict__ lse_s, T* __restrict__ kl, Partials part) {
  double sum = 0;
  for (int64_t q = global_thread(); q < pixels; q += grid_stride()) {
    const int64_t n = q / P, off = n * C * P + (q - n * P);
    const T *tp = t + off, *sp = s + off;  // (C,) at stride P
    T mt = mul_rn(tp[0], inv_tau), ms = mul_rn(sp[0], inv_tau);
    T st = T(1), ss = T(1), a = mt - ms;
    for (int64_t c = 1; c < C; ++c)
      kl_online_step(mul_rn(tp[c * P], inv_tau), mul_rn(sp[c * P], inv_tau), mt, st, a, ms, ss);
    lse_t[q] = mt + std::log(st);
    lse_s[q] = ms + std::log(ss);
    const T k = kl_from_sums(a, st, ss, mt, ms);
    kl[q] = k;
    sum += static_cast<double>(k);
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0) part.sum[blockIdx.x] = sum;
}

template <class T>
__global__ void kl_backward_kernel(const T* __restrict__ t, const T* __restrict__ s,
                                   const T* __restrict__ lse_t, const T* __restrict__ lse_s,
                                   const T* __restrict__ kl, int64_t pixels, int64_t C, int64_t P,
                                   T inv_tau, double tau, const T* __restrict__ dloss,
                                   T* __restrict__ dt, T* __restrict__ ds) {
  // As the CPU: coef = dL · tau² / pixels in double, then c_z = coef / tau in T.
  const T coef =
      static_cast<T>(static_cast<double>(*dloss) * tau * tau / static_cast<double>(pixels));
  const T c_z = coef * inv_tau;
  for (int64_t q = global_thread(); q < pixels; q += grid_stride()) {
    const int64_t n = q / P, off = n * C * P + (q - n * P);
    const T lt = lse_t[q], ls = lse_s[q], k = kl[q];
    for (int64_t c = 0; c < C; ++c) {
      const int64_t j = off + c * P;
      const T a = mul_rn(t[j], inv_tau) - lt, b = mul_rn(s[j], inv_tau) - ls;
      const T pt = std::exp(a);
      if (ds) ds[j] = kl_grad_student(pt, std::exp(b), c_z);
      if (dt) dt[j] = kl_grad_teacher(pt, a, b, k, c_z);
    }
  }
}

// ---------------------------------------------------------------- mse
template <class T>
__global__ void squared_error_kernel(const T* __restrict__ a, const T* __restrict__ b, int64_t n,
                                     Partials part) {
  double sum = 0;
  for (int64_t i = global_thread(); i < n; i += grid_stride()) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    sum += d * d;
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0) part.sum[blockIdx.x] = sum;
}

template <class T>
__global__ void mse_backward_kernel(const T* __restrict__ a, const T* __restrict__ b, int64_t n,
                                    const T* __restrict__ dloss, T* __restrict__ da,
                                    T* __restrict__ db) {
  const T scale = static_cast<T>(2.0 * static_cast<double>(*dloss) / static_cast<double>(n));
  for (int64_t i = global_thread(); i < n; i += grid_stride()) {
    const T d = scale * (a[i] - b[i]);
    if (da) da[i] = d;
    if (db) db[i] = -d;
  }
}

template <class T>
void finish(Partials p, unsigned G, bool with_count, bool with_bad, double mul, double div, T* loss,
            int64_t* count, int64_t* bad, cudaStream_t s) {
  // One warp: the partials are at most max_grid_blocks() (4096) values.
  XGD_LAUNCH(finish_kernel<T>, 1, 32, 0, s)
  (p, G, with_count, with_bad, mul, div, loss, count, bad);
  XGD_CHECK_LAUNCH();
}

}  // namespace

// ---------------------------------------------------------------- launchers
size_t loss_workspace_bytes(int64_t items) {
  return static_cast<size_t>(grid_1d(items)) * (sizeof(double) + 2 * sizeof(int64_t));
}

template <class T>
void cross_entropy_forward(const T* x, const int64_t* labels, int64_t N, int64_t C, int64_t P,
                           int64_t ignore_index, T* lse, T* loss, int64_t* count,
                           int64_t* first_bad, void* workspace, cudaStream_t s) {
  const int64_t pixels = N * P;
  const unsigned G = grid_1d(pixels);
  Partials p = partials(workspace, G);
  if (pixels > 0) {
    XGD_LAUNCH(ce_forward_kernel<T>, G, kBlock, 0, s)
    (x, labels, pixels, C, P, ignore_index, lse, p);
    XGD_CHECK_LAUNCH();
  }
  finish<T>(p, pixels > 0 ? G : 0, true, true, 1.0, 1.0, loss, count, first_bad, s);
}

template <class T>
void cross_entropy_backward(const T* x, const int64_t* labels, const T* lse, int64_t N, int64_t C,
                            int64_t P, int64_t ignore_index, const T* dloss, const int64_t* count,
                            T* dx, cudaStream_t s) {
  const int64_t pixels = N * P;
  if (pixels * C == 0) return;
  XGD_LAUNCH(ce_backward_kernel<T>, grid_1d(pixels), kBlock, 0, s)
  (x, labels, lse, pixels, C, P, ignore_index, dloss, count, dx);
  XGD_CHECK_LAUNCH();
}

template <class T>
void kl_div_forward(const T* t, const T* s, int64_t N, int64_t C, int64_t P, double tau, T* lse_t,
                    T* lse_s, T* kl, T* loss, void* workspace, cudaStream_t stream) {
  const int64_t pixels = N * P;
  const unsigned G = grid_1d(pixels);
  Partials p = partials(workspace, G);
  if (pixels > 0 && C > 0) {
    XGD_LAUNCH(kl_forward_kernel<T>, G, kBlock, 0, stream)
    (t, s, pixels, C, P, T(1.0 / tau), lse_t, lse_s, kl, p);
    XGD_CHECK_LAUNCH();
  }
  // tau · tau · Σ / pixels, as the CPU (a mean over zero pixels is NaN there too).
  finish<T>(p, pixels > 0 && C > 0 ? G : 0, false, false, tau * tau, static_cast<double>(pixels),
            loss, nullptr, nullptr, stream);
}

template <class T>
void kl_div_backward(const T* t, const T* s, const T* lse_t, const T* lse_s, const T* kl, int64_t N,
                     int64_t C, int64_t P, double tau, const T* dloss, T* dt, T* ds,
                     cudaStream_t stream) {
  const int64_t pixels = N * P;
  if (pixels * C == 0 || (!dt && !ds)) return;
  XGD_LAUNCH(kl_backward_kernel<T>, grid_1d(pixels), kBlock, 0, stream)
  (t, s, lse_t, lse_s, kl, pixels, C, P, T(1.0 / tau), tau, dloss, dt, ds);
  XGD_CHECK_LAUNCH();
}

template <class T>
void mse_forward(const T* a, const T* b, int64_t n, T* loss, void* workspace, cudaStream_t s) {
  const unsigned G = grid_1d(n);
  Partials p = partials(workspace, G);
  if (n > 0) {
    XGD_LAUNCH(squared_error_kernel<T>, G, kBlock, 0, s)(a, b, n, p);
    XGD_CHECK_LAUNCH();
  }
  finish<T>(p, n > 0 ? G : 0, false, false, 1.0, static_cast<double>(n), loss, nullptr, nullptr, s);
}

template <class T>
void mse_backward(const T* a, const T* b, int64_t n, const T* dloss, T* da, T* db, cudaStream_t s) {
  if (n == 0 || (!da && !db)) return;
  XGD_LAUNCH(mse_backward_kernel<T>, grid_1d(n), kBlock, 0, s)(a, b, n, dloss, da, db);
  XGD_CHECK_LAUNCH();
}

namespace {
template <class T>
LossFns<T> make_fns() {
  return {&cross_entropy_forward<T>, &cross_entropy_backward<T>,
          &kl_div_forward<T>,        &kl_div_backward<T>,
          &mse_forward<T>,           &mse_backward<T>};
}
}  // namespace

const LossTable& loss_table() {
  static const LossTable table{&loss_workspace_bytes, make_fns<float>(), make_fns<double>()};
  return table;
}

#define XGD_INSTANTIATE(T)                                                                       \
  template void cross_entropy_forward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t,    \
                                         int64_t, T*, T*, int64_t*, int64_t*, void*,             \
                                         cudaStream_t);                                          \
  template void cross_entropy_backward<T>(const T*, const int64_t*, const T*, int64_t, int64_t,  \
                                          int64_t, int64_t, const T*, const int64_t*, T*,        \
                                          cudaStream_t);                                         \
  template void kl_div_forward<T>(const T*, const T*, int64_t, int64_t, int64_t, double, T*, T*, \
                                  T*, T*, void*, cudaStream_t);                                  \
  template void kl_div_backward<T>(const T*, const T*, const T*, const T*, const T*, int64_t,    \
                                   int64_t, int64_t, double, const T*, T*, T*, cudaStream_t);    \
  template void mse_forward<T>(const T*, const T*, int64_t, T*, void*, cudaStream_t);            \
  template void mse_backward<T>(const T*, const T*, int64_t, const T*, T*, T*, cudaStream_t);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
