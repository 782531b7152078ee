// CUDA kernels of concat/slice/transpose/one_hot. Every launcher overwrites its output (=).
// Built by nvcc into xgd_kernels_cuda and by the host compiler into xgd_kernels_emu.
// Copies move the widest word the operands' alignment allows (16-byte words for float tensors
// with 4-float-aligned rows), grid-stride over (rows × words) with consecutive threads on
// consecutive words of a row: coalesced on both sides. Pure copies: bit-exact.
#include "kernels/cuda/device.h"
// (device.h first)
#include "kernels/cuda/launch.h"
#include "kernels/cuda/shape_ops.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

struct alignas(16) Word16 {
  uint64_t lo, hi;
};
struct alignas(2) Word2 {
  uint8_t b[2];
};

// The widest of 16/8/4/2/1 that divides every value (addresses, strides, sizes in bytes).
int word_bytes(std::initializer_list<uint64_t> values) {
  uint64_t bits = 16;
  for (uint64_t v : values) bits |= v;
  return static_cast<int>(bits & (~bits + 1));  // lowest set bit, at most 16
}
uint64_t addr(const void* p) {
  return reinterpret_cast<uint64_t>(p);
}

// ---------------------------------------------------------------- copy_rows
template <class W, class I>
__global__ void copy_rows_kernel(const W* __restrict__ src, I src_stride, W* __restrict__ dst,
                                 I dst_stride, I n, I row_words) {
  for (int64_t i = global_thread(); i < static_cast<int64_t>(n); i += grid_stride()) {
    const I k = static_cast<I>(i), r = k / row_words, c = k - r * row_words;
    dst[r * dst_stride + c] = src[r * src_stride + c];
  }
}

template <class W>
void copy_rows_words(const void* src, int64_t src_stride, void* dst, int64_t dst_stride,
                     int64_t rows, int64_t row_bytes, cudaStream_t s) {
  constexpr int64_t w = sizeof(W);
  const int64_t row_words = row_bytes / w, n = rows * row_words;
  const W* sp = static_cast<const W*>(src);
  W* dp = static_cast<W*>(dst);
  // Largest word offset touched: (rows-1)·stride + row_words on either side.
  const int64_t reach = (rows - 1) * std::max(src_stride, dst_stride) / w + row_words;
  if (reach <= INT32_MAX) {
    XGD_LAUNCH((copy_rows_kernel<W, uint32_t>), grid_1d(n), kBlock, 0, s)
    (sp, static_cast<uint32_t>(src_stride / w), dp, static_cast<uint32_t>(dst_stride / w),
     static_cast<uint32_t>(n), static_cast<uint32_t>(row_words));
  } else {
    XGD_LAUNCH((copy_rows_kernel<W, int64_t>), grid_1d(n), kBlock, 0, s)
    (sp, src_stride / w, dp, dst_stride / w, n, row_words);
  }
  XGD_CHECK_LAUNCH();
}

// ---------------------------------------------------------------- transpose
constexpr int kTile = 32, kTileRows = 8;  // 32×32 tile, 32×8 threads, 4 elements each

// Batches (o, m) of A×B matrices: src element (a, b) at ((o·A + a)·mid + m)·B + b, dst element
// (b, a) at ((o·B + b)·mid + m)·A + a. A tile is read along b and written along a, through
// shared memory padded by one column (no bank conflicts on the transposed read).
template <class W>
__global__ void transpose_tiled_kernel(const W* __restrict__ src, W* __restrict__ dst, int64_t A,
                                       int64_t mid, int64_t B, int64_t tiles_a, int64_t tiles_b,
                                       int64_t tiles) {
  __shared__ W tile[kTile][kTile + 1];
  for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
    const int64_t tb = t % tiles_b, rest = t / tiles_b;
    const int64_t ta = rest % tiles_a, batch = rest / tiles_a;
    const int64_t o = batch / mid, m = batch % mid;
    const W* s = src + (o * A * mid + m) * B;  // + a·mid·B + b
    W* d = dst + (o * B * mid + m) * A;        // + b·mid·A + a
    const int64_t a0 = ta * kTile, b0 = tb * kTile;
    for (int j = threadIdx.y; j < kTile; j += kTileRows) {
      const int64_t a = a0 + j, b = b0 + threadIdx.x;
      if (a < A && b < B) tile[j][threadIdx.x] = s[a * mid * B + b];
    }
    __syncthreads();
    for (int j = threadIdx.y; j < kTile; j += kTileRows) {
      const int64_t b = b0 + j, a = a0 + threadIdx.x;
      if (a < A && b < B) d[b * mid * A + a] = tile[threadIdx.x][j];
    }
    __syncthreads();  // the tile is refilled by the next iteration
  }
}

// inner > 1: dst word i -> (o, b, m, a, c) with c < run words; src word at (o, a, m, b, c).
template <class W>
__global__ void transpose_runs_kernel(const W* __restrict__ src, W* __restrict__ dst, int64_t n,
                                      int64_t A, int64_t mid, int64_t B, int64_t run) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) {
    int64_t q = i / run;
    const int64_t c = i - q * run;
    const int64_t a = q % A;
    q /= A;
    const int64_t m = q % mid;
    q /= mid;
    const int64_t b = q % B, o = q / B;
    dst[i] = src[(((o * A + a) * mid + m) * B + b) * run + c];
  }
}

template <class W>
void transpose_tiled(const void* src, void* dst, int64_t outer, int64_t A, int64_t mid, int64_t B,
                     cudaStream_t s) {
  const int64_t tiles_a = (A + kTile - 1) / kTile, tiles_b = (B + kTile - 1) / kTile;
  const int64_t tiles = outer * mid * tiles_a * tiles_b;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(tiles, max_grid_blocks()));
  XGD_LAUNCH(transpose_tiled_kernel<W>, blocks, dim3(kTile, kTileRows), 0, s)
  (static_cast<const W*>(src), static_cast<W*>(dst), A, mid, B, tiles_a, tiles_b, tiles);
  XGD_CHECK_LAUNCH();
}

template <class W>
void transpose_runs(const void* src, void* dst, int64_t n_bytes, int64_t A, int64_t mid, int64_t B,
                    int64_t run_bytes, cudaStream_t s) {
  const int64_t n = n_bytes / static_cast<int64_t>(sizeof(W));
  XGD_LAUNCH(transpose_runs_kernel<W>, grid_1d(n), kBlock, 0, s)
  (static_cast<const W*>(src), static_cast<W*>(dst), n, A, mid, B,
   run_bytes / static_cast<int64_t>(sizeof(W)));
  XGD_CHECK_LAUNCH();
}

// ---------------------------------------------------------------- one_hot
// One thread per label, writing its K outputs (consecutive threads: consecutive p, coalesced).
template <class T>
__global__ void one_hot_kernel(const int64_t* __restrict__ labels, int64_t N, int64_t P, int64_t K,
                               int64_t ignore_index, T* __restrict__ out, unsigned long long* bad) {
  for (int64_t i = global_thread(); i < N * P; i += grid_stride()) {
    const int64_t n = i / P, p = i - n * P;
    const int64_t c = labels[i];
    const bool ignored = c == ignore_index;
    if (!ignored && (c < 0 || c >= K)) atomicMin(bad, static_cast<unsigned long long>(i));
    T* o = out + n * K * P + p;  // (K) at stride P
    for (int64_t k = 0; k < K; ++k) o[k * P] = (!ignored && c == k) ? T(1) : T(0);
  }
}

}  // namespace

// ---------------------------------------------------------------- launchers
void copy_rows(const void* src, int64_t src_stride, void* dst, int64_t dst_stride, int64_t rows,
               int64_t row_bytes, cudaStream_t s) {
  if (rows <= 0 || row_bytes <= 0) return;
  if (rows == 1 || (src_stride == row_bytes && dst_stride == row_bytes)) {
    row_bytes *= rows;  // one contiguous block
    rows = 1;
    src_stride = dst_stride = row_bytes;
  }
  const int w = word_bytes({addr(src), addr(dst), static_cast<uint64_t>(src_stride),
                            static_cast<uint64_t>(dst_stride), static_cast<uint64_t>(row_bytes)});
  switch (w) {
    case 16:
      return copy_rows_words<Word16>(src, src_stride, dst, dst_stride, rows, row_bytes, s);
    case 8:
      return copy_rows_words<uint64_t>(src, src_stride, dst, dst_stride, rows, row_bytes, s);
    case 4:
      return copy_rows_words<uint32_t>(src, src_stride, dst, dst_stride, rows, row_bytes, s);
    case 2:
      return copy_rows_words<Word2>(src, src_stride, dst, dst_stride, rows, row_bytes, s);
    default:
      return copy_rows_words<uint8_t>(src, src_stride, dst, dst_stride, rows, row_bytes, s);
  }
}

void transpose(const void* src, void* dst, int64_t outer, int64_t A, int64_t mid, int64_t B,
               int64_t inner, int64_t elem_bytes, cudaStream_t s) {
  const int64_t n_bytes = outer * A * mid * B * inner * elem_bytes;
  if (n_bytes == 0) return;
  if (inner == 1) {
    switch (elem_bytes) {
      case 8:
        return transpose_tiled<uint64_t>(src, dst, outer, A, mid, B, s);
      case 4:
        return transpose_tiled<uint32_t>(src, dst, outer, A, mid, B, s);
      case 2:
        return transpose_tiled<Word2>(src, dst, outer, A, mid, B, s);
      case 1:
        return transpose_tiled<uint8_t>(src, dst, outer, A, mid, B, s);
      default:
        break;  // other element sizes: as runs
    }
  }
  const int64_t run = inner * elem_bytes;
  const int w = word_bytes({addr(src), addr(dst), static_cast<uint64_t>(run)});
  switch (w) {
    case 16:
      return transpose_runs<Word16>(src, dst, n_bytes, A, mid, B, run, s);
    case 8:
      return transpose_runs<uint64_t>(src, dst, n_bytes, A, mid, B, run, s);
    case 4:
      return transpose_runs<uint32_t>(src, dst, n_bytes, A, mid, B, run, s);
    case 2:
      return transpose_runs<Word2>(src, dst, n_bytes, A, mid, B, run, s);
    default:
      return transpose_runs<uint8_t>(src, dst, n_bytes, A, mid, B, run, s);
  }
}

template <class T>
void one_hot(const int64_t* labels, int64_t N, int64_t P, int64_t K, int64_t ignore_index, T* out,
             int64_t* bad, cudaStream_t s) {
  // 0x7F7F...: a positive int64 above any flat index, so "none" reads as >= N·P.
  XGD_CUDA_CHECK(cudaMemsetAsync(bad, 0x7F, sizeof(int64_t), s));
  if (N * P == 0 || K == 0) return;
  XGD_LAUNCH(one_hot_kernel<T>, grid_1d(N * P), kBlock, 0, s)
  (labels, N, P, K, ignore_index, out, reinterpret_cast<unsigned long long*>(bad));
  XGD_CHECK_LAUNCH();
}

const ShapeOpsTable& shape_ops_table() {
  static const ShapeOpsTable table{&copy_rows, &transpose, &one_hot<float>, &one_hot<double>};
  return table;
}

template void one_hot<float>(const int64_t*, int64_t, int64_t, int64_t, int64_t, float*, int64_t*,
                             cudaStream_t);
template void one_hot<double>(const int64_t*, int64_t, int64_t, int64_t, int64_t, double*, int64_t*,
                              cudaStream_t);

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
