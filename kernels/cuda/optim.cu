// CUDA kernels of the optimizers (SGD with momentum/dampening/nesterov/weight decay, Adam,
// AdamW): each element is independent, so one grid-stride pass per parameter tensor reads p, g
// and the state once and writes p and the state once (coalesced, 256-thread blocks). Updates
// overwrite p and the state (=). Built by nvcc into xgd_kernels_cuda and by the host compiler
// into xgd_kernels_emu (kernels/emu).
#include "kernels/cuda/device.h"
// (device.h first)
#include "kernels/common/optim.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/optim.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

// Hyper-parameters by value: they reach the kernel as launch arguments (constant bank).
template <class T>
__global__ void sgd_kernel(T* __restrict__ p, const T* __restrict__ g, int64_t n, SgdHyper<T> h) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) {
    T unused = T(0);
    T pi = p[i];
    sgd_update(pi, g[i], unused, h);
    p[i] = pi;
  }
}
template <class T>
__global__ void sgd_momentum_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ buf,
                                    int64_t n, SgdHyper<T> h) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) {
    T pi = p[i];
    T bi = h.first ? T(0) : buf[i];  // the first step never reads the fresh (garbage) buffer
    sgd_update(pi, g[i], bi, h);
    p[i] = pi;
    buf[i] = bi;
  }
}

template <class T>
__global__ void adam_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m,
                            T* __restrict__ v, int64_t n, AdamHyper<T> h) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) {
    T pi = p[i], mi = m[i], vi = v[i];
    adam_update(pi, g[i], mi, vi, h);
    p[i] = pi;
    m[i] = mi;
    v[i] = vi;
  }
}

}  // namespace

template <class T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, SgdHyper<T> h, cudaStream_t s) {
  if (n == 0) return;
  if (h.momentum == T(0)) {
    XGD_LAUNCH(sgd_kernel<T>, grid_1d(n), kBlock, 0, s)(p, g, n, h);
  } else {
    XGD_LAUNCH(sgd_momentum_kernel<T>, grid_1d(n), kBlock, 0, s)(p, g, buf, n, h);
  }
  XGD_CHECK_LAUNCH();
}

template <class T>
void adam_step(T* p, const T* g, T* exp_avg, T* exp_avg_sq, int64_t n, AdamHyper<T> h,
               cudaStream_t s) {
  if (n == 0) return;
  XGD_LAUNCH(adam_kernel<T>, grid_1d(n), kBlock, 0, s)(p, g, exp_avg, exp_avg_sq, n, h);
  XGD_CHECK_LAUNCH();
}

const OptimTable& optim_table() {
  static const OptimTable table{{&sgd_step<float>, &adam_step<float>},
                                {&sgd_step<double>, &adam_step<double>}};
  return table;
}

#define XGD_INSTANTIATE(T)                                                         \
  template void sgd_step<T>(T*, const T*, T*, int64_t, SgdHyper<T>, cudaStream_t); \
  template void adam_step<T>(T*, const T*, T*, T*, int64_t, AdamHyper<T>, cudaStream_t);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
