// CUDA kernels of concat/slice/transpose/one_hot: launchers on device pointers, enqueued on
// `stream`, never synchronising (DESIGN.md §2). Same contracts as kernels/cpu/shape_ops.h
// (dtype-agnostic byte copies); every launcher overwrites its output (=). Plain C++: the engine
// includes it for ShapeOpsTable.
#pragma once
#include <cstdint>

#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

struct ShapeOpsTable;

XGD_CUDA_ABI_BEGIN
// dst[r·dst_stride + b] = src[r·src_stride + b] for r < rows, b < row_bytes (strides in bytes):
// concat writes each input's rows into its column block of the output; slice reads a column
// block; slice's backward writes the gradient into a zeroed block. Moves the widest word
// (16/8/4/2/1 bytes) that divides the pointers, strides and row_bytes.
void copy_rows(const void* src, int64_t src_stride, void* dst, int64_t dst_stride, int64_t rows,
               int64_t row_bytes, cudaStream_t stream);

// dst = src with dims a and b (a < b) swapped, src seen as (outer, A, mid, B, inner) elements of
// `elem_bytes` bytes: dst is (outer, B, mid, A, inner). inner = 1 with 1/2/4/8-byte elements:
// 32×32 tiles through shared memory (coalesced on both sides); otherwise runs of inner elements
// copied per destination word.
void transpose(const void* src, void* dst, int64_t outer, int64_t A, int64_t mid, int64_t B,
               int64_t inner, int64_t elem_bytes, cudaStream_t stream);

// out (N, K, P) = [labels (N, P) == k]; ignore_index rows stay 0. `bad` is one device int64
// (workspace): the launcher sets it to the smallest flat index of a label outside [0, K) that is
// not ignore_index, or to a value >= N·P when there is none (atomicMin: deterministic). Reading
// it is the caller's (host) synchronisation.
template <class T>
void one_hot(const int64_t* labels, int64_t N, int64_t P, int64_t K, int64_t ignore_index, T* out,
             int64_t* bad, cudaStream_t stream);

const ShapeOpsTable& shape_ops_table();
XGD_CUDA_ABI_END

struct ShapeOpsTable {
  decltype(&cuda::copy_rows) copy_rows;
  decltype(&cuda::transpose) transpose;
  decltype(&cuda::one_hot<float>) one_hot_f32;
  decltype(&cuda::one_hot<double>) one_hot_f64;
  template <class T>
  auto one_hot() const {
    if constexpr (sizeof(T) == 4)
      return one_hot_f32;
    else
      return one_hot_f64;
  }
};

}  // namespace xgd::kernels::cuda
