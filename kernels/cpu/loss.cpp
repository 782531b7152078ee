// Fused loss kernels. Each works on blocks of up to kBlock contiguous pixels of one image,
// carrying per-pixel max / sums across the C class planes (stride P). Backward overwrites (=).
// Loss totals are summed per block in double, then over blocks in order, so the result does
// not depend on the thread count.
#include "kernels/cpu/loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/common/loss.h"
#include "kernels/cpu/softmax.h"  // exp_k

namespace xgd::kernels::cpu {

namespace {
constexpr int64_t kBlock = 256;
constexpr int64_t kParallel = 32768;

// Block decomposition of (N, P): block k covers image n, pixels [p0, p0 + len).
struct Blocks {
  int64_t per_image, total;
  Blocks(int64_t N, int64_t P) : per_image((P + kBlock - 1) / kBlock), total(N * per_image) {}
};

// lse[i] = log Σ_c exp(x[c·P + i]) for i < len (max-subtracted).   x: (C, P) from the block
template <class T>
void block_lse(const T* x, int64_t C, int64_t P, int64_t len, T scale, T* lse) {
  T m[kBlock], s[kBlock];
  for (int64_t i = 0; i < len; ++i) m[i] = x[i] * scale, s[i] = 0;
  for (int64_t c = 1; c < C; ++c) {
    const T* p = x + c * P;
    for (int64_t i = 0; i < len; ++i) m[i] = p[i] * scale > m[i] ? p[i] * scale : m[i];
  }
  for (int64_t c = 0; c < C; ++c) {
    const T* p = x + c * P;
    for (int64_t i = 0; i < len; ++i) s[i] += exp_k(p[i] * scale - m[i]);
  }
  for (int64_t i = 0; i < len; ++i) lse[i] = m[i] + std::log(s[i]);
}
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
    const int64_t n = k / b.per_image, p0 = (k % b.per_image) * kBlock;
    const int64_t len = std::min(kBlock, P - p0);
    const T* xb = x + n * C * P + p0;  // (C, P) planes from pixel p0
    T* lb = lse + n * P + p0;
    block_lse(xb, C, P, len, T(1), lb);
    const int64_t* yb = labels + n * P + p0;
    double s = 0;
    int64_t c = 0;
    for (int64_t i = 0; i < len; ++i) {
      if (yb[i] == ignore_index) continue;
      s += static_cast<double>(lb[i]) - static_cast<double>(xb[yb[i] * P + i]);
      ++c;
    }
    part[k] = s;
    cnt[k] = c;
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
    const int64_t n = k / b.per_image, p0 = (k % b.per_image) * kBlock;
    const int64_t len = std::min(kBlock, P - p0);
    const int64_t* yb = labels + n * P + p0;
    const T* lb = lse + n * P + p0;
    T w[kBlock];  // (len,) scale on kept pixels, 0 on ignored ones
    for (int64_t i = 0; i < len; ++i) w[i] = static_cast<T>(yb[i] != ignore_index) * scale;
    for (int64_t c = 0; c < C; ++c) {
      const T* xc = x + (n * C + c) * P + p0;
      T* dc = dx + (n * C + c) * P + p0;
      for (int64_t i = 0; i < len; ++i) dc[i] = ce_grad(exp_k(xc[i] - lb[i]), yb[i] == c, w[i]);
    }
  }
}

template <class T>
void kl_div_forward(const T* t, const T* s, int64_t N, int64_t C, int64_t P, T inv_tau, T* lse_t,
                    T* lse_s, T* kl, double* kl_sum) {
  Blocks b(N, P);
  std::vector<double> part(b.total);
#pragma omp parallel for schedule(static) if (N * C * P > kParallel)
  for (int64_t k = 0; k < b.total; ++k) {
    const int64_t n = k / b.per_image, p0 = (k % b.per_image) * kBlock;
    const int64_t len = std::min(kBlock, P - p0);
    const T* tb = t + n * C * P + p0;  // (C, P) planes from pixel p0
    const T* sb = s + n * C * P + p0;
    // Per pixel: max of z = x / tau, then one pass of sums (kl_from_sums in common/loss.h).
    T mt[kBlock], ms[kBlock], st[kBlock], ss[kBlock], a[kBlock];
    for (int64_t i = 0; i < len; ++i)
      mt[i] = tb[i] * inv_tau, ms[i] = sb[i] * inv_tau, st[i] = ss[i] = a[i] = 0;
    for (int64_t c = 1; c < C; ++c) {
      const T *tc = tb + c * P, *sc = sb + c * P;
      for (int64_t i = 0; i < len; ++i) {
        const T zt = tc[i] * inv_tau, zs = sc[i] * inv_tau;
        mt[i] = zt > mt[i] ? zt : mt[i];
        ms[i] = zs > ms[i] ? zs : ms[i];
      }
    }
    for (int64_t c = 0; c < C; ++c) {
      const T *tc = tb + c * P, *sc = sb + c * P;
      for (int64_t i = 0; i < len; ++i) {
        const T zt = tc[i] * inv_tau, zs = sc[i] * inv_tau;
        const T et = exp_k(zt - mt[i]);
        st[i] += et;
        ss[i] += exp_k(zs - ms[i]);
        a[i] += et * (zt - zs);
      }
    }
    T *lt = lse_t + n * P + p0, *ls = lse_s + n * P + p0, *kb = kl + n * P + p0;  // (len,)
    double sum = 0;
    for (int64_t i = 0; i < len; ++i) {
      lt[i] = mt[i] + std::log(st[i]);
      ls[i] = ms[i] + std::log(ss[i]);
      kb[i] = kl_from_sums(a[i], st[i], ss[i], mt[i], ms[i]);
      sum += kb[i];
    }
    part[k] = sum;
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
    const int64_t n = k / b.per_image, p0 = (k % b.per_image) * kBlock;
    const int64_t len = std::min(kBlock, P - p0);
    const int64_t poff = n * P + p0;
    const T *lt = lse_t + poff, *ls = lse_s + poff, *kb = kl + poff;
    for (int64_t c = 0; c < C; ++c) {
      const int64_t off = (n * C + c) * P + p0;
      const T *tc = t + off, *sc = s + off;
      if (ds) {
        T* d = ds + off;
        for (int64_t i = 0; i < len; ++i)
          d[i] =
              kl_grad_student(exp_k(tc[i] * inv_tau - lt[i]), exp_k(sc[i] * inv_tau - ls[i]), c_z);
      }
      if (dt) {
        T* d = dt + off;
        for (int64_t i = 0; i < len; ++i) {
          const T a = tc[i] * inv_tau - lt[i], b2 = sc[i] * inv_tau - ls[i];
          d[i] = kl_grad_teacher(exp_k(a), a, b2, kb[i], c_z);
        }
      }
    }
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
