// Softmax kernels. The (outer, C, inner) loops keep the inner index contiguous: a block of up
// to kBlock pixels carries its running max and sum across the C planes (stride inner), so the
// hot case (classes of N×C×H×W) streams each plane once per pass. Backward overwrites dx (=).
#include "kernels/cpu/softmax.h"

#include <algorithm>
#include <cmath>

#include "kernels/common/softmax.h"

namespace xgd::kernels::cpu {

namespace {
constexpr int64_t kBlock = 256;
constexpr int64_t kParallel = 32768;

// One softmax over n values with stride 1 (the inner == 1 case: the last dim).
template <class T>
XGD_ALWAYS_INLINE void softmax_row(const T* x, T* y, int64_t n, bool log) {
  T m = x[0];
  for (int64_t c = 1; c < n; ++c) m = x[c] > m ? x[c] : m;
  T s = 0;
  if (log) {
    for (int64_t c = 0; c < n; ++c) s += exp_k(x[c] - m);
    const T lse = m + std::log(s);
    for (int64_t c = 0; c < n; ++c) y[c] = x[c] - lse;
  } else {
    for (int64_t c = 0; c < n; ++c) s += (y[c] = exp_k(x[c] - m));
    const T r = T(1) / s;
    for (int64_t c = 0; c < n; ++c) y[c] *= r;
  }
}

// Softmax of `len` pixels over C planes at stride `inner`.   x, y: (C, inner) from the block
template <class T>
XGD_ALWAYS_INLINE void softmax_block(const T* x, T* y, int64_t C, int64_t inner, int64_t len,
                                     bool log) {
  T m[kBlock], s[kBlock];  // (len,) running max, sum of exp
  for (int64_t i = 0; i < len; ++i) m[i] = x[i], s[i] = 0;
  for (int64_t c = 1; c < C; ++c) {
    const T* p = x + c * inner;
    for (int64_t i = 0; i < len; ++i) m[i] = p[i] > m[i] ? p[i] : m[i];
  }
  if (log) {
    for (int64_t c = 0; c < C; ++c) {
      const T* p = x + c * inner;
      for (int64_t i = 0; i < len; ++i) s[i] += exp_k(p[i] - m[i]);
    }
    for (int64_t i = 0; i < len; ++i) m[i] += std::log(s[i]);  // log-sum-exp
    for (int64_t c = 0; c < C; ++c) {
      const T* p = x + c * inner;
      T* q = y + c * inner;
      for (int64_t i = 0; i < len; ++i) q[i] = p[i] - m[i];
    }
  } else {
    for (int64_t c = 0; c < C; ++c) {
      const T* p = x + c * inner;
      T* q = y + c * inner;
      for (int64_t i = 0; i < len; ++i) s[i] += (q[i] = exp_k(p[i] - m[i]));
    }
    for (int64_t i = 0; i < len; ++i) s[i] = T(1) / s[i];
    for (int64_t c = 0; c < C; ++c) {
      T* q = y + c * inner;
      for (int64_t i = 0; i < len; ++i) q[i] *= s[i];
    }
  }
}

template <class T>
XGD_ALWAYS_INLINE void softmax_backward_block(const T* y, const T* dy, T* dx, int64_t C,
                                              int64_t inner, int64_t len, bool log) {
  T acc[kBlock];  // (len,) Σ_c dy·y (softmax) or Σ_c dy (log_softmax)
  for (int64_t i = 0; i < len; ++i) acc[i] = 0;
  for (int64_t c = 0; c < C; ++c) {
    const T *py = y + c * inner, *pg = dy + c * inner;
    if (log)
      for (int64_t i = 0; i < len; ++i) acc[i] += pg[i];
    else
      for (int64_t i = 0; i < len; ++i) acc[i] += pg[i] * py[i];
  }
  for (int64_t c = 0; c < C; ++c) {
    const T *py = y + c * inner, *pg = dy + c * inner;
    T* pd = dx + c * inner;
    if (log)
      for (int64_t i = 0; i < len; ++i) pd[i] = log_softmax_bwd(exp_k(py[i]), pg[i], acc[i]);
    else
      for (int64_t i = 0; i < len; ++i) pd[i] = softmax_bwd(py[i], pg[i], acc[i]);
  }
}
// Per-ISA entry points (XGD_SOFTMAX_CLONES), one overload per dtype.
#define XGD_SOFTMAX_WORKERS(T)                                                                  \
  XGD_SOFTMAX_CLONES void softmax_row_isa(const T* x, T* y, int64_t n, bool log) {              \
    softmax_row<T>(x, y, n, log);                                                               \
  }                                                                                             \
  XGD_SOFTMAX_CLONES void softmax_block_isa(const T* x, T* y, int64_t C, int64_t inner,         \
                                            int64_t len, bool log) {                            \
    softmax_block<T>(x, y, C, inner, len, log);                                                 \
  }                                                                                             \
  XGD_SOFTMAX_CLONES void softmax_backward_block_isa(const T* y, const T* dy, T* dx, int64_t C, \
                                                     int64_t inner, int64_t len, bool log) {    \
    softmax_backward_block<T>(y, dy, dx, C, inner, len, log);                                   \
  }
XGD_SOFTMAX_WORKERS(float)
XGD_SOFTMAX_WORKERS(double)
#undef XGD_SOFTMAX_WORKERS
}  // namespace

template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log) {
  if (outer * C * inner == 0) return;
  const bool par = outer * C * inner > kParallel;
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (par)
    for (int64_t o = 0; o < outer; ++o) softmax_row_isa(x + o * C, y + o * C, C, log);
    return;
  }
  const int64_t nb = (inner + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t k = 0; k < outer * nb; ++k) {
    const int64_t o = k / nb, i0 = (k % nb) * kBlock;
    const int64_t off = o * C * inner + i0;
    softmax_block_isa(x + off, y + off, C, inner, std::min(kBlock, inner - i0), log);
  }
}

template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, int64_t outer, int64_t C, int64_t inner,
                      bool log) {
  if (outer * C * inner == 0) return;
  const bool par = outer * C * inner > kParallel;
  // inner == 1 runs as blocks of one pixel with stride 1 between classes.
  const int64_t blk = inner == 1 ? 1 : kBlock;
  const int64_t nb = (inner + blk - 1) / blk;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t k = 0; k < outer * nb; ++k) {
    const int64_t o = k / nb, i0 = (k % nb) * blk;
    const int64_t off = o * C * inner + i0;
    softmax_backward_block_isa(y + off, dy + off, dx + off, C, inner, std::min(blk, inner - i0),
                               log);
  }
}

#define XGD_INSTANTIATE(T)                                                         \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t, int64_t, bool); \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, bool);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

}  // namespace xgd::kernels::cpu
