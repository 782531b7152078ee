// Batch normalisation kernels. Reductions run per channel (parallel over C) with eight
// independent double accumulators, so the loops pipeline without -ffast-math; the
// element-wise passes run over (N, C) planes with a per-channel multiply-add.
#include "kernels/cpu/norm.h"

#include <vector>

#include "kernels/common/norm.h"

namespace xgd::kernels::cpu {

namespace {
constexpr int64_t kParallelWork = 16384;
constexpr int kLanes = 8;

// Σ p[i] in double.
template <class T>
double sum(const T* p, int64_t n) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += static_cast<double>(p[i + l]);
  for (; i < n; ++i) acc[0] += static_cast<double>(p[i]);
  double s = 0;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}
// Σ (p[i] - mean)² in double.
template <class T>
double sum_sq_dev(const T* p, int64_t n, double mean) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const double d = static_cast<double>(p[i + l]) - mean;
      acc[l] += d * d;
    }
  for (; i < n; ++i) {
    const double d = static_cast<double>(p[i]) - mean;
    acc[0] += d * d;
  }
  double s = 0;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}
// Σ dy[i] and Σ dy[i]·(x[i] - mean) in double.
template <class T>
void sum_dot(const T* x, const T* dy, int64_t n, double mean, double& s_dy, double& s_dot) {
  double a[kLanes] = {}, b[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const double g = static_cast<double>(dy[i + l]);
      a[l] += g;
      b[l] += g * (static_cast<double>(x[i + l]) - mean);
    }
  for (; i < n; ++i) {
    const double g = static_cast<double>(dy[i]);
    a[0] += g;
    b[0] += g * (static_cast<double>(x[i]) - mean);
  }
  for (int l = 0; l < kLanes; ++l) {
    s_dy += a[l];
    s_dot += b[l];
  }
}
}  // namespace

template <class T>
void batch_norm_stats(const T* x, const BatchNormGeometry& g, double* mean, double* var) {
  const double count = static_cast<double>(g.n * g.hw);
#pragma omp parallel for schedule(static) if (g.n * g.c * g.hw > kParallelWork)
  for (int64_t c = 0; c < g.c; ++c) {
    double s = 0;
    for (int64_t n = 0; n < g.n; ++n) s += sum(x + (n * g.c + c) * g.hw, g.hw);
    const double m = s / count;
    double v = 0;
    for (int64_t n = 0; n < g.n; ++n) v += sum_sq_dev(x + (n * g.c + c) * g.hw, g.hw, m);
    mean[c] = m;
    var[c] = v / count;
  }
}

template <class T>
void batch_norm_forward(const T* x, T* y, const BatchNormGeometry& g, const double* mean,
                        const double* invstd, const T* weight, const T* bias) {
  std::vector<T> alpha(g.c), beta(g.c);  // (C)
  for (int64_t c = 0; c < g.c; ++c) {
    alpha[c] = bn_alpha(static_cast<T>(invstd[c]), weight ? weight[c] : T(1));
    beta[c] = bn_beta(static_cast<T>(mean[c]), alpha[c], bias ? bias[c] : T(0));
  }
  const int64_t planes = g.n * g.c;
#pragma omp parallel for schedule(static) if (planes * g.hw > kParallelWork)
  for (int64_t p = 0; p < planes; ++p) {
    const int64_t c = p % g.c;
    const T a = alpha[c], b = beta[c];
    const T* xp = x + p * g.hw;  // (HW)
    T* yp = y + p * g.hw;
    for (int64_t i = 0; i < g.hw; ++i) yp[i] = xp[i] * a + b;
  }
}

template <class T>
void batch_norm_backward(const T* x, const T* dy, T* dx, T* dweight, T* dbias,
                         const BatchNormGeometry& g, const double* mean, const double* invstd,
                         const T* weight, bool training) {
  const double count = static_cast<double>(g.n * g.hw);
  const bool need_sums = dweight || dbias || (dx && training);
#pragma omp parallel for schedule(static) if (g.n * g.c * g.hw > kParallelWork)
  for (int64_t c = 0; c < g.c; ++c) {
    double s_dy = 0, s_dot = 0;
    if (need_sums)
      for (int64_t n = 0; n < g.n; ++n) {
        const int64_t off = (n * g.c + c) * g.hw;
        sum_dot(x + off, dy + off, g.hw, mean[c], s_dy, s_dot);
      }
    if (dweight) dweight[c] = static_cast<T>(s_dot * invstd[c]);
    if (dbias) dbias[c] = static_cast<T>(s_dy);
    if (!dx) continue;
    const T scale = static_cast<T>(invstd[c]) * (weight ? weight[c] : T(1));
    const T m = static_cast<T>(mean[c]);
    // Eval: dx = dy·invstd·w (the statistics are constants).
    const T mean_dy = training ? static_cast<T>(s_dy / count) : T(0);
    const T k = training ? static_cast<T>(s_dot * invstd[c] * invstd[c] / count) : T(0);
    for (int64_t n = 0; n < g.n; ++n) {
      const int64_t off = (n * g.c + c) * g.hw;
      const T* xp = x + off;  // (HW)
      const T* gp = dy + off;
      T* dp = dx + off;
      for (int64_t i = 0; i < g.hw; ++i) dp[i] = bn_train_dx(gp[i], xp[i], m, mean_dy, k, scale);
    }
  }
}

template <class T>
void batch_norm_update_running(T* running_mean, T* running_var, const double* mean,
                               const double* var, int64_t c, int64_t count, double momentum) {
  const double unbias = static_cast<double>(count) / static_cast<double>(count - 1);
  for (int64_t i = 0; i < c; ++i) {
    running_mean[i] = bn_running_update(running_mean[i], mean[i], momentum);
    running_var[i] = bn_running_update(running_var[i], var[i] * unbias, momentum);
  }
}

#define XGD_INSTANTIATE(T)                                                                       \
  template void batch_norm_stats<T>(const T*, const BatchNormGeometry&, double*, double*);       \
  template void batch_norm_forward<T>(const T*, T*, const BatchNormGeometry&, const double*,     \
                                      const double*, const T*, const T*);                        \
  template void batch_norm_backward<T>(const T*, const T*, T*, T*, T*, const BatchNormGeometry&, \
                                       const double*, const double*, const T*, bool);            \
  template void batch_norm_update_running<T>(T*, T*, const double*, const double*, int64_t,      \
                                             int64_t, double);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

}  // namespace xgd::kernels::cpu
