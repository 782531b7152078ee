// General matrix multiply on the CPU, row-major (C-order) like the rest of the engine:
//   C (M×N) = alpha · op(A) (M×K) · op(B) (K×N) + beta · C
// op(X) = X or Xᵀ; lda/ldb/ldc are row strides of the matrices as stored. beta = 0 ignores C's
// previous contents (NaN-safe), as BLAS.
#pragma once
#include <cstdint>

namespace xgd::kernels::cpu {

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

}  // namespace xgd::kernels::cpu
