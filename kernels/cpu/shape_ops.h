// CPU kernels of concat/slice: dtype-agnostic strided row copies (raw bytes, DESIGN.md §2).
#pragma once
#include <cstdint>

namespace xgd::kernels::cpu {

// dst[r·dst_stride + b] = src[r·src_stride + b] for r < rows, b < row_bytes (strides in bytes).
// concat writes each input's rows into its column block of the output; slice reads a column
// block; slice's backward writes the gradient into a zeroed block.
void copy_rows(const void* src, int64_t src_stride, void* dst, int64_t dst_stride, int64_t rows,
               int64_t row_bytes);

// dst = src with dims a and b (a < b) swapped, src seen as (outer, A, mid, B, inner) elements of
// `elem_bytes` bytes: dst is (outer, B, mid, A, inner).
void transpose(const void* src, void* dst, int64_t outer, int64_t A, int64_t mid, int64_t B,
               int64_t inner, int64_t elem_bytes);

// out (N, K, P) = [labels (N, P) == k]; ignore_index rows stay 0. Returns the index of the first
// label outside [0, K) that is not ignore_index, or -1.
template <class T>
int64_t one_hot(const int64_t* labels, int64_t N, int64_t P, int64_t K, int64_t ignore_index,
                T* out);

}  // namespace xgd::kernels::cpu
