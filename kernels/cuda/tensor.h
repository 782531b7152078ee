// CUDA kernels behind Tensor::fill_ and Tensor::to(DType) on Device::CUDA: launchers on device
// pointers, enqueued on `stream`, never synchronising (DESIGN.md §2); both overwrite their
// output (=). Element types: float, double, int64, uint8 (the engine's four dtypes).
// Conversions are static_cast<D>(S) as on the CPU (engine/tensor.cpp): round to nearest for
// integer -> float and double -> float, truncation for float -> integer, modulo 256 for
// int64 -> uint8. A float -> integer conversion of a value out of the target's range is
// undefined on the CPU (C++) and saturates on the GPU: only in-range values are portable.
// Plain C++: the engine includes it for TensorTable.
#pragma once
#include <cstdint>

#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

struct TensorTable;

XGD_CUDA_ABI_BEGIN
// p[i] = value for i < n.
template <class T>
void fill(T* p, int64_t n, T value, cudaStream_t stream);
// dst[i] = static_cast<D>(src[i]) for i < n.
template <class S, class D>
void cast(const S* src, D* dst, int64_t n, cudaStream_t stream);

const TensorTable& tensor_table();
XGD_CUDA_ABI_END

// Untyped entries for the engine, indexed by dtype: 0 float32, 1 float64, 2 int64, 3 uint8 (the
// values of xgd::DType). fill converts value with static_cast<T>(double) on the host, as the
// CPU's fill_ does; cast[s][d] converts dtype s to dtype d (s != d; the diagonal is null).
using FillFn = void (*)(void* p, int64_t n, double value, cudaStream_t stream);
using CastFn = void (*)(const void* src, void* dst, int64_t n, cudaStream_t stream);
struct TensorTable {
  FillFn fill[4];
  CastFn cast[4][4];
};

}  // namespace xgd::kernels::cuda
