#include "kernels/cpu/shape_ops.h"

#include <cstring>

namespace xgd::kernels::cpu {

void copy_rows(const void* src, int64_t src_stride, void* dst, int64_t dst_stride, int64_t rows,
               int64_t row_bytes) {
  if (rows <= 0 || row_bytes <= 0) return;
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  if (rows == 1 || (src_stride == row_bytes && dst_stride == row_bytes)) {
    // One contiguous block: split it into chunks so a large copy still uses both cores.
    const int64_t total = rows * row_bytes;
    constexpr int64_t kChunk = 1 << 18;
    const int64_t chunks = (total + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t off = c * kChunk;
      std::memcpy(d + off, s + off,
                  static_cast<size_t>(total - off < kChunk ? total - off : kChunk));
    }
    return;
  }
#pragma omp parallel for schedule(static) if (rows * row_bytes > (1 << 18))
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(d + r * dst_stride, s + r * src_stride, static_cast<size_t>(row_bytes));
}

}  // namespace xgd::kernels::cpu
