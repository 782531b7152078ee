// Per-element maths of the Grad-CAM weighting ops (engine/ops/cam.*): one truth for the CPU
// kernels (kernels/cpu/cam.*) and the CUDA kernels (kernels/cuda/cam.*). Sums accumulate in
// double on both backends; what is computed in T reproduces, operation by operation, the engine
// ops xgd/cam.cpp composed before (so results change by the summation order at most). Products
// that feed an addition go through mul_rn, which nvcc does not contract into an FMA: the
// per-element bodies give the same bits on both backends.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.h"
#include "kernels/common/pointwise.h"

namespace xgd::kernels {

// GradCAM++'s per-pixel term relu(g)·a_ij, a_ij = g² / (2g² + Σ_hw(A)·g³ + 1e-6), in the order
// and with the roundings of the composite it replaces (0 where g = 0: the package's
// np.where(grads != 0, aij, 0)). sum_a: Σ_hw A of the channel, rounded to T.
template <class T>
XGD_HD T gradcampp_term(T g, T sum_a) {
  const T g2 = g * g, g3 = g2 * g;
  const T den = (mul_rn(g2, T(2)) + mul_rn(sum_a, g3)) + T(1e-6);
  return mul_rn(relu_fwd(g), g2 / den);  // rounded before the caller's sum (no FMA)
}

// acc + w·a in double (the product of two floats is exact in double; in double, one rounding
// each for the product and the sum, as mul-then-sum).
template <class T>
XGD_HD double cam_accumulate(double acc, T w, T a) {
  return acc + mul_rn(static_cast<double>(w), static_cast<double>(a));
}

// ---- minmax_normalise: per image (x − lo) / (hi − lo + eps), lo/hi the first arg-extrema.
// NaN is the extreme of both (the first NaN wins), as the engine's min/max propagate it.
// Whether (v, i) replaces the current best (b, j) as the minimum (is_max false) or maximum.
// Ties go to the smaller index, so any order of combination gives the first arg-extremum.
template <class T>
XGD_HD bool minmax_better(bool is_max, T v, int64_t i, T b, int64_t j) {
  if (v != v) return b == b || i < j;  // NaN beats numbers; the first NaN beats later NaNs
  if (b != b) return false;
  if (v == b) return i < j;
  return is_max ? v > b : v < b;
}

template <class T>
XGD_HD T minmax_denominator(T lo, T hi, T eps) {
  return (hi - lo) + eps;
}
template <class T>
XGD_HD T minmax_forward(T x, T lo, T den) {
  return (x - lo) / den;
}
// dx of one element: dy/den, plus the gradients through lo (at the argmin) and hi (at the
// argmax). With y = (x − lo)/den, s0 = Σ dy, s1 = Σ dy·y over the image:
//   ∂L/∂lo = Σ dy·(y − 1)/den = (s1 − s0)/den,   ∂L/∂hi = −Σ dy·y/den = −s1/den.
template <class T>
XGD_HD T minmax_backward(T dy, T den, bool at_min, bool at_max, double s0, double s1) {
  T dx = dy / den;
  if (at_min) dx += static_cast<T>((s1 - s0) / static_cast<double>(den));
  if (at_max) dx += static_cast<T>(-s1 / static_cast<double>(den));
  return dx;
}

}  // namespace xgd::kernels
