// CUDA kernels of the linear family (contracts: linear.h). Built by nvcc into xgd_kernels_cuda and
// by the host compiler into xgd_kernels_emu (kernels/emu).
//
// GEMM: 64×64 tiles of C per 256-thread block, the K dimension in steps of 16 staged through
// shared memory (As[k][m], Bs[k][n]); each thread accumulates a 4×4 register block at rows
// ty + 16i and columns tx + 16j, so a warp's shared reads are broadcasts (A) or consecutive
// (B) and its stores to C cover 16 consecutive columns. The transposes are template arguments:
// tile loads walk the operand's contiguous dimension with consecutive threads either way.
// Partial tiles load zeros; every tile, batch entry and grid dimension is a grid-stride loop.
#include "kernels/cuda/device.h"
// (device.h first)
#include "kernels/cuda/launch.h"
#include "kernels/cuda/linear.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16;  // block tile of C, K step
constexpr int kTX = 16, kTY = 16;            // threads; each owns (kBM/kTY)×(kBN/kTX) of C
constexpr int kRM = kBM / kTY, kRN = kBN / kTX;
constexpr unsigned kMaxGridYZ = 65535;

template <class T>
struct GemmArgs {
  int64_t batch, M, N, K;
  T alpha, beta;
  const T* A;
  int64_t lda, sa;
  const T* B;
  int64_t ldb, sb;
  const T* bias;
  T* C;
  int64_t ldc, sc;
};

template <class T, bool TA, bool TB>
__global__ void __launch_bounds__(kTX* kTY) gemm_kernel(GemmArgs<T> p) {
  __shared__ T As[kBK][kBM + 1];  // +1: the transposing stores of a row-major A hit distinct banks
  __shared__ T Bs[kBK][kBN + 1];
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kTX + tx;
  const int64_t tiles_m = (p.M + kBM - 1) / kBM, tiles_n = (p.N + kBN - 1) / kBN;
  for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
    const T* A = p.A + bz * p.sa;
    const T* B = p.B + bz * p.sb;
    T* C = p.C + bz * p.sc;
    for (int64_t by = blockIdx.y; by < tiles_m; by += gridDim.y) {
      for (int64_t bx = blockIdx.x; bx < tiles_n; bx += gridDim.x) {
        const int64_t m0 = by * kBM, n0 = bx * kBN;
        T acc[kRM][kRN];
        for (int i = 0; i < kRM; ++i)
          for (int j = 0; j < kRN; ++j) acc[i][j] = T(0);
        for (int64_t k0 = 0; k0 < p.K; k0 += kBK) {
          for (int e = tid; e < kBM * kBK; e += kTX * kTY) {
            // Consecutive threads along op(A)'s contiguous dim: k for A, m for Aᵀ.
            const int m = TA ? e % kBM : e / kBK, k = TA ? e / kBM : e % kBK;
            const int64_t gm = m0 + m, gk = k0 + k;
            As[k][m] = gm < p.M && gk < p.K ? A[TA ? gk * p.lda + gm : gm * p.lda + gk] : T(0);
          }
          for (int e = tid; e < kBK * kBN; e += kTX * kTY) {
            const int n = TB ? e / kBK : e % kBN, k = TB ? e % kBK : e / kBN;
            const int64_t gk = k0 + k, gn = n0 + n;
            Bs[k][n] = gk < p.K && gn < p.N ? B[TB ? gn * p.ldb + gk : gk * p.ldb + gn] : T(0);
          }
          __syncthreads();
          for (int k = 0; k < kBK; ++k) {
            T a[kRM], b[kRN];
            for (int i = 0; i < kRM; ++i) a[i] = As[k][ty + kTY * i];
            for (int j = 0; j < kRN; ++j) b[j] = Bs[k][tx + kTX * j];
            for (int i = 0; i < kRM; ++i)
              for (int j = 0; j < kRN; ++j) acc[i][j] += a[i] * b[j];
          }
          __syncthreads();  // the tiles are reloaded
        }
        for (int i = 0; i < kRM; ++i) {
          const int64_t m = m0 + ty + kTY * i;
          if (m >= p.M) continue;
          for (int j = 0; j < kRN; ++j) {
            const int64_t n = n0 + tx + kTX * j;
            if (n >= p.N) continue;
            T v = p.alpha * acc[i][j];
            if (p.bias) v += p.bias[n];
            T* c = C + m * p.ldc + n;
            if (p.beta != T(0)) v += p.beta * *c;
            *c = v;
          }
        }
      }
    }
  }
}

// 32 consecutive columns per block along x, 8 row slices along y added in y order.
constexpr unsigned kColX = 32, kColY = 8;
template <class T>
__global__ void sum_rows_kernel(const T* __restrict__ dy, T* __restrict__ dbias, int64_t rows,
                                int64_t cols) {
  __shared__ double slice[kColY][kColX + 1];
  for (int64_t tile = blockIdx.x; tile * kColX < cols; tile += gridDim.x) {
    const int64_t c = tile * kColX + threadIdx.x;
    double acc = 0;
    if (c < cols)
      for (int64_t r = threadIdx.y; r < rows; r += kColY)
        acc += static_cast<double>(dy[r * cols + c]);
    slice[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
      double s = 0;
      for (unsigned y = 0; y < kColY; ++y) s += slice[y][threadIdx.x];
      dbias[c] = static_cast<T>(s);
    }
    __syncthreads();  // slice is rewritten by the next tile
  }
}

unsigned capped(int64_t n, unsigned cap) {
  return static_cast<unsigned>(std::clamp<int64_t>(n, 1, std::min(cap, max_grid_blocks())));
}

}  // namespace

template <class T>
void gemm(bool ta, bool tb, int64_t batch, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, int64_t sa, const T* B, int64_t ldb, int64_t sb, const T* bias, T beta, T* C,
          int64_t ldc, int64_t sc, cudaStream_t s) {
  if (batch == 0 || M == 0 || N == 0) return;
  const GemmArgs<T> p{batch, M, N, K, alpha, beta, A, lda, sa, B, ldb, sb, bias, C, ldc, sc};
  const dim3 grid(capped((N + kBN - 1) / kBN, UINT32_MAX), capped((M + kBM - 1) / kBM, kMaxGridYZ),
                  capped(batch, kMaxGridYZ));
  const dim3 block(kTX, kTY);
  if (!ta && !tb)
    XGD_LAUNCH((gemm_kernel<T, false, false>), grid, block, 0, s)(p);
  else if (!ta && tb)
    XGD_LAUNCH((gemm_kernel<T, false, true>), grid, block, 0, s)(p);
  else if (ta && !tb)
    XGD_LAUNCH((gemm_kernel<T, true, false>), grid, block, 0, s)(p);
  else
    XGD_LAUNCH((gemm_kernel<T, true, true>), grid, block, 0, s)(p);
  XGD_CHECK_LAUNCH();
}

template <class T>
void sum_rows(const T* dy, T* dbias, int64_t rows, int64_t cols, cudaStream_t s) {
  if (cols == 0) return;
  XGD_LAUNCH(sum_rows_kernel<T>, grid_1d(cols, kColX), dim3(kColX, kColY), 0, s)
  (dy, dbias, rows, cols);
  XGD_CHECK_LAUNCH();
}

const LinearTable& linear_table() {
  static const LinearTable table{{&gemm<float>, &sum_rows<float>},
                                 {&gemm<double>, &sum_rows<double>}};
  return table;
}

#define XGD_INSTANTIATE(T)                                                                      \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, int64_t, T, const T*, int64_t,   \
                        int64_t, const T*, int64_t, int64_t, const T*, T, T*, int64_t, int64_t, \
                        cudaStream_t);                                                          \
  template void sum_rows<T>(const T*, T*, int64_t, int64_t, cudaStream_t);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
