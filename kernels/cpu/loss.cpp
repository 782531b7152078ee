// Fused loss kernels. Each works on blocks of up to kBlock contiguous pixels of one image,
// carrying per-pixel max / sums across the C class planes (stride P). Backward overwrites (=).
// Loss totals are summed per block in double, then over blocks in order, so the result does
// not depend on the thread count. The block workers are compiled per ISA (XGD_SOFTMAX_CLONES).
#include "kernels/cpu/loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/common/loss.h"
#include "kernels/cpu/softmax.h"  // exp_k, XGD_SOFTMAX_CLONES

namespace xgd::kernels::cpu {

namespace {
constexpr int64_t kBlock = 256;
constexpr int64_t kParallel = 32768;

// Block decomposition of (N, P): block k covers image n, pixels [p0, p0 + len).
struct Blocks {
  int64_t per_image, total;
  Blocks(int64_t N, int64_t P) : per_image((P + kBlock - 1) / kBlock), total(N * per_image) {}
  void at(int64_t k, int64_t P, int64_t& n, int64_t& p0, int64_t& len) const {
    n = k / per_image, p0 = (k % per_image) * kBlock, len = std::min(kBlock, P - p0);
  }
};

// ---------------------------------------------------------------- block bodies
// Cross-entropy forward of one block: lse (len,) and the block's loss sum / count.
//   x: (C, P) planes from the block's first pixel, y: (len,) labels
template <class T>
XGD_ALWAYS_INLINE double ce_forward_block(const T* x, const int64_t* y, int64_t C, int64_t P,
                                          int64_t len, int64_t ignore_index, T* lse,
                                          int64_t* count) {
  T m[kBlock], s[kBlock];  // (len,) max, Σ exp(x − max)
  for (int64_t i = 0; i < len; ++i) m[i] = x[i], s[i] = 0;
  for (int64_t c = 1; c < C; ++c) {
    const T* p = x + c * P;
    for (int64_t i = 0; i < len; ++i) m[i] = p[i] > m[i] ? p[i] : m[i];
  }
  for (int64_t c = 0; c < C; ++c) {
    const T* p = x + c * P;
    for (int64_t i = 0; i < len; ++i) s[i] += exp_k(p[i] - m[i]);
  }
  for (int64_t i = 0; i < len; ++i) lse[i] = m[i] + std::log(s[i]);
  double sum = 0;
  int64_t cnt = 0;
  for (int64_t i = 0; i < len; ++i) {
    if (y[i] == ignore_index) continue;
    sum += static_cast<double>(lse[i]) - static_cast<double>(x[y[i] * P + i]);
    ++cnt;
  }
  *count = cnt;
  return sum;
}

// dx (C, P) of one block = scale · (softmax − onehot), 0 on ignored pixels.
template <class T>
XGD_ALWAYS_INLINE void ce_backward_block(const T* x, const int64_t* y, const T* lse, int64_t C,
                                         int64_t P, int64_t len, int64_t ignore_index, T scale,
                                         T* dx) {
  T w[kBlock];  // (len,) scale on kept pixels, 0 on ignored ones
  for (int64_t i = 0; i < len; ++i) w[i] = static_cast<T>(y[i] != ignore_index) * scale;
  // Every class as a non-label first (a pure float loop that vectorises; comparing the int64
  // labels inside it does not), then the label's entry of each kept pixel.
  for (int64_t c = 0; c < C; ++c) {
    const T* xc = x + c * P;
    T* dc = dx + c * P;
    for (int64_t i = 0; i < len; ++i) dc[i] = ce_grad(exp_k(xc[i] - lse[i]), false, w[i]);
  }
  for (int64_t i = 0; i < len; ++i) {
    if (y[i] == ignore_index) continue;
    const int64_t j = y[i] * P + i;
    dx[j] = ce_grad(exp_k(x[j] - lse[i]), true, w[i]);
  }
}

// KL forward of one block: per pixel the max of z = x / tau, then one pass of sums
// (kl_from_sums in kernels/common/loss.h). Returns Σ kl over the block.
template <class T>
XGD_ALWAYS_INLINE double kl_forward_block(const T* t, const T* s, int64_t C, int64_t P, int64_t len,
                                          T inv_tau, T* lt, T* ls, T* kl) {
  T mt[kBlock], ms[kBlock], st[kBlock], ss[kBlock], a[kBlock];  // (len,) each
  for (int64_t i = 0; i < len; ++i)
    mt[i] = t[i] * inv_tau, ms[i] = s[i] * inv_tau, st[i] = ss[i] = a[i] = 0;
  for (int64_t c = 1; c < C; ++c) {
    const T *tc = t + c * P, *sc = s + c * P;
    for (int64_t i = 0; i < len; ++i) {
      const T zt = tc[i] * inv_tau, zs = sc[i] * inv_tau;
      mt[i] = zt > mt[i] ? zt : mt[i];
      ms[i] = zs > ms[i] ? zs : ms[i];
    }
  }
  for (int64_t c = 0; c < C; ++c) {
    const T *tc = t + c * P, *sc = s + c * P;
    for (int64_t i = 0; i < len; ++i) {
      const T zt = tc[i] * inv_tau, zs = sc[i] * inv_tau;
      const T et = exp_k(zt - mt[i]);
      st[i] += et;
      ss[i] += exp_k(zs - ms[i]);
      a[i] += et * (zt - zs);
    }
  }
  double sum = 0;
  for (int64_t i = 0; i < len; ++i) {
    lt[i] = mt[i] + std::log(st[i]);
    ls[i] = ms[i] + std::log(ss[i]);
    kl[i] = kl_from_sums(a[i], st[i], ss[i], mt[i], ms[i]);
    sum += kl[i];
  }
  return sum;
}

// KL backward of one block; c_z = coef / tau. dt / ds may be null.
template <class T>
XGD_ALWAYS_INLINE void kl_backward_block(const T* t, const T* s, const T* lt, const T* ls,
                                         const T* kl, int64_t C, int64_t P, int64_t len, T inv_tau,
                                         T c_z, T* dt, T* ds) {
  for (int64_t c = 0; c < C; ++c) {
    const T *tc = t + c * P, *sc = s + c * P;
    if (ds) {
      T* d = ds + c * P;
      for (int64_t i = 0; i < len; ++i)
        d[i] = kl_grad_student(exp_k(tc[i] * inv_tau - lt[i]), exp_k(sc[i] * inv_tau - ls[i]), c_z);
    }
    if (dt) {
      T* d = dt + c * P;
      for (int64_t i = 0; i < len; ++i) {
        const T a = tc[i] * inv_tau - lt[i], b = sc[i] * inv_tau - ls[i];
        d[i] = kl_grad_teacher(exp_k(a), a, b, kl[i], c_z);
      }
    }
  }
}

// Per-ISA entry points, one overload per dtype.
#define XGD_LOSS_WORKERS(T)                                                                      \
  XGD_SOFTMAX_CLONES double ce_forward_isa(const T* x, const int64_t* y, int64_t C, int64_t P,   \
                                           int64_t len, int64_t ignore, T* lse, int64_t* cnt) {  \
    return ce_forward_block<T>(x, y, C, P, len, ignore, lse, cnt);                               \
  }                                                                                              \
  XGD_SOFTMAX_CLONES void ce_backward_isa(const T* x, const int64_t* y, const T* lse, int64_t C, \
                                          int64_t P, int64_t len, int64_t ignore, T scale,       \
                                          T* dx) {                                               \
    ce_backward_block<T>(x, y, lse, C, P, len, ignore, scale, dx);                               \
  }                                                                                              \
  XGD_SOFTMAX_CLONES double kl_forward_isa(const T* t, const T* s, int64_t C, int64_t P,         \
                                           int64_t len, T inv_tau, T* lt, T* ls, T* kl) {        \
    return kl_forward_block<T>(t, s, C, P, len, inv_tau, lt, ls, kl);                            \
  }                                                                                              \
  XGD_SOFTMAX_CLONES void kl_backward_isa(const T* t, const T* s, const T* lt, const T* ls,      \
                                          const T* kl, int64_t C, int64_t P, int64_t len,        \
                                          T inv_tau, T c_z, T* dt, T* ds) {                      \
    kl_backward_block<T>(t, s, lt, ls, kl, C, P, len, inv_tau, c_z, dt, ds);                     \
  }
XGD_LOSS_WORKERS(float)
XGD_LOSS_WORKERS(double)
#undef XGD_LOSS_WORKERS
}  // namespace

int64_t first_bad_label(const int64_t* labels, int64_t n, int64_t C, int64_t ignore_index) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t y = labels[i];
    if (y != ignore_index && (y < 0 || y >= C)) return i;
  }
  return -1;
}

template <class T>
void cross_entropy_forward(const T* x, const int64_t* labels, int64_t N, int64_t C, int64_t P,
                           int64_t ignore_index, T* lse, double* loss_sum, int64_t* count) {
  Blocks b(N, P);
  std::vector<double> part(b.total);
  std::vector<int64_t> cnt(b.total);
#pragma omp parallel for schedule(static) if (N * C * P > kParallel)
  for (int64_t k = 0; k < b.total; ++k) {
    int64_t n, p0, len;
    b.at(k, P, n, p0, len);
    part[k] = ce_forward_isa(x + n * C * P + p0, labels + n * P + p0, C, P, len, ignore_index,
                             lse + n * P + p0, &cnt[k]);
  }
  double s = 0;
  int64_t c = 0;
  for (int64_t k = 0; k < b.total; ++k) s += part[k], c += cnt[k];
  *loss_sum = s;
  *count = c;
}

template <class T>
void cross_entropy_backward(const T* x, const int64_t* labels, const T* lse, int64_t N, int64_t C,
                            int64_t P, int64_t ignore_index, T scale, T* dx) {
  Blocks b(N, P);
#pragma omp parallel for schedule(static) if (N * C * P > kParallel)
  for (int64_t k = 0; k < b.total; ++k) {
    int64_t n, p0, len;
    b.at(k, P, n, p0, len);
    ce_backward_isa(x + n * C * P + p0, labels + n * P + p0, lse + n * P + p0, C, P, len,
                    ignore_index, scale, dx + n * C * P + p0);
  }
}

template <class T>
void kl_div_forward(const T* t, const T* s, int64_t N, int64_t C, int64_t P, T inv_tau, T* lse_t,
                    T* lse_s, T* kl, double* kl_sum) {
  Blocks b(N, P);
  std::vector<double> part(b.total);
#pragma omp parallel for schedule(static) if (N * C * P > kParallel)
  for (int64_t k = 0; k < b.total; ++k) {
    int64_t n, p0, len;
    b.at(k, P, n, p0, len);
    const int64_t off = n * C * P + p0, poff = n * P + p0;
    part[k] =
        kl_forward_isa(t + off, s + off, C, P, len, inv_tau, lse_t + poff, lse_s + poff, kl + poff);
  }
  double sum = 0;
  for (int64_t k = 0; k < b.total; ++k) sum += part[k];
  *kl_sum = sum;
}

template <class T>
void kl_div_backward(const T* t, const T* s, const T* lse_t, const T* lse_s, const T* kl, int64_t N,
                     int64_t C, int64_t P, T inv_tau, T coef, T* dt, T* ds) {
  Blocks b(N, P);
  const T c_z = coef * inv_tau;  // through z = x / tau
#pragma omp parallel for schedule(static) if (N * C * P > kParallel)
  for (int64_t k = 0; k < b.total; ++k) {
    int64_t n, p0, len;
    b.at(k, P, n, p0, len);
    const int64_t off = n * C * P + p0, poff = n * P + p0;
    kl_backward_isa(t + off, s + off, lse_t + poff, lse_s + poff, kl + poff, C, P, len, inv_tau,
                    c_z, dt ? dt + off : nullptr, ds ? ds + off : nullptr);
  }
}

template <class T>
double squared_error_sum(const T* a, const T* b, int64_t n) {
  constexpr int64_t kChunk = 16384;
  const int64_t nc = (n + kChunk - 1) / kChunk;
  std::vector<double> part(nc);
#pragma omp parallel for schedule(static) if (n > kParallel)
  for (int64_t k = 0; k < nc; ++k) {
    const int64_t i0 = k * kChunk, len = std::min(kChunk, n - i0);
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = i0; i < i0 + len; ++i) {
      double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
      s += d * d;
    }
    part[k] = s;
  }
  double s = 0;
  for (double p : part) s += p;
  return s;
}

template <class T>
void mse_backward(const T* a, const T* b, int64_t n, T scale, T* da, T* db) {
#pragma omp parallel for schedule(static) if (n > kParallel)
  for (int64_t i = 0; i < n; ++i) {
    T d = scale * (a[i] - b[i]);
    if (da) da[i] = d;
    if (db) db[i] = -d;
  }
}

#define XGD_INSTANTIATE(T)                                                                      \
  template void cross_entropy_forward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t,   \
                                         int64_t, T*, double*, int64_t*);                       \
  template void cross_entropy_backward<T>(const T*, const int64_t*, const T*, int64_t, int64_t, \
                                          int64_t, int64_t, T, T*);                             \
  template void kl_div_forward<T>(const T*, const T*, int64_t, int64_t, int64_t, T, T*, T*, T*, \
                                  double*);                                                     \
  template void kl_div_backward<T>(const T*, const T*, const T*, const T*, const T*, int64_t,   \
                                   int64_t, int64_t, T, T, T*, T*);                             \
  template double squared_error_sum<T>(const T*, const T*, int64_t);                            \
  template void mse_backward<T>(const T*, const T*, int64_t, T, T*, T*);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

}  // namespace xgd::kernels::cpu
