// Per-element bodies of the pointwise ops and their derivatives: one truth for the CPU
// backend and the CUDA kernels. dy = upstream gradient.
#pragma once
#include <cmath>

#include "kernels/common/hd.h"

namespace xgd::kernels {

template <class T> XGD_HD T relu_fwd(T x) { return x > T(0) ? x : T(0); }
// PyTorch's threshold_backward: gradient passes where the OUTPUT is > 0 (so 0 at x = 0).
template <class T> XGD_HD T relu_bwd(T y, T dy) { return y > T(0) ? dy : T(0); }
template <class T> XGD_HD T relu6_fwd(T x) { return x < T(0) ? T(0) : (x > T(6) ? T(6) : x); }
// PyTorch's hardtanh_backward: gradient where min < x < max (boundaries excluded).
template <class T> XGD_HD T relu6_bwd(T x, T dy) { return (x > T(0) && x < T(6)) ? dy : T(0); }
// clamp backward: gradient where lo < x < hi; PyTorch 2.x gives 0 at a bound that is hit
// exactly (checked against torch 2.15 by the clamp__both fixture).
template <class T> XGD_HD T clamp_fwd(T x, T lo, T hi) { return x < lo ? lo : (x > hi ? hi : x); }
template <class T> XGD_HD T clamp_bwd(T x, T lo, T hi, T dy) {
  return (x > lo && x < hi) ? dy : T(0);
}
template <class T> XGD_HD T sign(T x) { return T((x > T(0)) - (x < T(0))); }
// d/dx x^e = e·x^(e-1); PyTorch masks the e = 0 case to 0.
template <class T> XGD_HD T pow_bwd(T x, T e, T dy) {
  return e == T(0) ? T(0) : dy * e * std::pow(x, e - T(1));
}

}  // namespace xgd::kernels
