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

void transpose(const void* src, void* dst, int64_t outer, int64_t A, int64_t mid, int64_t B,
               int64_t inner, int64_t elem_bytes) {
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  const int64_t run = inner * elem_bytes;  // contiguous bytes moved per (o, a, m, b)
#pragma omp parallel for collapse(2) schedule(static) if (outer * A * mid * B * run > (1 << 18))
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t m = 0; m < mid; ++m)
        for (int64_t a = 0; a < A; ++a) {
          // src (o, a, m, b) -> dst (o, b, m, a)
          const char* from = s + (((o * A + a) * mid + m) * B + b) * run;
          char* to = d + (((o * B + b) * mid + m) * A + a) * run;
          std::memcpy(to, from, static_cast<size_t>(run));
        }
}

template <class T>
int64_t one_hot(const int64_t* labels, int64_t N, int64_t P, int64_t K, int64_t ignore_index,
                T* out) {
  int64_t bad = -1;
  for (int64_t n = 0; n < N; ++n) {
    T* o = out + n * K * P;  // (K, P)
    std::memset(o, 0, sizeof(T) * K * P);
    for (int64_t p = 0; p < P; ++p) {
      const int64_t c = labels[n * P + p];
      if (c == ignore_index) continue;
      if (c < 0 || c >= K) {
        if (bad < 0) bad = n * P + p;
        continue;
      }
      o[c * P + p] = T(1);
    }
  }
  return bad;
}
template int64_t one_hot<float>(const int64_t*, int64_t, int64_t, int64_t, int64_t, float*);
template int64_t one_hot<double>(const int64_t*, int64_t, int64_t, int64_t, int64_t, double*);

}  // namespace xgd::kernels::cpu
