// CPU kernels of the pointwise family: raw pointers and sizes only (DESIGN.md §2).
#pragma once
#include <cstdint>

namespace xgd::kernels::cpu {

constexpr int kMaxDims = 8;

// Index mapping of a broadcast binary op: out has `ndim` dims; a_stride/b_stride are the
// inputs' element strides per output dim, 0 where the input is broadcast.
struct Broadcast {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t a_stride[kMaxDims] = {};
  int64_t b_stride[kMaxDims] = {};
};

enum class BinaryOp { Add, Sub, Mul, Div };
enum class UnaryOp { Neg, Exp, Log, Sqrt, Abs, Relu, Relu6 };

template <class T>
void binary(BinaryOp op, const T* a, const T* b, T* out, const Broadcast& bc);
template <class T>
void scalar_affine(const T* a, T* out, int64_t n, T scale, T shift);  // out = a·scale + shift
template <class T>
void scalar_rdiv(T s, const T* a, T* out, int64_t n);                 // out = s / a
template <class T>
void unary(UnaryOp op, const T* a, T* out, int64_t n);
template <class T>
void pow_scalar(const T* a, T exponent, T* out, int64_t n);
template <class T>
void clamp(const T* a, T lo, T hi, T* out, int64_t n);

// Backward bodies that need the saved input/output: dx = f'(saved) · dy.
template <class T>
void relu_backward(const T* y, const T* dy, T* dx, int64_t n);
template <class T>
void relu6_backward(const T* x, const T* dy, T* dx, int64_t n);
template <class T>
void clamp_backward(const T* x, T lo, T hi, const T* dy, T* dx, int64_t n);
template <class T>
void pow_backward(const T* x, T exponent, const T* dy, T* dx, int64_t n);

// out (shape `out_shape`) = sum of `in` over the dims where out_shape is 1 and in is not,
// `in` having `ndim` dims in `in_shape` (out_shape padded on the left to ndim with 1s).
template <class T>
void sum_to(const T* in, const int64_t* in_shape, int ndim, const int64_t* out_shape, T* out);

}  // namespace xgd::kernels::cpu
