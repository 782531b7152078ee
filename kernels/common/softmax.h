// Per-element maths of softmax / log_softmax backward: one truth for the CPU backend and the
// CUDA kernels. y = the forward's output, dy = upstream gradient.
#pragma once
#include <cmath>

#include "kernels/common/hd.h"

namespace xgd::kernels {

// softmax: dx = y · (dy − Σ_c dy·y)   (dot = Σ_c dy·y over the softmax dim)
template <class T>
XGD_HD T softmax_bwd(T y, T dy, T dot) {
  return y * (dy - dot);
}
// log_softmax: dx = dy − exp(y) · Σ_c dy   (sum = Σ_c dy over the softmax dim)
template <class T>
XGD_HD T log_softmax_bwd(T y, T dy, T sum) {
  return dy - std::exp(y) * sum;
}

}  // namespace xgd::kernels
