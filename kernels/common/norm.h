// Per-element maths of batch normalisation, shared by the CPU backend and the CUDA kernels.
// Follows ATen's CPU batch_norm (batch_norm_cpu_transform_input, batch_norm_backward_cpu).
#pragma once
#include <cmath>

#include "kernels/common/hd.h"

namespace xgd::kernels {

XGD_HD double bn_invstd(double var, double eps) {
  return 1.0 / std::sqrt(var + eps);
}

// Forward as ATen's fast path: y = x·alpha + beta with alpha = invstd·w, beta = b - mean·alpha
// per channel (one multiply-add per element).
template <class T>
XGD_HD T bn_alpha(T invstd, T weight) {
  return invstd * weight;
}
template <class T>
XGD_HD T bn_beta(T mean, T alpha, T bias) {
  return bias - mul_rn(mean, alpha);
}
// y = x·alpha + beta.
template <class T>
XGD_HD T bn_apply(T x, T alpha, T beta) {
  return mul_rn(x, alpha) + beta;
}

// Training-mode input gradient (through the batch mean and variance):
// dx = (dy - mean(dy) - (x - mean)·k) · invstd·w, with k = Σ dy·(x - mean) · invstd² / count.
// Eval mode (fixed running stats) is dy · invstd·w: the same formula with mean_dy = k = 0.
template <class T>
XGD_HD T bn_train_dx(T dy, T x, T mean, T mean_dy, T k, T scale) {
  return (dy - mean_dy - mul_rn(x - mean, k)) * scale;
}

// Running-stat update, PyTorch's momentum convention: r = (1 - m)·r + m·stat.
template <class T>
XGD_HD T bn_running_update(T running, double stat, double momentum) {
  return static_cast<T>(mul_rn(1.0 - momentum, static_cast<double>(running)) +
                        mul_rn(momentum, stat));
}

}  // namespace xgd::kernels
