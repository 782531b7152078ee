// Per-element maths of softmax / log_softmax backward: one truth for the CPU backend and the
// CUDA kernels. y = the forward's output, dy = upstream gradient. Exponentials are taken by
// the caller (each backend has its own fast exp), so these are the formulas alone.
#pragma once
#include <cmath>

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

namespace xgd::kernels {

// One step of the online (single-pass) log-sum-exp (Milakov & Gimelshein, 2018): (m, s) is
// the running max and Σ exp(z − m) of the values seen so far; adding z costs one exp. Start
// from (first value, 1), or (−inf, 0) for an empty set. d > 0: z is the new max and the old
// sum is rescaled by exp(m − z); otherwise exp(z − m) is added. Used by the CUDA kernels, which
// read each logit once for the statistics instead of twice.
template <class T>
XGD_HD void online_lse_step(T z, T& m, T& s) {
  const T d = z - m;
  const T e = std::exp(d > T(0) ? -d : d);
  s = d > T(0) ? s * e + T(1) : s + e;
  m = d > T(0) ? z : m;
}
// Merges two online states (the second into the first); empty states have s = 0.
template <class T>
XGD_HD void online_lse_merge(T& m, T& s, T m2, T s2) {
  if (s2 == T(0)) return;
  if (s == T(0) || m2 > m) {  // the other holds the max
    const T t = m;
    m = m2;
    m2 = t;
    const T u = s;
    s = s2;
    s2 = u;
  }
  if (s2 != T(0)) s += s2 * std::exp(m2 - m);
}

}  // namespace xgd::kernels
