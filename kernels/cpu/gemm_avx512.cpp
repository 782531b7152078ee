// AVX-512 SGEMM micro-kernel (compiled with -mavx512f -mfma: only called after a run-time CPU
// check in gemm.cpp). This file must include nothing but intrinsics and gemm.h so no inline
// library function is emitted here with AVX-512 code that the linker could pick for others.
//
// Register tile MR×NR = 14×32: 28 zmm accumulators, 2 zmm of B per k, one broadcast of A at a
// time (31 of 32 zmm). Per k: 2 vector loads + 14 broadcasts feed 28 FMAs, which keeps both FMA
// ports of a Skylake-X/Sapphire Rapids core busy (the FMA latency of 4 cycles × 2 ports needs
// >= 8 independent accumulators; 28 also amortises the loads).
#include <immintrin.h>

#include "kernels/cpu/gemm.h"

namespace xgd::kernels::cpu::detail {
namespace {

constexpr int kMR = 14;
constexpr int kNV = 2;  // zmm vectors per row of the tile
constexpr int kNR = 16 * kNV;

// C (mr × nr of the MR×NR tile, row stride ldc) = alpha · Ap·Bp + beta · C.
void kernel_14x32(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, int64_t mr,
                  int64_t nr, float alpha, float beta) {
  __m512 c[kMR][kNV];
#pragma GCC unroll 14
  for (int i = 0; i < kMR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < kNV; ++v) c[i][v] = _mm512_setzero_ps();

  // The rows of C are written at the end; fetch them while the k loop runs.
  for (int64_t i = 0; i < mr; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc + 16), _MM_HINT_T0);
  }

#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    // Bp: (kc, NR), Ap: (kc, MR); panels are 64-byte aligned and NR·4 = 128 bytes per k.
    __m512 b0 = _mm512_load_ps(Bp);
    __m512 b1 = _mm512_load_ps(Bp + 16);
    _mm_prefetch(reinterpret_cast<const char*>(Bp + 8 * kNR), _MM_HINT_T0);
#pragma GCC unroll 14
    for (int i = 0; i < kMR; ++i) {
      __m512 a = _mm512_set1_ps(Ap[i]);
      c[i][0] = _mm512_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm512_fmadd_ps(a, b1, c[i][1]);
    }
    Ap += kMR;
    Bp += kNR;
  }

  // Column masks of the live part of the tile (edge tiles of C).
  __mmask16 mask[kNV];
  for (int v = 0; v < kNV; ++v) {
    int64_t cols = nr - 16 * v;
    mask[v] = cols >= 16  ? __mmask16(0xFFFF)
              : cols <= 0 ? __mmask16(0)
                          : __mmask16((1u << cols) - 1);
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 14
  for (int i = 0; i < kMR; ++i) {
    if (i >= mr) break;
    float* row = C + i * ldc;
#pragma GCC unroll 2
    for (int v = 0; v < kNV; ++v) {
      __m512 r = _mm512_mul_ps(va, c[i][v]);
      // beta == 0: C is not read (BLAS semantics: NaN/Inf in C must not propagate).
      if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask[v], row + 16 * v), r);
      _mm512_mask_storeu_ps(row + 16 * v, mask[v], r);
    }
  }
}

}  // namespace

SgemmKernelInfo sgemm_kernel_avx512() {
  return {&kernel_14x32, kMR, kNR};
}

}  // namespace xgd::kernels::cpu::detail
