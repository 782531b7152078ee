// CPU kernels of the optimizers: raw pointers and sizes only (DESIGN.md §2). Each call updates
// one parameter tensor of n elements in place (=): p, and the state buffers it is given.
#pragma once
#include <cstdint>

#include "kernels/common/optim.h"

namespace xgd::kernels::cpu {

// p, g, buf: (n). buf may be null when h.momentum == 0.
template <class T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, const SgdHyper<T>& h);

// p, g, exp_avg, exp_avg_sq: (n).
template <class T>
void adam_step(T* p, const T* g, T* exp_avg, T* exp_avg_sq, int64_t n, const AdamHyper<T>& h);

}  // namespace xgd::kernels::cpu
