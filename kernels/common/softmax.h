// Per-element maths of softmax / log_softmax backward: one truth for the CPU backend and the
// CUDA kernels. y = the forward's output, dy = upstream gradient. Exponentials are taken by
// the caller (each backend has its own fast exp), so these are the formulas alone.
#pragma once
#include "kernels/common/hd.h"

namespace xgd::kernels {

// softmax: dx = y · (dy − Σ_c dy·y)   (dot = Σ_c dy·y over the softmax dim)
template <class T>
XGD_HD T softmax_bwd(T y, T dy, T dot) {
  return y * (dy - dot);
}
// log_softmax: dx = dy − exp(y) · Σ_c dy   (p = exp(y), sum = Σ_c dy over the softmax dim)
template <class T>
XGD_HD T log_softmax_bwd(T p, T dy, T sum) {
  return dy - p * sum;
}

}  // namespace xgd::kernels
