// CUDA kernels of the pointwise family: launchers on device pointers, enqueued on `stream`,
// never synchronising (DESIGN.md §2). Every launcher overwrites its output (=). Same contracts
// as kernels/cpu/pointwise.h (shared Broadcast/BinaryOp/UnaryOp); per-element maths from
// kernels/common/pointwise.h. Plain C++: the engine includes it for PointwiseTable.
#pragma once
#include <cstdint>

#include "kernels/cpu/pointwise.h"
#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

using cpu::BinaryOp;
using cpu::Broadcast;
using cpu::UnaryOp;

struct PointwiseTable;

XGD_CUDA_ABI_BEGIN
template <class T>
void binary(BinaryOp op, const T* a, const T* b, T* out, const Broadcast& bc, cudaStream_t stream);
template <class T>
void scalar_affine(const T* a, T* out, int64_t n, T scale, T shift, cudaStream_t stream);
template <class T>
void scalar_rdiv(T s, const T* a, T* out, int64_t n, cudaStream_t stream);
template <class T>
void unary(UnaryOp op, const T* a, T* out, int64_t n, cudaStream_t stream);
template <class T>
void pow_scalar(const T* a, T exponent, T* out, int64_t n, cudaStream_t stream);
template <class T>
void clamp(const T* a, T lo, T hi, T* out, int64_t n, cudaStream_t stream);

// dx = f'(saved) · dy, saved = the op's output (relu) or input (the others).
template <class T>
void relu_backward(const T* y, const T* dy, T* dx, int64_t n, cudaStream_t stream);
template <class T>
void relu6_backward(const T* x, const T* dy, T* dx, int64_t n, cudaStream_t stream);
template <class T>
void clamp_backward(const T* x, T lo, T hi, const T* dy, T* dx, int64_t n, cudaStream_t stream);
template <class T>
void pow_backward(const T* x, T exponent, const T* dy, T* dx, int64_t n, cudaStream_t stream);
template <class T>
void abs_backward(const T* x, const T* dy, T* dx, int64_t n, cudaStream_t stream);

// As cpu::sum_to; in_shape/out_shape are host arrays. Sums accumulate in double.
template <class T>
void sum_to(const T* in, const int64_t* in_shape, int ndim, const int64_t* out_shape, T* out,
            cudaStream_t stream);

// The launchers above as one table, for the engine's dispatch (engine/ops/pointwise.cpp).
const PointwiseTable& pointwise_table();
XGD_CUDA_ABI_END

template <class T>
struct PointwiseFns {
  decltype(&cuda::binary<T>) binary;
  decltype(&cuda::scalar_affine<T>) scalar_affine;
  decltype(&cuda::scalar_rdiv<T>) scalar_rdiv;
  decltype(&cuda::unary<T>) unary;
  decltype(&cuda::pow_scalar<T>) pow_scalar;
  decltype(&cuda::clamp<T>) clamp;
  decltype(&cuda::relu_backward<T>) relu_backward;
  decltype(&cuda::relu6_backward<T>) relu6_backward;
  decltype(&cuda::clamp_backward<T>) clamp_backward;
  decltype(&cuda::pow_backward<T>) pow_backward;
  decltype(&cuda::abs_backward<T>) abs_backward;
  decltype(&cuda::sum_to<T>) sum_to;
};

struct PointwiseTable {
  PointwiseFns<float> f32;
  PointwiseFns<double> f64;
  template <class T>
  const PointwiseFns<T>& of() const {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

}  // namespace xgd::kernels::cuda
