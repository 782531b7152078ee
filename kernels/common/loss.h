// Per-element maths of the fused losses: one truth for the CPU backend and the CUDA kernels.
// Exponentials are taken by the caller (each backend has its own fast exp): p = a probability
// exp(x − lse), lt / ls = log-probabilities of the teacher and the student (logits / tau),
// kl = the pixel's KL(p_t || p_s).
#pragma once
#include <cmath>

#include "kernels/common/hd.h"
#include "kernels/common/softmax.h"  // online_lse_step

namespace xgd::kernels {

// Cross-entropy: d loss / d x_c = scale · (softmax_c − [c == label]), scale = dL / count.
template <class T>
XGD_HD T ce_grad(T p, bool is_label, T scale) {
  return scale * (p - static_cast<T>(is_label));  // a conversion, not a select: vectorises
}

// KL(p_t || p_s) of one pixel from the sums of its fused pass (z = logits / tau, m = max_c z,
// e = exp(z − m)): S = Σ_c e, A = Σ_c e_t·(z_t − z_s). With Σ p_t = 1,
// KL = Σ p_t (z_t − z_s) − (lse_t − lse_s) = A / S_t − (m_t − m_s) − log(S_t / S_s):
// the lse difference is taken as the log of a ratio near 1, not as a difference of two large
// log-sum-exps, so KL keeps its accuracy when teacher and student agree.
template <class T>
XGD_HD T kl_from_sums(T a, T s_t, T s_s, T m_t, T m_s) {
  return a / s_t - (m_t - m_s) - std::log(s_t / s_s);
}
// The same sums in one pass over the classes (the CUDA kernel reads each logit once): the
// teacher's running max m_t, S_t and A are rescaled together when m_t grows (A is a sum of
// e_t terms); the student's (m_s, S_s) is an online log-sum-exp. Start from the first class:
// m = z, S = 1, A = z_t − z_s.
template <class T>
XGD_HD void kl_online_step(T zt, T zs, T& m_t, T& s_t, T& a, T& m_s, T& s_s) {
  const T d = zt - m_t;
  const T e = std::exp(d > T(0) ? -d : d);
  s_t = d > T(0) ? s_t * e + T(1) : s_t + e;
  a = d > T(0) ? a * e + (zt - zs) : a + e * (zt - zs);
  m_t = d > T(0) ? zt : m_t;
  online_lse_step(zs, m_s, s_s);
}
// d KL / d z_s,c through the student's log_softmax: p_s − p_t. `coef` is
// dL · tau² / pixels · (1/tau): the loss's scale times dz/ds.
template <class T>
XGD_HD T kl_grad_student(T p_t, T p_s, T coef) {
  return coef * (p_s - p_t);
}
// d KL / d z_t,c through the teacher's softmax: p_t · (log p_t − log p_s − KL).
template <class T>
XGD_HD T kl_grad_teacher(T p_t, T lt, T ls, T kl, T coef) {
  return coef * p_t * (lt - ls - kl);
}

}  // namespace xgd::kernels
