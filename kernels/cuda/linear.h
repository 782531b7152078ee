// CUDA kernels of the linear family: a shared-memory tiled, register-blocked GEMM (no cuBLAS: it
// could not run under the emulator) and the bias column sums of nn.Linear's backward. Launchers
// on device pointers, enqueued on `stream`, never synchronising (DESIGN.md §2). Plain C++: the
// engine includes it for LinearTable.
#pragma once
#include <cstdint>

#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

struct LinearTable;

XGD_CUDA_ABI_BEGIN
// Row-major, as kernels/cpu/gemm.h, for `batch` products at element strides sa, sb, sc:
//   C[b] (M×N) = alpha · op(A[b]) (M×K) · op(B[b]) (K×N) + bias (N, per column) + beta · C[b]
// op(X) = X or Xᵀ (trans_a/trans_b); lda/ldb/ldc are row strides as stored. bias may be null;
// beta = 0 ignores C's previous contents (NaN-safe). Accumulates in T with FMA.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t batch, int64_t M, int64_t N, int64_t K, T alpha,
          const T* A, int64_t lda, int64_t sa, const T* B, int64_t ldb, int64_t sb, const T* bias,
          T beta, T* C, int64_t ldc, int64_t sc, cudaStream_t stream);

// dbias (cols) = Σ_rows dy (rows, cols), accumulated in double. Overwrites dbias.
template <class T>
void sum_rows(const T* dy, T* dbias, int64_t rows, int64_t cols, cudaStream_t stream);

const LinearTable& linear_table();
XGD_CUDA_ABI_END

template <class T>
struct LinearFns {
  decltype(&cuda::gemm<T>) gemm;
  decltype(&cuda::sum_rows<T>) sum_rows;
};

struct LinearTable {
  LinearFns<float> f32;
  LinearFns<double> f64;
  template <class T>
  const LinearFns<T>& of() const {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

}  // namespace xgd::kernels::cuda
