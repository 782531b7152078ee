// Per-element maths of the fused losses: one truth for the CPU backend and the CUDA kernels.
// lse = log-sum-exp of a pixel's logits over the classes; lt, ls = log-probabilities of the
// teacher and the student (already divided by tau); kl = the pixel's KL(p_t || p_s).
#pragma once
#include <cmath>

#include "kernels/common/hd.h"

namespace xgd::kernels {

// Cross-entropy: d loss / d x_c = scale · (softmax_c − [c == label]), scale = dL / count.
template <class T>
XGD_HD T ce_grad(T x, T lse, bool is_label, T scale) {
  return scale * (std::exp(x - lse) - (is_label ? T(1) : T(0)));
}

// KL(p_t || p_s) = Σ_c kl_term(lt_c, ls_c) = Σ_c p_t (log p_t − log p_s).
template <class T>
XGD_HD T kl_term(T lt, T ls) {
  return std::exp(lt) * (lt - ls);
}
// d KL / d z_s,c through the student's log_softmax (z = s / tau): p_s − p_t. `coef` is
// dL · tau² / pixels · (1/tau): the loss's scale times dz/ds.
template <class T>
XGD_HD T kl_grad_student(T lt, T ls, T coef) {
  return coef * (std::exp(ls) - std::exp(lt));
}
// d KL / d z_t,c through the teacher's softmax: p_t · (log p_t − log p_s − KL).
template <class T>
XGD_HD T kl_grad_teacher(T lt, T ls, T kl, T coef) {
  return coef * std::exp(lt) * (lt - ls - kl);
}

}  // namespace xgd::kernels
