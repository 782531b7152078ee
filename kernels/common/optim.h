// Per-element update maths of the optimizers: one truth for the CPU backend and the CUDA
// kernels. Each body reproduces torch.optim's single-tensor (foreach=False) update, operation
// by operation and in the same order, with the same rounding points: the Python scalars (lr,
// betas, bias corrections) are computed in double on the host and rounded once to T, as ATen
// converts a Scalar to the tensor's opmath type; where ATen's vectorised CPU kernels use a
// fused multiply-add (add with alpha, lerp, addcmul) so does fmadd here. fma is correctly
// rounded everywhere, so CPU (with or without FMA hardware) and CUDA give identical bits.
// Updates overwrite p and the state (=).
#pragma once
#include <cmath>

#include "kernels/common/hd.h"

namespace xgd::kernels {

// a·b + c with one rounding.
template <class T>
XGD_HD T fmadd(T a, T b, T c) {
#if defined(__CUDACC__)
  return fma(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

// torch.optim.SGD: g += wd·p; buf = g (first step) or buf·m + (1 − dampening)·g;
// g = g + m·buf (nesterov) or buf; p += (−lr)·g.
template <class T>
struct SgdHyper {
  T neg_lr;          // −lr
  T weight_decay;    // 0: off
  T momentum;        // 0: no buffer
  T one_minus_damp;  // 1 − dampening
  bool nesterov;
  bool first;  // buffer not yet initialised: buf = g (torch clones the gradient)
};

template <class T>
XGD_HD void sgd_update(T& p, T g, T& buf, const SgdHyper<T>& h) {
  if (h.weight_decay != T(0)) g = fmadd(h.weight_decay, p, g);  // grad.add(param, alpha=wd)
  if (h.momentum != T(0)) {
    // buf.mul_(momentum).add_(grad, alpha=1 - dampening): the product rounded, as two ATen ops.
    buf = h.first ? g : fmadd(h.one_minus_damp, g, T(buf * h.momentum));
    g = h.nesterov ? fmadd(h.momentum, buf, g) : buf;  // grad.add(buf, alpha=momentum)
  }
  p = fmadd(h.neg_lr, g, p);  // param.add_(grad, alpha=-lr)
}

// torch.optim.Adam / AdamW (amsgrad=False, maximize=False).
template <class T>
struct AdamHyper {
  T l2;           // Adam's weight decay added to the gradient (0: off)
  T decay;        // AdamW's decoupled factor 1 − lr·wd applied to p first (1: off)
  T lerp_weight;  // 1 − beta1
  T beta2;
  T one_minus_beta2;
  T bc2_sqrt;  // sqrt(1 − beta2^step)
  T eps;
  T neg_step_size;  // −lr / (1 − beta1^step)
};

// ATen's lerp (lerp_vec in LerpKernel.cpp): fmadd(w, b − a, a) for |w| < 0.5, else
// fmadd(w − 1, b − a, b), so both ends are exact.
template <class T>
XGD_HD T lerp(T a, T b, T w) {
  return (w < T(0.5) && w > T(-0.5)) ? fmadd(w, b - a, a) : fmadd(w - T(1), b - a, b);
}

template <class T>
XGD_HD void adam_update(T& p, T g, T& m, T& v, const AdamHyper<T>& h) {
  if (h.decay != T(1)) p = p * h.decay;     // param.mul_(1 - lr * wd)  (AdamW)
  if (h.l2 != T(0)) g = fmadd(h.l2, p, g);  // grad.add(param, alpha=wd) (Adam)
  m = lerp(m, g, h.lerp_weight);            // exp_avg.lerp_(grad, 1 - beta1)
  // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
  v = fmadd(T(h.one_minus_beta2 * g), g, T(v * h.beta2));
  T denom = std::sqrt(v) / h.bc2_sqrt + h.eps;  // (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
  p = p + h.neg_step_size * m / denom;          // param.addcdiv_(exp_avg, denom, -step_size)
}

}  // namespace xgd::kernels
