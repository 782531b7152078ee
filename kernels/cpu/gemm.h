// General matrix multiply on the CPU, row-major (C-order) like the rest of the engine:
//   C (M×N) = alpha · op(A) (M×K) · op(B) (K×N) + beta · C
// op(X) = X or Xᵀ; lda/ldb/ldc are row strides of the matrices as stored. beta = 0 ignores C's
// previous contents (NaN-safe), as BLAS.
//
// float: packed GotoBLAS/BLIS-style GEMM (gemm.cpp) with an AVX-512 (gemm_avx512.cpp) or
// AVX2+FMA (gemm_avx2.cpp) register-blocked micro-kernel picked at run time, OpenMP over blocks
// of C. Inside an OpenMP parallel region it runs on the calling thread only (the conv code
// calls gemm per image from a parallel loop). double: cache-blocked, for float64 gradchecks.
#pragma once
#include <cstdint>

namespace xgd::kernels::cpu {

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// Which SGEMM micro-kernel runs. Auto = the best the CPU supports. Forcing one is for tests and
// benchmarks (every path is tested on an AVX-512 machine); forcing an ISA the CPU lacks throws
// xgd::Error.
enum class GemmIsa { Auto, Avx512, Avx2, Generic };
void set_sgemm_isa(GemmIsa isa);
GemmIsa sgemm_isa();  // the kernel in use now (never Auto)
const char* gemm_isa_name(GemmIsa isa);

namespace detail {

// One SGEMM micro-kernel: C[mr×nr] = alpha·Σ_k Ap[k][0..MR)ᵀ·Bp[k][0..NR) + beta·C for one tile.
// Ap: packed A micro-panel (kc × MR, MR values per k), Bp: packed B micro-panel (kc × NR), both
// zero-padded to the full tile; mr <= MR, nr <= NR are the live rows/cols of the tile.
// beta == 0 writes C without reading it.
using SgemmMicroKernel = void (*)(int64_t kc, const float* Ap, const float* Bp, float* C,
                                  int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta);

// Packing of one block into micro-panels for a kernel of tile MR×NR, zero-padded to whole tiles:
//   Ap (ceil(mc/MR) panels of kc × MR) <- op(A)[i0 : i0+mc, p0 : p0+kc]
//   Bp (ceil(nc/NR) panels of kc × NR) <- op(B)[p0 : p0+kc, j0 : j0+nc]
using SgemmPackA = void (*)(bool trans, const float* A, int64_t lda, int64_t i0, int64_t mc,
                            int64_t p0, int64_t kc, float* Ap);
using SgemmPackB = void (*)(bool trans, const float* B, int64_t ldb, int64_t p0, int64_t kc,
                            int64_t j0, int64_t nc, float* Bp);

struct SgemmKernelInfo {
  SgemmMicroKernel fn;
  int mr, nr;  // register tile: rows of C (broadcast from A), cols of C (vectors of B)
  SgemmPackA pack_a = nullptr;  // SIMD packing for this tile; nullptr: the portable one
  SgemmPackB pack_b = nullptr;
};

SgemmKernelInfo sgemm_kernel_avx512();  // gemm_avx512.cpp (compiled with -mavx512f)
SgemmKernelInfo sgemm_kernel_avx2();    // gemm_avx2.cpp (compiled with -mavx2 -mfma)

}  // namespace detail
}  // namespace xgd::kernels::cpu
