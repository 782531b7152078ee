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

// ---------------------------------------------------------------- packing
// As gemm_avx512.cpp: 8×8 in-register transposes instead of scalar scattered stores.

// Lane mask of the first n (0..8) lanes, for maskload/maskstore.
__m256i first_n(int64_t n) {
  const int c = n < 0 ? 0 : n > 8 ? 8 : int(n);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// r[i] (row i, 8 values) -> r[c] (column c, 8 values).
inline void transpose8(__m256 r[8]) {
  __m256 t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  // r[4g + c], 128-bit lane l: column 4l + c of rows 4g .. 4g+3.
  for (int g = 0; g < 8; g += 4) {
    r[g] = _mm256_shuffle_ps(t[g], t[g + 2], 0x44);
    r[g + 1] = _mm256_shuffle_ps(t[g], t[g + 2], 0xEE);
    r[g + 2] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0x44);
    r[g + 3] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
  }
  for (int c = 0; c < 4; ++c) {
    t[c] = _mm256_permute2f128_ps(r[c], r[c + 4], 0x20);
    t[c + 4] = _mm256_permute2f128_ps(r[c], r[c + 4], 0x31);
  }
  for (int c = 0; c < 8; ++c) r[c] = t[c];
}

// Loads up to 8 rows (`rows` live, the rest zero) of `kn` (<= 8) values at src + i·ld,
// transposes, and stores column c with `store_mask` at dst + c·dst_ld, for c < kn.
inline void transpose_block(const float* src, int64_t ld, int64_t rows, int64_t kn, float* dst,
                            int64_t dst_ld, __m256i store_mask) {
  __m256 r[8];
  const __m256i km = first_n(kn);
  for (int i = 0; i < 8; ++i)
    r[i] = i < rows ? _mm256_maskload_ps(src + i * ld, km) : _mm256_setzero_ps();
  transpose8(r);
  for (int c = 0; c < kn; ++c) _mm256_maskstore_ps(dst + c * dst_ld, store_mask, r[c]);
}

void pack_a_6(bool trans, const float* A, int64_t lda, int64_t i0, int64_t mc, int64_t p0,
              int64_t kc, float* Ap) {
  const __m256i tile = first_n(kMR);
  for (int64_t ir = 0; ir < mc; ir += kMR) {
    const int64_t rows = mc - ir < kMR ? mc - ir : kMR;
    float* dst = Ap + ir * kc;  // (kc, MR)
    if (!trans) {
      // A (M, K): 6 rows × 8 k per transpose.
      const float* src = A + (i0 + ir) * lda + p0;
      for (int64_t k = 0; k < kc; k += 8)
        transpose_block(src + k, lda, rows, kc - k < 8 ? kc - k : 8, dst + k * kMR, kMR, tile);
    } else {
      // A stored (K, M): each k is `rows` contiguous values; masked-off lanes load as zero.
      const __m256i live = first_n(rows);
      const float* src = A + p0 * lda + i0 + ir;
      for (int64_t k = 0; k < kc; ++k)
        _mm256_maskstore_ps(dst + k * kMR, tile, _mm256_maskload_ps(src + k * lda, live));
    }
  }
}

void pack_b_16(bool trans, const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0,
               int64_t nc, float* Bp) {
  const __m256i all = first_n(8);
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const int64_t cols = nc - jr < kNR ? nc - jr : kNR;
    float* dst = Bp + jr * kc;  // (kc, NR), 64-byte aligned
    if (!trans) {
      // B (K, N): two (masked) vectors per k.
      const __m256i m0 = first_n(cols), m1 = first_n(cols - 8);
      const float* src = B + p0 * ldb + j0 + jr;
      for (int64_t k = 0; k < kc; ++k) {
        _mm256_store_ps(dst + k * kNR, _mm256_maskload_ps(src + k * ldb, m0));
        _mm256_store_ps(dst + k * kNR + 8, _mm256_maskload_ps(src + k * ldb + 8, m1));
      }
    } else {
      // B stored (N, K): the panel's two 8-column halves × 8 k per step.
      const float* src = B + (j0 + jr) * ldb + p0;
      const int64_t rows0 = cols < 8 ? cols : 8, rows1 = cols > 8 ? cols - 8 : 0;
      for (int64_t k = 0; k < kc; k += 8) {
        const int64_t kn = kc - k < 8 ? kc - k : 8;
        transpose_block(src + k, ldb, rows0, kn, dst + k * kNR, kNR, all);
        transpose_block(src + 8 * ldb + k, ldb, rows1, kn, dst + k * kNR + 8, kNR, all);
      }
    }
  }
}

}  // namespace

SgemmKernelInfo sgemm_kernel_avx2() {
  return {&kernel_6x16, kMR, kNR, &pack_a_6, &pack_b_16};
}

}  // namespace xgd::kernels::cpu::detail
