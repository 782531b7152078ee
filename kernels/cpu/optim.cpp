#include "kernels/cpu/optim.h"

namespace xgd::kernels::cpu {

// Each element is independent, so the result does not depend on the thread count, and fmadd is
// correctly rounded, so the FMA-hardware path and the portable one give identical bits (resumes
// are bit-identical on any machine). The loops are stamped out twice: once for the baseline
// ISA (std::fma is a libm call there) and once with AVX2+FMA enabled for this function only
// (fmadd becomes vfmadd; the SGD loop vectorises, Adam's stays scalar because of sqrt's errno
// check), picked at run time.
namespace {

// The hyper-parameters are copied into each thread's locals so the compiler sees them as loop
// invariants (not memory the stores to p might alias) and unswitches the per-flag branches.
#define XGD_OPTIM_LOOPS(SUFFIX, ATTR)                                                         \
  template <class T>                                                                          \
  ATTR void sgd_loop_##SUFFIX(T* p, const T* g, T* buf, int64_t n, SgdHyper<T> hyper) {       \
    _Pragma("omp parallel if (n > 65536)") {                                                  \
      const SgdHyper<T> h = hyper;                                                            \
      if (h.momentum == T(0)) {                                                               \
        _Pragma("omp for schedule(static)") for (int64_t i = 0; i < n; ++i) {                 \
          T unused = T(0);                                                                    \
          sgd_update(p[i], g[i], unused, h);                                                  \
        }                                                                                     \
      } else {                                                                                \
        _Pragma("omp for schedule(static)") for (int64_t i = 0; i < n; ++i)                   \
            sgd_update(p[i], g[i], buf[i], h);                                                \
      }                                                                                       \
    }                                                                                         \
  }                                                                                           \
  template <class T>                                                                          \
  ATTR void adam_loop_##SUFFIX(T* p, const T* g, T* m, T* v, int64_t n, AdamHyper<T> hyper) { \
    _Pragma("omp parallel if (n > 65536)") {                                                  \
      const AdamHyper<T> h = hyper;                                                           \
      _Pragma("omp for schedule(static)") for (int64_t i = 0; i < n; ++i)                     \
          adam_update(p[i], g[i], m[i], v[i], h);                                             \
    }                                                                                         \
  }

XGD_OPTIM_LOOPS(base, )
#if defined(__x86_64__) && defined(__GNUC__)
XGD_OPTIM_LOOPS(fma, __attribute__((target("avx2,fma"))))
bool use_fma() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}
#else
bool use_fma() {
  return false;
}
#define sgd_loop_fma sgd_loop_base
#define adam_loop_fma adam_loop_base
#endif
#undef XGD_OPTIM_LOOPS

}  // namespace

template <class T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, const SgdHyper<T>& h) {
  if (use_fma()) return sgd_loop_fma<T>(p, g, buf, n, h);
  sgd_loop_base<T>(p, g, buf, n, h);
}

template <class T>
void adam_step(T* p, const T* g, T* exp_avg, T* exp_avg_sq, int64_t n, const AdamHyper<T>& h) {
  if (use_fma()) return adam_loop_fma<T>(p, g, exp_avg, exp_avg_sq, n, h);
  adam_loop_base<T>(p, g, exp_avg, exp_avg_sq, n, h);
}

template void sgd_step<float>(float*, const float*, float*, int64_t, const SgdHyper<float>&);
template void sgd_step<double>(double*, const double*, double*, int64_t, const SgdHyper<double>&);
template void adam_step<float>(float*, const float*, float*, float*, int64_t,
                               const AdamHyper<float>&);
template void adam_step<double>(double*, const double*, double*, double*, int64_t,
                                const AdamHyper<double>&);

}  // namespace xgd::kernels::cpu
