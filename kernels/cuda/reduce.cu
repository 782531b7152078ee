// CUDA kernels of the reduction family (contracts: reduce.h). Built by nvcc into
// xgd_kernels_cuda and by the host compiler into xgd_kernels_emu (kernels/emu).
//
// Layout: the input's dims are split into kept and reduced segments (size-1 dims dropped,
// same-kind neighbours merged), so output index o and reduction index r map to the input offset
// kept_offset(o) + reduced_offset(r): any set of reduced dims is one pass. Two kernels:
//   rows  innermost segment reduced (reduce along contiguous memory): one block per output,
//         threads stride along r (coalesced), block tree reduction;
//   cols  innermost segment kept (e.g. dim 1 of N×C×H×W): 32 consecutive outputs per block
//         along x (coalesced across threads), 8 slices of r along y combined in y order.
// Few outputs over a long r (a mean over everything, a sum over N,H,W) would leave the GPU
// idle, so r is then split into chunks (a shape-only choice: results do not depend on the grid
// size); the partials go to the workspace and a finishing kernel combines them in chunk order.
// Sums accumulate in double for float and double inputs, as the CPU backend.
#include "kernels/cuda/device.h"
// (device.h first)
#include <limits>

#include "kernels/cpu/pointwise.h"  // kMaxDims
#include "kernels/cuda/launch.h"
#include "kernels/cuda/reduce.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

constexpr int kMaxDims = cpu::kMaxDims;
constexpr unsigned kRowThreads = 256;
constexpr unsigned kColX = 32, kColY = 8;
constexpr int64_t kWantBlocks = 1024;  // split r into chunks until about this many blocks

// ---------------------------------------------------------------- combine operations
// On doubles: every float and double value is exact in double, so max/min partials lose nothing.
struct SumOp {
  double identity;
  XGD_DEVICE double operator()(double a, double b) const { return a + b; }
  XGD_DEVICE double finish(double a, double scale) const { return a * scale; }
};
// NaN wins (PyTorch propagates NaN through max/min); identity is -inf for max, +inf for min.
template <class V>
XGD_DEVICE bool better(bool is_max, V v, V m) {
  return (is_max ? v > m : v < m) || (v != v && m == m);
}
template <class V>
XGD_DEVICE bool same_value(V a, V b) {
  return a == b || (a != a && b != b);
}
struct ExtremeOp {
  double identity;
  bool is_max;
  XGD_DEVICE double operator()(double a, double b) const { return better(is_max, b, a) ? b : a; }
  XGD_DEVICE double finish(double a, double) const { return a; }
};

// Element sources: the value of input element `off` for output `o`.
template <class T>
struct ValueSrc {
  const T* x;
  XGD_DEVICE double operator()(int64_t off, int64_t) const { return static_cast<double>(x[off]); }
};
// 1 where x equals its output's extreme m[o] (the tie count of extreme_backward_even).
template <class T>
struct TieSrc {
  const T* x;
  const T* m;
  XGD_DEVICE double operator()(int64_t off, int64_t o) const {
    return same_value(x[off], m[o]) ? 1.0 : 0.0;
  }
};

// Warp then block combination in a fixed tree order (deterministic); result in every thread.
template <class Op>
XGD_DEVICE double warp_combine(double v, Op op, unsigned active) {
  const unsigned mask = active >= 32 ? 0xffffffffu : (1u << active) - 1u;
  const unsigned lane = (threadIdx.x + blockDim.x * threadIdx.y) % 32;
  for (unsigned offset = 16; offset > 0; offset >>= 1) {
    double other = __shfl_down_sync(mask, v, offset);
    if (lane + offset < active) v = op(v, other);
  }
  return v;
}
template <class Op>
XGD_DEVICE double block_combine(double v, Op op) {
  __shared__ double warp_totals[32];
  const unsigned linear = threadIdx.x + blockDim.x * threadIdx.y;
  const unsigned nthreads = blockDim.x * blockDim.y;
  const unsigned warp = linear / 32, nwarps = (nthreads + 31) / 32;
  const unsigned active = nthreads - warp * 32 < 32 ? nthreads - warp * 32 : 32;
  v = warp_combine(v, op, active);
  __syncthreads();  // the previous call may still be reading warp_totals
  if (linear % 32 == 0) warp_totals[warp] = v;
  __syncthreads();
  double total = warp_totals[0];
  for (unsigned w = 1; w < nwarps; ++w) total = op(total, warp_totals[w]);
  return total;
}

// ---------------------------------------------------------------- geometry
struct ReduceGeom {
  int nk = 0, nr = 0;
  int64_t ksize[kMaxDims] = {}, kstride[kMaxDims] = {};
  int64_t rsize[kMaxDims] = {}, rstride[kMaxDims] = {};
  int64_t K = 1, R = 1;       // outputs, terms per output
  int64_t chunks = 1, L = 1;  // r split into `chunks` ranges of L terms
  bool rows = false;          // the innermost segment is reduced
};

XGD_DEVICE int64_t offset_of(int64_t idx, int n, const int64_t* size, const int64_t* stride) {
  if (n == 1) return idx * stride[0];
  int64_t off = 0;
  for (int d = n - 1; d >= 0; --d) {
    int64_t q = idx / size[d];
    off += (idx - q * size[d]) * stride[d];
    idx = q;
  }
  return off;
}

__host__ __device__ inline int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

ReduceGeom make_geom(const int64_t* shape, int nd, const uint8_t* reduce) {
  XGD_CHECK(nd <= kMaxDims, "reduce: more than ", kMaxDims, " dims");
  ReduceGeom g;
  int64_t stride = 1;
  int last_kind = -1;  // 0 kept, 1 reduced; walk innermost first, then flip the segments
  for (int d = nd - 1; d >= 0; --d) {
    const int64_t size = shape[d];
    if (size != 1) {
      const int kind = reduce[d] ? 1 : 0;
      int& cnt = kind ? g.nr : g.nk;
      int64_t* sz = kind ? g.rsize : g.ksize;
      int64_t* st = kind ? g.rstride : g.kstride;
      if (kind == last_kind) {
        sz[cnt - 1] *= size;
      } else {
        sz[cnt] = size;
        st[cnt] = stride;
        ++cnt;
      }
      if (last_kind == -1) g.rows = kind == 1;
      last_kind = kind;
    }
    stride *= size;
  }
  std::reverse(g.ksize, g.ksize + g.nk);
  std::reverse(g.kstride, g.kstride + g.nk);
  std::reverse(g.rsize, g.rsize + g.nr);
  std::reverse(g.rstride, g.rstride + g.nr);
  for (int i = 0; i < g.nk; ++i) g.K *= g.ksize[i];
  for (int i = 0; i < g.nr; ++i) g.R *= g.rsize[i];
  if (g.rows && g.R < 64) g.rows = false;  // short rows: one thread per output does better
  // Chunks: enough blocks to fill the GPU, each chunk still long enough to amortise its launch.
  const int64_t blocks = g.rows ? g.K : ceil_div(g.K, kColX);
  const int64_t min_len = g.rows ? 4096 : 512;
  if (blocks < kWantBlocks / 2 && g.R >= 2 * min_len) {
    g.chunks = std::min(ceil_div(g.R, min_len), ceil_div(kWantBlocks, blocks));
    g.L = ceil_div(g.R, g.chunks);
    g.chunks = ceil_div(g.R, g.L);  // no empty chunk
  }
  if (g.chunks == 1) g.L = g.R;
  return g;
}

int64_t partials_of(const ReduceGeom& g) {
  return g.chunks > 1 ? g.K * g.chunks : 0;
}

// ---------------------------------------------------------------- reduction kernels
// Block b reduces chunk b % chunks of output b / chunks; with one chunk it writes the output,
// otherwise part[b] (= part[o·chunks + c]).
template <class Out, class Src, class Op>
__global__ void reduce_rows_kernel(ReduceGeom g, Src src, Op op, double scale, Out* out,
                                   double* part) {
  for (int64_t b = blockIdx.x; b < g.K * g.chunks; b += gridDim.x) {
    const int64_t o = b / g.chunks, c = b - o * g.chunks;
    const int64_t base = offset_of(o, g.nk, g.ksize, g.kstride);
    const int64_t r1 = min(g.R, (c + 1) * g.L);
    double acc = op.identity;
    for (int64_t r = c * g.L + threadIdx.x; r < r1; r += blockDim.x)
      acc = op(acc, src(base + offset_of(r, g.nr, g.rsize, g.rstride), o));
    acc = block_combine(acc, op);
    if (threadIdx.x == 0) {
      if (g.chunks == 1)
        out[o] = static_cast<Out>(op.finish(acc, scale));
      else
        part[b] = acc;
    }
  }
}

template <class Out, class Src, class Op>
__global__ void reduce_cols_kernel(ReduceGeom g, Src src, Op op, double scale, Out* out,
                                   double* part) {
  __shared__ double slice[kColY][kColX + 1];
  const int64_t tiles = ceil_div(g.K, kColX);
  for (int64_t b = blockIdx.x; b < tiles * g.chunks; b += gridDim.x) {
    const int64_t tile = b / g.chunks, c = b - tile * g.chunks;
    const int64_t o = tile * kColX + threadIdx.x;
    double acc = op.identity;
    if (o < g.K) {
      const int64_t base = offset_of(o, g.nk, g.ksize, g.kstride);
      const int64_t r1 = min(g.R, (c + 1) * g.L);
      for (int64_t r = c * g.L + threadIdx.y; r < r1; r += kColY)
        acc = op(acc, src(base + offset_of(r, g.nr, g.rsize, g.rstride), o));
    }
    slice[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && o < g.K) {
      double s = slice[0][threadIdx.x];
      for (unsigned y = 1; y < kColY; ++y) s = op(s, slice[y][threadIdx.x]);
      if (g.chunks == 1)
        out[o] = static_cast<Out>(op.finish(s, scale));
      else
        part[o * g.chunks + c] = s;
    }
    __syncthreads();  // slice is rewritten by the next tile
  }
}

// out[o] = the chunk partials of o combined in chunk order.
template <class Out, class Op>
__global__ void reduce_finish_kernel(int64_t K, int64_t chunks, const double* __restrict__ part,
                                     Op op, double scale, Out* __restrict__ out) {
  for (int64_t o = global_thread(); o < K; o += grid_stride()) {
    const double* p = part + o * chunks;
    double acc = p[0];
    for (int64_t c = 1; c < chunks; ++c) acc = op(acc, p[c]);
    out[o] = static_cast<Out>(op.finish(acc, scale));
  }
}

template <class T>
__global__ void fill_kernel(T* __restrict__ out, int64_t n, T v) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) out[i] = v;
}
template <class T>
void run_fill(T* out, int64_t n, T v, cudaStream_t s) {
  XGD_LAUNCH(fill_kernel<T>, grid_1d(n), kBlock, 0, s)(out, n, v);
  XGD_CHECK_LAUNCH();
}

template <class Out, class Src, class Op>
void run_reduction(const ReduceGeom& g, Src src, Op op, double scale, Out* out, double* workspace,
                   cudaStream_t s) {
  XGD_CHECK(g.chunks == 1 || workspace != nullptr,
            "reduce: this reduction needs a workspace (reduce_workspace)");
  const int64_t work = g.rows ? g.K * g.chunks : ceil_div(g.K, kColX) * g.chunks;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(work, max_grid_blocks()));
  if (g.rows) {
    XGD_LAUNCH((reduce_rows_kernel<Out, Src, Op>), blocks, kRowThreads, 0, s)
    (g, src, op, scale, out, workspace);
  } else {
    XGD_LAUNCH((reduce_cols_kernel<Out, Src, Op>), blocks, dim3(kColX, kColY), 0, s)
    (g, src, op, scale, out, workspace);
  }
  XGD_CHECK_LAUNCH();
  if (g.chunks > 1) {
    XGD_LAUNCH((reduce_finish_kernel<Out, Op>), grid_1d(g.K), kBlock, 0, s)
    (g.K, g.chunks, workspace, op, scale, out);
    XGD_CHECK_LAUNCH();
  }
}

// ---------------------------------------------------------------- arg_extreme
// inner == 1: one warp per row, lanes stride along it (coalesced); each lane keeps its first
// extreme, then the warp combines (value, index) pairs preferring the better value, then the
// lower index (first occurrence; NaN counts as the extreme).
template <class T>
XGD_DEVICE void pick_pair(bool is_max, T& v, long long& i, T ov, long long oi) {
  if (better(is_max, ov, v) || (same_value(ov, v) && oi < i)) v = ov, i = oi;
}

template <class T>
__global__ void arg_rows_kernel(bool is_max, const T* __restrict__ x, int64_t outer, int64_t R,
                                T* __restrict__ values, int64_t* __restrict__ index) {
  const unsigned lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t row = global_thread() / 32; row < outer; row += warps) {
    const T* p = x + row * R;
    T v = p[0];
    long long idx = 0;
    for (int64_t r = lane; r < R; r += 32)
      if (better(is_max, p[r], v)) v = p[r], idx = r;
    // A lane past the row's end keeps (p[0], 0): a valid candidate, so every lane combines.
    for (unsigned offset = 16; offset > 0; offset >>= 1) {
      T ov = __shfl_down_sync(0xffffffffu, v, offset);
      long long oi = __shfl_down_sync(0xffffffffu, idx, offset);
      if (lane + offset < 32) pick_pair(is_max, v, idx, ov, oi);
    }
    if (lane == 0) {
      if (values) values[row] = v;
      index[row] = idx;
    }
  }
}

// inner > 1: one thread per (o, i), scanning r at stride inner (coalesced across i).
template <class T>
__global__ void arg_cols_kernel(bool is_max, const T* __restrict__ x, int64_t outer, int64_t R,
                                int64_t inner, T* __restrict__ values,
                                int64_t* __restrict__ index) {
  for (int64_t k = global_thread(); k < outer * inner; k += grid_stride()) {
    const int64_t o = k / inner, i = k - o * inner;
    const T* p = x + o * R * inner + i;
    T m = p[0];
    int64_t best = 0;
    for (int64_t r = 1; r < R; ++r) {
      const T v = p[r * inner];
      if (better(is_max, v, m)) m = v, best = r;
    }
    if (values) values[k] = m;
    index[k] = best;
  }
}

template <class T>
__global__ void scatter_index_kernel(const T* __restrict__ g, const int64_t* __restrict__ index,
                                     int64_t R, int64_t inner, int64_t n, T* __restrict__ dx) {
  for (int64_t e = global_thread(); e < n; e += grid_stride()) {
    const int64_t i = e % inner, q = e / inner, r = q % R, o = q / R;
    const int64_t k = o * inner + i;
    dx[e] = index[k] == r ? g[k] : T(0);
  }
}

// ---------------------------------------------------------------- element-wise backward
// Input element e -> its output index: groups of merged dims, output stride 0 where reduced.
struct ExpandGeom {
  int n = 0;
  int64_t size[kMaxDims] = {}, ostride[kMaxDims] = {};
  int64_t numel = 1;
};

ExpandGeom make_expand(const int64_t* shape, int nd, const uint8_t* reduce) {
  XGD_CHECK(nd <= kMaxDims, "reduce: more than ", kMaxDims, " dims");
  ExpandGeom g;
  int last = -1;
  int64_t kept = 1;  // output stride of the next kept dim, innermost first
  for (int d = nd - 1; d >= 0; --d) {
    g.numel *= shape[d];
    if (shape[d] == 1) continue;
    const int kind = reduce[d] ? 1 : 0;
    if (kind == last) {
      g.size[g.n - 1] *= shape[d];
    } else {
      g.size[g.n] = shape[d];
      g.ostride[g.n] = kind ? 0 : kept;
      ++g.n;
    }
    if (!kind) kept *= shape[d];
    last = kind;
  }
  return g;  // groups innermost first
}

XGD_DEVICE int64_t out_index(int64_t e, const ExpandGeom& g) {
  int64_t o = 0;
  for (int d = 0; d < g.n; ++d) {
    const int64_t q = e / g.size[d];
    o += (e - q * g.size[d]) * g.ostride[d];
    e = q;
  }
  return o;
}

template <class T>
__global__ void expand_kernel(const T* __restrict__ g, ExpandGeom geom, T scale,
                              T* __restrict__ dx) {
  for (int64_t e = global_thread(); e < geom.numel; e += grid_stride())
    dx[e] = g[out_index(e, geom)] * scale;
}

// dx = g / count where x equals its extreme, 0 elsewhere (count: the ties, exact in double).
template <class T>
__global__ void even_split_kernel(const T* __restrict__ x, const T* __restrict__ m,
                                  const T* __restrict__ g, const double* __restrict__ count,
                                  ExpandGeom geom, T* __restrict__ dx) {
  for (int64_t e = global_thread(); e < geom.numel; e += grid_stride()) {
    const int64_t o = out_index(e, geom);
    dx[e] = same_value(x[e], m[o]) ? g[o] / static_cast<T>(count[o]) : T(0);
  }
}

}  // namespace

// ---------------------------------------------------------------- launchers
int64_t reduce_workspace(const int64_t* shape, int ndim, const uint8_t* reduce) {
  const ReduceGeom g = make_geom(shape, ndim, reduce);
  return partials_of(g) + g.K;  // partials, then the tie counts of extreme_backward_even
}

template <class T>
void reduce_sum(const T* x, const int64_t* shape, int nd, const uint8_t* reduce, double scale,
                T* out, double* workspace, cudaStream_t s) {
  const ReduceGeom g = make_geom(shape, nd, reduce);
  int64_t numel = 1;
  for (int d = 0; d < nd; ++d) numel *= shape[d];
  if (g.K == 0) return;
  if (numel == 0) {  // Σ of nothing is 0; a mean's scale is inf here, giving NaN as PyTorch
    run_fill(out, g.K, static_cast<T>(0.0 * scale), s);
    return;
  }
  run_reduction(g, ValueSrc<T>{x}, SumOp{0.0}, scale, out, workspace, s);
}

template <class T>
void reduce_extreme(bool is_max, const T* x, const int64_t* shape, int nd, const uint8_t* reduce,
                    T* out, double* workspace, cudaStream_t s) {
  const ReduceGeom g = make_geom(shape, nd, reduce);
  int64_t numel = 1;
  for (int d = 0; d < nd; ++d) numel *= shape[d];
  if (numel == 0) return;  // the op rejects empty reductions; empty kept dims: nothing to do
  const double inf = std::numeric_limits<double>::infinity();
  run_reduction(g, ValueSrc<T>{x}, ExtremeOp{is_max ? -inf : inf, is_max}, 1.0, out, workspace, s);
}

template <class T>
void arg_extreme(bool is_max, const T* x, int64_t outer, int64_t R, int64_t inner, T* values,
                 int64_t* index, cudaStream_t s) {
  if (outer * inner == 0) return;
  if (inner == 1) {
    const int64_t warps_per_block = kBlock / 32;
    XGD_LAUNCH(arg_rows_kernel<T>, grid_1d(outer, warps_per_block), kBlock, 0, s)
    (is_max, x, outer, R, values, index);
  } else {
    XGD_LAUNCH(arg_cols_kernel<T>, grid_1d(outer * inner), kBlock, 0, s)
    (is_max, x, outer, R, inner, values, index);
  }
  XGD_CHECK_LAUNCH();
}

template <class T>
void scatter_index_backward(const T* g, const int64_t* index, int64_t outer, int64_t R,
                            int64_t inner, T* dx, cudaStream_t s) {
  const int64_t n = outer * R * inner;
  if (n == 0) return;
  XGD_LAUNCH(scatter_index_kernel<T>, grid_1d(n), kBlock, 0, s)(g, index, R, inner, n, dx);
  XGD_CHECK_LAUNCH();
}

template <class T>
void expand_reduced(const T* g, const int64_t* shape, int nd, const uint8_t* reduce, T scale, T* dx,
                    cudaStream_t s) {
  const ExpandGeom geom = make_expand(shape, nd, reduce);
  if (geom.numel == 0) return;
  XGD_LAUNCH(expand_kernel<T>, grid_1d(geom.numel), kBlock, 0, s)(g, geom, scale, dx);
  XGD_CHECK_LAUNCH();
}

template <class T>
void extreme_backward_even(const T* x, const T* m, const T* g, const int64_t* shape, int nd,
                           const uint8_t* reduce, T* dx, double* workspace, cudaStream_t s) {
  const ExpandGeom geom = make_expand(shape, nd, reduce);
  if (geom.numel == 0) return;
  XGD_CHECK(workspace != nullptr, "extreme_backward_even: needs a workspace (reduce_workspace)");
  const ReduceGeom rg = make_geom(shape, nd, reduce);
  double* count = workspace + partials_of(rg);  // (K) ties per output
  run_reduction(rg, TieSrc<T>{x, m}, SumOp{0.0}, 1.0, count, workspace, s);
  XGD_LAUNCH(even_split_kernel<T>, grid_1d(geom.numel), kBlock, 0, s)(x, m, g, count, geom, dx);
  XGD_CHECK_LAUNCH();
}

namespace {
template <class T>
ReduceFns<T> make_fns() {
  return {&reduce_sum<T>,     &reduce_extreme<T>,       &arg_extreme<T>, &scatter_index_backward<T>,
          &expand_reduced<T>, &extreme_backward_even<T>};
}
}  // namespace

const ReduceTable& reduce_table() {
  static const ReduceTable table{&reduce_workspace, make_fns<float>(), make_fns<double>()};
  return table;
}

#define XGD_INSTANTIATE(T)                                                                         \
  template void reduce_sum<T>(const T*, const int64_t*, int, const uint8_t*, double, T*, double*,  \
                              cudaStream_t);                                                       \
  template void reduce_extreme<T>(bool, const T*, const int64_t*, int, const uint8_t*, T*,         \
                                  double*, cudaStream_t);                                          \
  template void arg_extreme<T>(bool, const T*, int64_t, int64_t, int64_t, T*, int64_t*,            \
                               cudaStream_t);                                                      \
  template void scatter_index_backward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t, T*, \
                                          cudaStream_t);                                           \
  template void expand_reduced<T>(const T*, const int64_t*, int, const uint8_t*, T, T*,            \
                                  cudaStream_t);                                                   \
  template void extreme_backward_even<T>(const T*, const T*, const T*, const int64_t*, int,        \
                                         const uint8_t*, T*, double*, cudaStream_t);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
