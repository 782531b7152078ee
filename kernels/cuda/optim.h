// CUDA kernels of the optimizers: one fused launch per parameter tensor per step, updating p and
// its state in place (=), enqueued on `stream`, never synchronising. The per-element maths is
// kernels/common/optim.h, shared with kernels/cpu/optim.*: fmadd is fma on both sides and
// nvcc contracts nothing else in it (no a·b + c left as an expression), so a CUDA step equals
// the CPU step bit for bit. Hyper-parameters (lr, bias corrections from the host's step count)
// are host scalars passed by value: no device round trip. Plain C++: the engine includes it.
#pragma once
#include <cstdint>

#include "kernels/common/optim.h"
#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

struct OptimTable;

XGD_CUDA_ABI_BEGIN
// p, g, buf: (n) device pointers. buf may be null when h.momentum == 0.
template <class T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, SgdHyper<T> h, cudaStream_t stream);
// p, g, exp_avg, exp_avg_sq: (n) device pointers.
template <class T>
void adam_step(T* p, const T* g, T* exp_avg, T* exp_avg_sq, int64_t n, AdamHyper<T> h,
               cudaStream_t stream);

// The launchers above as one table, for the engine's dispatch (engine/optim/optimizer.cpp).
const OptimTable& optim_table();
XGD_CUDA_ABI_END

template <class T>
struct OptimFns {
  decltype(&cuda::sgd_step<T>) sgd_step;
  decltype(&cuda::adam_step<T>) adam_step;
};

struct OptimTable {
  OptimFns<float> f32;
  OptimFns<double> f64;
  template <class T>
  const OptimFns<T>& of() const {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

}  // namespace xgd::kernels::cuda
