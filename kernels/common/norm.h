// Per-element maths of batch normalisation, shared by the CPU backend and the CUDA kernels.
// Follows ATen's CPU batch_norm (batch_norm_cpu_transform_input, batch_norm_backward_cpu).
#pragma once
#include <cmath>

#include "kernels/common/hd.h"

namespace xgd::kernels {

// a·b rounded on its own: nvcc would otherwise contract a·b + c into one FMA on the device,
// while the CPU build (no FMA) rounds twice; keeping the product apart makes the backends agree
// bit for bit.
XGD_HD float bn_mul(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
XGD_HD double bn_mul(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

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
  return bias - bn_mul(mean, alpha);
}
// y = x·alpha + beta.
template <class T>
XGD_HD T bn_apply(T x, T alpha, T beta) {
  return bn_mul(x, alpha) + beta;
}

// Training-mode input gradient (through the batch mean and variance):
// dx = (dy - mean(dy) - (x - mean)·k) · invstd·w, with k = Σ dy·(x - mean) · invstd² / count.
// Eval mode (fixed running stats) is dy · invstd·w: the same formula with mean_dy = k = 0.
template <class T>
XGD_HD T bn_train_dx(T dy, T x, T mean, T mean_dy, T k, T scale) {
  return (dy - mean_dy - bn_mul(x - mean, k)) * scale;
}

// Running-stat update, PyTorch's momentum convention: r = (1 - m)·r + m·stat.
template <class T>
XGD_HD T bn_running_update(T running, double stat, double momentum) {
  return static_cast<T>(bn_mul(1.0 - momentum, static_cast<double>(running)) +
                        bn_mul(momentum, stat));
}

}  // namespace xgd::kernels
