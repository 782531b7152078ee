#include "kernels/cpu/pointwise.h"

#include <cmath>
#include <vector>

#include "kernels/common/pointwise.h"

namespace xgd::kernels::cpu {

namespace {
template <class T, class F>
void binary_loop(const T* a, const T* b, T* out, const Broadcast& bc, F f) {
  // The innermost dim runs as a strided inner loop; the outer dims are enumerated per row.
  const int nd = bc.ndim;
  const int64_t inner = nd ? bc.shape[nd - 1] : 1;
  const int64_t as = nd ? bc.a_stride[nd - 1] : 0, bs = nd ? bc.b_stride[nd - 1] : 0;
  int64_t rows = 1;
  for (int d = 0; d + 1 < nd; ++d) rows *= bc.shape[d];
#pragma omp parallel for schedule(static) if (rows * inner > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t ao = 0, bo = 0, rem = r;
    for (int d = nd - 2; d >= 0; --d) {
      int64_t i = rem % bc.shape[d];
      rem /= bc.shape[d];
      ao += i * bc.a_stride[d];
      bo += i * bc.b_stride[d];
    }
    T* o = out + r * inner;
    const T* pa = a + ao;
    const T* pb = b + bo;
    if (as == 1 && bs == 1) {
      for (int64_t i = 0; i < inner; ++i) o[i] = f(pa[i], pb[i]);
    } else {
      for (int64_t i = 0; i < inner; ++i) o[i] = f(pa[i * as], pb[i * bs]);
    }
  }
}

template <class T, class F>
void map(const T* a, T* out, int64_t n, F f) {
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) out[i] = f(a[i]);
}
template <class T, class F>
void map2(const T* a, const T* b, T* out, int64_t n, F f) {
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
}
}  // namespace

template <class T>
void binary(BinaryOp op, const T* a, const T* b, T* out, const Broadcast& bc) {
  // Specialised lambdas so the compiler vectorises each op's inner loop.
  switch (op) {
    case BinaryOp::Add: return binary_loop(a, b, out, bc, [](T x, T y) { return x + y; });
    case BinaryOp::Sub: return binary_loop(a, b, out, bc, [](T x, T y) { return x - y; });
    case BinaryOp::Mul: return binary_loop(a, b, out, bc, [](T x, T y) { return x * y; });
    case BinaryOp::Div: return binary_loop(a, b, out, bc, [](T x, T y) { return x / y; });
  }
}

template <class T>
void scalar_affine(const T* a, T* out, int64_t n, T scale, T shift) {
  map(a, out, n, [=](T x) { return x * scale + shift; });
}
template <class T>
void scalar_rdiv(T s, const T* a, T* out, int64_t n) {
  map(a, out, n, [=](T x) { return s / x; });
}

template <class T>
void unary(UnaryOp op, const T* a, T* out, int64_t n) {
  switch (op) {
    case UnaryOp::Neg: return map(a, out, n, [](T x) { return -x; });
    case UnaryOp::Exp: return map(a, out, n, [](T x) { return std::exp(x); });
    case UnaryOp::Log: return map(a, out, n, [](T x) { return std::log(x); });
    case UnaryOp::Sqrt: return map(a, out, n, [](T x) { return std::sqrt(x); });
    case UnaryOp::Abs: return map(a, out, n, [](T x) { return std::abs(x); });
    case UnaryOp::Relu: return map(a, out, n, [](T x) { return relu_fwd(x); });
    case UnaryOp::Relu6: return map(a, out, n, [](T x) { return relu6_fwd(x); });
  }
}

template <class T>
void pow_scalar(const T* a, T e, T* out, int64_t n) {
  if (e == T(2)) return map(a, out, n, [](T x) { return x * x; });
  map(a, out, n, [=](T x) { return std::pow(x, e); });
}
template <class T>
void clamp(const T* a, T lo, T hi, T* out, int64_t n) {
  map(a, out, n, [=](T x) { return clamp_fwd(x, lo, hi); });
}
template <class T>
void relu_backward(const T* y, const T* dy, T* dx, int64_t n) {
  map2(y, dy, dx, n, [](T v, T g) { return relu_bwd(v, g); });
}
template <class T>
void relu6_backward(const T* x, const T* dy, T* dx, int64_t n) {
  map2(x, dy, dx, n, [](T v, T g) { return relu6_bwd(v, g); });
}
template <class T>
void clamp_backward(const T* x, T lo, T hi, const T* dy, T* dx, int64_t n) {
  map2(x, dy, dx, n, [=](T v, T g) { return clamp_bwd(v, lo, hi, g); });
}
template <class T>
void pow_backward(const T* x, T e, const T* dy, T* dx, int64_t n) {
  map2(x, dy, dx, n, [=](T v, T g) { return pow_bwd(v, e, g); });
}

template <class T>
void sum_to(const T* in, const int64_t* in_shape, int nd, const int64_t* out_shape, T* out) {
  // Output-stationary: each output element sums its broadcast pre-images in double, so
  // reductions over millions of pixels (bias gradients) keep float32 precision.
  int64_t out_n = 1, in_n = 1;
  std::vector<int64_t> in_stride(nd), out_stride(nd);
  for (int d = nd - 1; d >= 0; --d) {
    in_stride[d] = in_n;
    out_stride[d] = out_shape[d] == 1 ? 0 : out_n;
    in_n *= in_shape[d];
    out_n *= out_shape[d];
  }
  std::vector<double> acc(out_n, 0.0);
  // Rows of the innermost dim, as in binary_loop.
  const int64_t inner = nd ? in_shape[nd - 1] : 1;
  const bool inner_reduced = nd && out_shape[nd - 1] == 1 && in_shape[nd - 1] != 1;
  const int64_t rows = in_n / (inner ? inner : 1);
  for (int64_t r = 0; r < rows && inner; ++r) {
    int64_t oo = 0, rem = r;
    for (int d = nd - 2; d >= 0; --d) {
      int64_t i = rem % in_shape[d];
      rem /= in_shape[d];
      oo += i * out_stride[d];
    }
    const T* p = in + r * inner;
    if (inner_reduced) {
      double s = 0;
      for (int64_t i = 0; i < inner; ++i) s += p[i];
      acc[oo] += s;
    } else {
      for (int64_t i = 0; i < inner; ++i) acc[oo + i] += p[i];
    }
  }
  for (int64_t i = 0; i < out_n; ++i) out[i] = static_cast<T>(acc[i]);
}

#define XGD_INSTANTIATE(T)                                                                 \
  template void binary<T>(BinaryOp, const T*, const T*, T*, const Broadcast&);             \
  template void scalar_affine<T>(const T*, T*, int64_t, T, T);                             \
  template void scalar_rdiv<T>(T, const T*, T*, int64_t);                                  \
  template void unary<T>(UnaryOp, const T*, T*, int64_t);                                  \
  template void pow_scalar<T>(const T*, T, T*, int64_t);                                   \
  template void clamp<T>(const T*, T, T, T*, int64_t);                                     \
  template void relu_backward<T>(const T*, const T*, T*, int64_t);                         \
  template void relu6_backward<T>(const T*, const T*, T*, int64_t);                        \
  template void clamp_backward<T>(const T*, T, T, const T*, T*, int64_t);                  \
  template void pow_backward<T>(const T*, T, const T*, T*, int64_t);                       \
  template void sum_to<T>(const T*, const int64_t*, int, const int64_t*, T*);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

}  // namespace xgd::kernels::cpu
