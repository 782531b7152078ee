#include "kernels/cpu/cam.h"

#include <vector>

#include "kernels/common/cam.h"

namespace xgd::kernels::cpu {

namespace {
constexpr int64_t kParallel = 32768;  // below this many elements, one thread
}

template <class T>
void cam_channel_mean(const T* g, int64_t rows, int64_t P, T* w) {
  const double scale = 1.0 / static_cast<double>(P);  // mean as sum · (1/count), as reduce_sum
#pragma omp parallel for schedule(static) if (rows * P > kParallel)
  for (int64_t r = 0; r < rows; ++r) {
    double acc = 0;
    for (int64_t p = 0; p < P; ++p) acc += static_cast<double>(g[r * P + p]);
    w[r] = static_cast<T>(acc * scale);
  }
}

template <class T>
void gradcampp_weights(const T* a, const T* g, int64_t rows, int64_t P, T* w) {
#pragma omp parallel for schedule(static) if (rows * P > kParallel)
  for (int64_t r = 0; r < rows; ++r) {
    double sa = 0;
    for (int64_t p = 0; p < P; ++p) sa += static_cast<double>(a[r * P + p]);
    const T sum_a = static_cast<T>(sa);
    double acc = 0;
    for (int64_t p = 0; p < P; ++p) acc += static_cast<double>(gradcampp_term(g[r * P + p], sum_a));
    w[r] = static_cast<T>(acc);
  }
}

template <class T>
void cam_weighted_sum_relu(const T* a, const T* w, int64_t N, int64_t C, int64_t P, bool pixel,
                           T* m) {
#pragma omp parallel for schedule(static) if (N * C * P > kParallel)
  for (int64_t n = 0; n < N; ++n) {
    // Pixels inner: each channel plane is streamed once, the accumulators stay in a row.
    std::vector<double> acc(P, 0.0);
    for (int64_t k = 0; k < C; ++k) {
      const T* ak = a + (n * C + k) * P;
      if (pixel) {
        const T* wk = w + (n * C + k) * P;
        for (int64_t p = 0; p < P; ++p) acc[p] = cam_accumulate(acc[p], wk[p], ak[p]);
      } else {
        const T wk = w[n * C + k];
        for (int64_t p = 0; p < P; ++p) acc[p] = cam_accumulate(acc[p], wk, ak[p]);
      }
    }
    for (int64_t p = 0; p < P; ++p) m[n * P + p] = relu_fwd(static_cast<T>(acc[p]));
  }
}

template <class T>
void cam_weighted_sum_relu_backward(const T* m, const T* dm, const T* w, int64_t N, int64_t C,
                                    int64_t P, bool pixel, T* da) {
#pragma omp parallel for collapse(2) schedule(static) if (N * C * P > kParallel)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < C; ++k) {
      T* dak = da + (n * C + k) * P;
      const T* mn = m + n * P;
      const T* dmn = dm + n * P;
      for (int64_t p = 0; p < P; ++p) {
        const T wk = pixel ? w[(n * C + k) * P + p] : w[n * C + k];
        dak[p] = relu_bwd(mn[p], dmn[p]) * wk;
      }
    }
}

template <class T>
void minmax_normalise(const T* x, int64_t N, int64_t P, T eps, T* out, int64_t* index) {
#pragma omp parallel for schedule(static) if (N * P > kParallel)
  for (int64_t n = 0; n < N; ++n) {
    const T* xn = x + n * P;
    int64_t ilo = 0, ihi = 0;
    for (int64_t p = 1; p < P; ++p) {
      if (minmax_better(false, xn[p], p, xn[ilo], ilo)) ilo = p;
      if (minmax_better(true, xn[p], p, xn[ihi], ihi)) ihi = p;
    }
    const T lo = xn[ilo], den = minmax_denominator(lo, xn[ihi], eps);
    for (int64_t p = 0; p < P; ++p) out[n * P + p] = minmax_forward(xn[p], lo, den);
    index[2 * n] = ilo;
    index[2 * n + 1] = ihi;
  }
}

template <class T>
void minmax_normalise_backward(const T* x, const int64_t* index, const T* dy, int64_t N, int64_t P,
                               T eps, T* dx) {
#pragma omp parallel for schedule(static) if (N * P > kParallel)
  for (int64_t n = 0; n < N; ++n) {
    const T* xn = x + n * P;
    const T* dyn = dy + n * P;
    const int64_t ilo = index[2 * n], ihi = index[2 * n + 1];
    const T lo = xn[ilo], den = minmax_denominator(lo, xn[ihi], eps);
    double s0 = 0, s1 = 0;
    for (int64_t p = 0; p < P; ++p) {
      s0 += static_cast<double>(dyn[p]);
      s1 = cam_accumulate(s1, dyn[p], minmax_forward(xn[p], lo, den));
    }
    for (int64_t p = 0; p < P; ++p)
      dx[n * P + p] = minmax_backward(dyn[p], den, p == ilo, p == ihi, s0, s1);
  }
}

#define XGD_INSTANTIATE(T)                                                                         \
  template void cam_channel_mean<T>(const T*, int64_t, int64_t, T*);                               \
  template void gradcampp_weights<T>(const T*, const T*, int64_t, int64_t, T*);                    \
  template void cam_weighted_sum_relu<T>(const T*, const T*, int64_t, int64_t, int64_t, bool, T*); \
  template void cam_weighted_sum_relu_backward<T>(const T*, const T*, const T*, int64_t, int64_t,  \
                                                  int64_t, bool, T*);                              \
  template void minmax_normalise<T>(const T*, int64_t, int64_t, T, T*, int64_t*);                  \
  template void minmax_normalise_backward<T>(const T*, const int64_t*, const T*, int64_t, int64_t, \
                                             T, T*);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

}  // namespace xgd::kernels::cpu
