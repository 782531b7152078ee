// Pointwise ops: binary arithmetic with broadcasting over size-1 dims (NumPy/PyTorch rules,
// shapes aligned from the right), scalar arithmetic, unary maths and activations.
// Backward of a broadcast input sums the gradient back to the input's shape (sum_to).
#pragma once
#include <limits>

#include "engine/tensor.h"

namespace xgd {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);

Tensor add(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor rsub(double s, const Tensor& a);  // s - a
Tensor rdiv(double s, const Tensor& a);  // s / a
Tensor neg(const Tensor& a);

Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor pow(const Tensor& a, double exponent);
Tensor abs(const Tensor& a);  // gradient sign(a), 0 at 0 (as PyTorch)
// clamp(a, lo, hi): gradient passes where lo < a < hi (PyTorch 2.x: 0 exactly at a bound).
Tensor clamp(const Tensor& a, double lo = -std::numeric_limits<double>::infinity(),
             double hi = std::numeric_limits<double>::infinity());
Tensor relu(const Tensor& a);   // gradient 0 at 0 (PyTorch: threshold_backward uses a > 0)
Tensor relu6(const Tensor& a);  // hardtanh(0, 6): gradient where 0 < a < 6

// Broadcast result shape of a and b; error naming `op` when incompatible.
Shape broadcast_shape(const Shape& a, const Shape& b, const char* op);
// Sums g over broadcast dims so it has `shape` (the reverse of broadcasting). Differentiable.
Tensor sum_to(const Tensor& g, const Shape& shape);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return add(a, -s); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return mul(a, 1.0 / s); }
inline Tensor operator+(double s, const Tensor& a) { return add(a, s); }
inline Tensor operator-(double s, const Tensor& a) { return rsub(s, a); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(double s, const Tensor& a) { return rdiv(s, a); }
inline Tensor operator-(const Tensor& a) { return neg(a); }

}  // namespace xgd
