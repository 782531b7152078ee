// AVX2+FMA SGEMM micro-kernel (compiled with -mavx2 -mfma: only called after a run-time CPU
// check in gemm.cpp). Includes nothing but intrinsics and gemm.h (see gemm_avx512.cpp).
//
// Register tile MR×NR = 6×16: 12 ymm accumulators, 2 ymm of B per k, one broadcast of A at a
// time (15 of 16 ymm); the classic Haswell tile (BLIS haswell sgemm is 6×16 too).
#include <immintrin.h>

#include "kernels/cpu/gemm.h"

namespace xgd::kernels::cpu::detail {
namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

void kernel_6x16(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, int64_t mr,
                 int64_t nr, float alpha, float beta) {
  __m256 c[kMR][2];
#pragma GCC unroll 6
  for (int i = 0; i < kMR; ++i) c[i][0] = c[i][1] = _mm256_setzero_ps();

#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    // Bp: (kc, NR), Ap: (kc, MR); Bp is 64-byte aligned, 64 bytes per k.
    __m256 b0 = _mm256_load_ps(Bp);
    __m256 b1 = _mm256_load_ps(Bp + 8);
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      __m256 a = _mm256_broadcast_ss(Ap + i);
      c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
    }
    Ap += kMR;
    Bp += kNR;
  }

  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (nr == kNR) {
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      if (i >= mr) break;
      float* row = C + i * ldc;
      __m256 r0 = _mm256_mul_ps(va, c[i][0]), r1 = _mm256_mul_ps(va, c[i][1]);
      // beta == 0: C is not read (BLAS semantics: NaN/Inf in C must not propagate).
      if (beta != 0.0f) {
        r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), r0);
        r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8), r1);
      }
      _mm256_storeu_ps(row, r0);
      _mm256_storeu_ps(row + 8, r1);
    }
    return;
  }
  // Edge tile: spill the accumulators and write the live columns one by one.
  alignas(32) float tile[kMR][kNR];  // (MR, NR)
  for (int i = 0; i < kMR; ++i) {
    _mm256_store_ps(tile[i], c[i][0]);
    _mm256_store_ps(tile[i] + 8, c[i][1]);
  }
  for (int64_t i = 0; i < mr; ++i) {
    float* row = C + i * ldc;
    for (int64_t j = 0; j < nr; ++j)
      row[j] = alpha * tile[i][j] + (beta != 0.0f ? beta * row[j] : 0.0f);
  }
}

}  // namespace

SgemmKernelInfo sgemm_kernel_avx2() {
  return {&kernel_6x16, kMR, kNR};
}

}  // namespace xgd::kernels::cpu::detail
