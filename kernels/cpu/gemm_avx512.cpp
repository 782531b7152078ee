// AVX-512 SGEMM micro-kernel (compiled with -mavx512f -mfma: only called after a run-time CPU
// check in gemm.cpp). This file must include nothing but intrinsics and gemm.h so no inline
// library function is emitted here with AVX-512 code that the linker could pick for others.
//
// Register tile MR×NR = 14×32: 28 zmm accumulators, 2 zmm of B per k, one broadcast of A at a
// time (31 of 32 zmm). Per k: 2 vector loads + 14 broadcasts feed 28 FMAs, which keeps both FMA
// ports of a Skylake-X/Sapphire Rapids core busy (the FMA latency of 4 cycles × 2 ports needs
// >= 8 independent accumulators; 28 also amortises the loads).
#include <immintrin.h>

// GCC 12 flags _mm512_undefined_ps() inside the masked intrinsics as uninitialized (GCC bug
// 105593, fixed in GCC 13); the masked-off lanes are never read.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

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

// ---------------------------------------------------------------- packing
// Packing reads rows of A or B along k and must write them along the panel's other dimension:
// 16×16 in-register transposes turn 16 row loads into 16 contiguous panel rows (4 shuffle
// stages, 64 shuffles per 256 floats) instead of 256 scalar scattered stores.

__mmask16 first_n(int64_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

// r[i] (row i, 16 values) -> r[c] (column c, 16 values).
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // r[4g + c], lane l: column 4l + c of rows 4g .. 4g+3.
  for (int g = 0; g < 16; g += 4) {
    r[g] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
    r[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xEE);
    r[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
    r[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
  }
  for (int h = 0; h < 16; h += 8)
    for (int c = 0; c < 4; ++c) {
      t[h + c] = _mm512_shuffle_f32x4(r[h + c], r[h + 4 + c], 0x88);
      t[h + 4 + c] = _mm512_shuffle_f32x4(r[h + c], r[h + 4 + c], 0xDD);
    }
  for (int c = 0; c < 8; ++c) {
    r[c] = _mm512_shuffle_f32x4(t[c], t[c + 8], 0x88);
    r[c + 8] = _mm512_shuffle_f32x4(t[c], t[c + 8], 0xDD);
  }
}

// Loads up to 16 rows (`rows` live, the rest zero) of `kn` (<= 16) values at src + i·ld,
// transposes, and stores column c (k = c) with `store_mask` at dst + c·dst_ld, for c < kn.
inline void transpose_block(const float* src, int64_t ld, int64_t rows, int64_t kn, float* dst,
                            int64_t dst_ld, __mmask16 store_mask) {
  __m512 r[16];
  const __mmask16 km = first_n(kn);
  for (int i = 0; i < 16; ++i)
    r[i] = i < rows ? _mm512_maskz_loadu_ps(km, src + i * ld) : _mm512_setzero_ps();
  transpose16(r);
  for (int c = 0; c < kn; ++c) _mm512_mask_storeu_ps(dst + c * dst_ld, store_mask, r[c]);
}

void pack_a_14(bool trans, const float* A, int64_t lda, int64_t i0, int64_t mc, int64_t p0,
               int64_t kc, float* Ap) {
  const __mmask16 tile = first_n(kMR);
  for (int64_t ir = 0; ir < mc; ir += kMR) {
    const int64_t rows = mc - ir < kMR ? mc - ir : kMR;
    float* dst = Ap + ir * kc;  // (kc, MR)
    if (!trans) {
      // A (M, K): 14 rows × 16 k per transpose.
      const float* src = A + (i0 + ir) * lda + p0;
      for (int64_t k = 0; k < kc; k += 16)
        transpose_block(src + k, lda, rows, kc - k < 16 ? kc - k : 16, dst + k * kMR, kMR, tile);
    } else {
      // A stored (K, M): each k is `rows` contiguous values; the mask zero-fills the padding.
      const __mmask16 live = first_n(rows);
      const float* src = A + p0 * lda + i0 + ir;
      for (int64_t k = 0; k < kc; ++k)
        _mm512_mask_storeu_ps(dst + k * kMR, tile, _mm512_maskz_loadu_ps(live, src + k * lda));
    }
  }
}

void pack_b_32(bool trans, const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0,
               int64_t nc, float* Bp) {
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const int64_t cols = nc - jr < kNR ? nc - jr : kNR;
    float* dst = Bp + jr * kc;  // (kc, NR), 64-byte aligned
    if (!trans) {
      // B (K, N): two (masked) vectors per k.
      const __mmask16 m0 = first_n(cols), m1 = first_n(cols - 16);
      const float* src = B + p0 * ldb + j0 + jr;
      for (int64_t k = 0; k < kc; ++k) {
        _mm512_store_ps(dst + k * kNR, _mm512_maskz_loadu_ps(m0, src + k * ldb));
        _mm512_store_ps(dst + k * kNR + 16, _mm512_maskz_loadu_ps(m1, src + k * ldb + 16));
      }
    } else {
      // B stored (N, K): the panel's two 16-column halves × 16 k per step.
      const float* src = B + (j0 + jr) * ldb + p0;
      const int64_t rows0 = cols < 16 ? cols : 16, rows1 = cols > 16 ? cols - 16 : 0;
      for (int64_t k = 0; k < kc; k += 16) {
        const int64_t kn = kc - k < 16 ? kc - k : 16;
        transpose_block(src + k, ldb, rows0, kn, dst + k * kNR, kNR, 0xFFFF);
        transpose_block(src + 16 * ldb + k, ldb, rows1, kn, dst + k * kNR + 16, kNR, 0xFFFF);
      }
    }
  }
}

}  // namespace

SgemmKernelInfo sgemm_kernel_avx512() {
  return {&kernel_14x32, kMR, kNR, &pack_a_14, &pack_b_32};
}

}  // namespace xgd::kernels::cpu::detail
