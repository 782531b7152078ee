// CPU kernels of concat/slice: dtype-agnostic strided row copies (raw bytes, DESIGN.md §2).
#pragma once
#include <cstdint>

namespace xgd::kernels::cpu {

// dst[r·dst_stride + b] = src[r·src_stride + b] for r < rows, b < row_bytes (strides in bytes).
// concat writes each input's rows into its column block of the output; slice reads a column
// block; slice's backward writes the gradient into a zeroed block.
void copy_rows(const void* src, int64_t src_stride, void* dst, int64_t dst_stride, int64_t rows,
               int64_t row_bytes);

}  // namespace xgd::kernels::cpu
