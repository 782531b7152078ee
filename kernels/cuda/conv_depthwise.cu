// CUDA kernels of depthwise conv2d (kernels/cuda/conv_depthwise.h). Gradients overwrite (=).
// Built by nvcc into xgd_kernels_cuda and by the host compiler into xgd_kernels_emu.
//   forward: a block computes a 16×32 output tile of one (n, k) plane from its input window
//     (tile + halo: (15·s + (KH-1)·d + 1) × (31·s + (KW-1)·d + 1)) staged in shared memory
//     with coalesced row loads, zeros for the padding, so the tap loop has no bounds checks;
//     each thread computes 2 outputs of one column.
//   backward data: the same tiling over dx, gathering from the dy window that reaches the
//     tile (one window per channel-multiplier output plane): no atomics, no write conflicts.
//   When a window does not fit 48 KiB of shared memory (dilation 36 in double, larger
//     kernels), the tap loops read global memory directly (one thread per output).
//   backward weight: per output channel, the N·OH·OW terms of the 9 (or fewer) taps in flight
//     are summed in registers over a block-strided loop, then reduced through shared memory
//     in a fixed order;
//     long reductions are split into slices whose partials (workspace) a second kernel adds in
//     slice order. No atomics: bit-identical reruns.
#include "kernels/cuda/device.h"
// (device.h first)
#include "kernels/common/conv.h"
#include "kernels/cuda/conv_depthwise.h"
#include "kernels/cuda/launch.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

// Geometry as ints for the in-kernel index maths (plane sizes fit; plane offsets are int64).
struct DwGeom {
  int N, C, H, W, K, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw, m;
};
DwGeom dw_geom(const ConvGeom& g) {
  return {int(g.N),  int(g.C),  int(g.H),  int(g.W),      int(g.K),  int(g.KH),
          int(g.KW), int(g.OH), int(g.OW), int(g.sh),     int(g.sw), int(g.ph),
          int(g.pw), int(g.dh), int(g.dw), int(g.K / g.C)};
}

XGD_HD int floor_div(int a, int b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

constexpr int kTileW = 32;                 // output columns of a tile = threads along x
constexpr int kThreadsY = 8;               // threads along y
constexpr int kRows = 2;                   // output rows per thread
constexpr int kTileH = kThreadsY * kRows;  // output rows of a tile
constexpr int kTileThreads = kTileW * kThreadsY;
constexpr int64_t kMaxTileBytes = 48 * 1024;  // without the opt-in above 48 KiB

// A tile's position: tile index -> (plane, first row, first column); planes are (n, channel).
struct TileCoord {
  int64_t plane;
  int r0, c0;
};
XGD_DEVICE TileCoord tile_coord(int64_t tile, int tiles_w, int tiles_h) {
  const int tw = static_cast<int>(tile % tiles_w);
  const int64_t rest = tile / tiles_w;
  const int th = static_cast<int>(rest % tiles_h);
  return {rest / tiles_h, th * kTileH, tw * kTileW};
}

// Stages rows [r0, r0 + rows) × columns [c0, c0 + cols) of plane src (h, w) into s (rows, cols),
// zeros outside the plane. Consecutive threads take consecutive columns (coalesced).
template <class T>
XGD_DEVICE void stage(const T* __restrict__ src, int h, int w, int r0, int c0, int rows, int cols,
                      T* s, int tid) {
  for (int i = tid; i < rows * cols; i += kTileThreads) {
    const int r = i / cols, c = i - r * cols, y = r0 + r, x = c0 + c;
    s[i] = (y >= 0 && y < h && x >= 0 && x < w) ? src[y * w + x] : T(0);
  }
}

// ---------------------------------------------------------------- forward
// s_in: the input window of the tile, in_th × in_tw; s_w: the channel's KH × KW taps.
template <class T>
__global__ void __launch_bounds__(kTileThreads)
    dw_fwd_tiled_kernel(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b,
                        T* __restrict__ y, DwGeom g, int tiles_w, int tiles_h, int64_t n_tiles,
                        int in_th, int in_tw) {
  XGD_DYN_SHARED(T, smem);
  T* s_in = smem;
  T* s_w = smem + in_th * in_tw;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kTileW + tx, KK = g.KH * g.KW;
  const int64_t HW = int64_t(g.H) * g.W, OHW = int64_t(g.OH) * g.OW;
  for (int64_t tile = blockIdx.x; tile < n_tiles; tile += gridDim.x) {
    const TileCoord t = tile_coord(tile, tiles_w, tiles_h);  // plane = n·K + k
    const int k = static_cast<int>(t.plane % g.K);
    const int64_t n = t.plane / g.K;
    const T* xc = x + (n * g.C + k / g.m) * HW;  // (H, W)
    __syncthreads();                             // the previous tile is done with the shared arrays
    stage(xc, g.H, g.W, t.r0 * g.sh - g.ph, t.c0 * g.sw - g.pw, in_th, in_tw, s_in, tid);
    for (int i = tid; i < KK; i += kTileThreads) s_w[i] = w[int64_t(k) * KK + i];
    __syncthreads();
    const int ow = t.c0 + tx;
    const T bias = b ? b[k] : T(0);
    for (int r = 0; r < kRows; ++r) {
      const int lr = ty + r * kThreadsY, oh = t.r0 + lr;
      if (oh >= g.OH || ow >= g.OW) continue;
      const T* s = s_in + lr * g.sh * in_tw + tx * g.sw;
      T acc = bias;
      for (int kh = 0; kh < g.KH; ++kh)
        for (int kw = 0; kw < g.KW; ++kw)
          acc += s_w[kh * g.KW + kw] * s[kh * g.dh * in_tw + kw * g.dw];
      y[t.plane * OHW + oh * g.OW + ow] = acc;
    }
  }
}

// Windows too large for shared memory: one thread per output, taps read from global memory.
template <class T>
__global__ void dw_fwd_direct_kernel(const T* __restrict__ x, const T* __restrict__ w,
                                     const T* __restrict__ b, T* __restrict__ y, DwGeom g) {
  const int64_t OHW = int64_t(g.OH) * g.OW, HW = int64_t(g.H) * g.W;
  const int64_t total = int64_t(g.N) * g.K * OHW;
  for (int64_t i = global_thread(); i < total; i += grid_stride()) {
    const int64_t plane = i / OHW;
    const int p = static_cast<int>(i - plane * OHW), oh = p / g.OW, ow = p - oh * g.OW;
    const int k = static_cast<int>(plane % g.K);
    const T* xc = x + (plane / g.K * g.C + k / g.m) * HW;
    const T* wk = w + int64_t(k) * g.KH * g.KW;
    T acc = b ? b[k] : T(0);
    for (int kh = 0; kh < g.KH; ++kh) {
      const int ih = oh * g.sh - g.ph + kh * g.dh;
      if (ih < 0 || ih >= g.H) continue;
      for (int kw = 0; kw < g.KW; ++kw) {
        const int iw = ow * g.sw - g.pw + kw * g.dw;
        if (iw >= 0 && iw < g.W) acc += wk[kh * g.KW + kw] * xc[ih * g.W + iw];
      }
    }
    y[i] = acc;
  }
}

// ---------------------------------------------------------------- backward data
// dx[ih, iw] = Σ_j Σ_taps w[c·m + j, kh, kw] · dy[c·m + j, oh, ow] over the taps with
// ih = oh·sh - ph + kh·dh (and the same for columns). The dy window of a dx tile starts at
// oh_base = floor((ih0 + ph - (KH-1)·dh) / sh) and has at most dy_th rows (dy_tw columns).
template <class T>
__global__ void __launch_bounds__(kTileThreads)
    dw_bwd_data_tiled_kernel(const T* __restrict__ dy, const T* __restrict__ w, T* __restrict__ dx,
                             DwGeom g, int tiles_w, int tiles_h, int64_t n_tiles, int dy_th,
                             int dy_tw) {
  XGD_DYN_SHARED(T, smem);
  T* s_dy = smem;
  T* s_w = smem + dy_th * dy_tw;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kTileW + tx, KK = g.KH * g.KW;
  const int64_t HW = int64_t(g.H) * g.W, OHW = int64_t(g.OH) * g.OW;
  for (int64_t tile = blockIdx.x; tile < n_tiles; tile += gridDim.x) {
    const TileCoord t = tile_coord(tile, tiles_w, tiles_h);  // plane = n·C + c
    const int c = static_cast<int>(t.plane % g.C);
    const int64_t n = t.plane / g.C;
    const int oh_base = floor_div(t.r0 + g.ph - (g.KH - 1) * g.dh, g.sh);
    const int ow_base = floor_div(t.c0 + g.pw - (g.KW - 1) * g.dw, g.sw);
    const int iw = t.c0 + tx;
    // Offsets of this thread's outputs into the window, before the tap: t = ih + ph - base·s,
    // tap kh reads window row (t - kh·dh) / sh when that divides.
    const int col_t = iw + g.pw - ow_base * g.sw;
    T acc[kRows] = {};
    for (int j = 0; j < g.m; ++j) {
      const int k = c * g.m + j;
      __syncthreads();  // the previous window is no longer read
      stage(dy + (n * g.K + k) * OHW, g.OH, g.OW, oh_base, ow_base, dy_th, dy_tw, s_dy, tid);
      for (int i = tid; i < KK; i += kTileThreads) s_w[i] = w[int64_t(k) * KK + i];
      __syncthreads();
      for (int r = 0; r < kRows; ++r) {
        const int ih = t.r0 + ty + r * kThreadsY;
        if (ih >= g.H || iw >= g.W) continue;
        const int row_t = ih + g.ph - oh_base * g.sh;
        T a = acc[r];
        for (int kh = 0; kh < g.KH; ++kh) {
          const int th = row_t - kh * g.dh;  // >= 0: the window starts at the last tap's row
          if (th % g.sh != 0) continue;
          const T* srow = s_dy + (th / g.sh) * dy_tw;
          for (int kw = 0; kw < g.KW; ++kw) {
            const int tw = col_t - kw * g.dw;
            if (tw % g.sw == 0) a += s_w[kh * g.KW + kw] * srow[tw / g.sw];
          }
        }
        acc[r] = a;
      }
    }
    for (int r = 0; r < kRows; ++r) {
      const int ih = t.r0 + ty + r * kThreadsY;
      if (ih < g.H && iw < g.W) dx[t.plane * HW + ih * g.W + iw] = acc[r];
    }
  }
}

template <class T>
__global__ void dw_bwd_data_direct_kernel(const T* __restrict__ dy, const T* __restrict__ w,
                                          T* __restrict__ dx, DwGeom g) {
  const int64_t OHW = int64_t(g.OH) * g.OW, HW = int64_t(g.H) * g.W;
  const int64_t total = int64_t(g.N) * g.C * HW;
  const int KK = g.KH * g.KW;
  for (int64_t i = global_thread(); i < total; i += grid_stride()) {
    const int64_t plane = i / HW;  // n·C + c
    const int p = static_cast<int>(i - plane * HW), ih = p / g.W, iw = p - ih * g.W;
    const int c = static_cast<int>(plane % g.C);
    const int64_t n = plane / g.C;
    T acc = T(0);
    for (int j = 0; j < g.m; ++j) {
      const int k = c * g.m + j;
      const T* dyp = dy + (n * g.K + k) * OHW;
      const T* wk = w + int64_t(k) * KK;
      for (int kh = 0; kh < g.KH; ++kh) {
        const int th = ih + g.ph - kh * g.dh;
        if (th < 0 || th % g.sh != 0 || th / g.sh >= g.OH) continue;
        const int oh = th / g.sh;
        for (int kw = 0; kw < g.KW; ++kw) {
          const int tw = iw + g.pw - kw * g.dw;
          if (tw < 0 || tw % g.sw != 0 || tw / g.sw >= g.OW) continue;
          acc += wk[kh * g.KW + kw] * dyp[oh * g.OW + tw / g.sw];
        }
      }
    }
    dx[i] = acc;
  }
}

// ---------------------------------------------------------------- backward weight
constexpr int kWeightTaps = 9;     // taps summed per pass over dy (a 3×3 kernel: one pass)
constexpr int kWeightBlock = 256;  // threads; the kernel's reduction assumes exactly this
// Slices per channel: enough blocks to fill a GPU (~1024) when channels are few, but no slice
// shorter than kMinSlice terms. A function of the geometry only (deterministic results).
constexpr int64_t kWeightTargetBlocks = 1024, kMinSlice = 2048;
int64_t weight_slices(const ConvGeom& g) {
  const int64_t len = g.N * g.OH * g.OW;
  const int64_t by_blocks = (kWeightTargetBlocks + g.K - 1) / g.K;
  const int64_t by_len = (len + kMinSlice - 1) / kMinSlice;
  return std::max<int64_t>(1, std::min(by_blocks, by_len));
}

// Work item = (k, slice); out[item·KK + tap] = Σ over the slice's terms (out = dw when there
// is one slice, else the (K, S, KK) workspace).
template <class T>
__global__ void __launch_bounds__(kWeightBlock)
    dw_bwd_weight_kernel(const T* __restrict__ x, const T* __restrict__ dy, T* __restrict__ out,
                         DwGeom g, int64_t slices, int64_t slice_len) {
  constexpr int kGroups = kWeightBlock / 32;
  __shared__ T s_part[kWeightTaps][kWeightBlock];  // per thread: its nt tap sums
  __shared__ T s_group[kWeightTaps][kGroups];
  const int KK = g.KH * g.KW;
  const int64_t OHW = int64_t(g.OH) * g.OW, HW = int64_t(g.H) * g.W, len = g.N * OHW;
  for (int64_t item = blockIdx.x; item < g.K * slices; item += gridDim.x) {
    const int k = static_cast<int>(item / slices);
    const int64_t e0 = item % slices * slice_len, e1 = min(len, e0 + slice_len);
    for (int t0 = 0; t0 < KK; t0 += kWeightTaps) {
      const int nt = min(kWeightTaps, KK - t0);
      int off_h[kWeightTaps], off_w[kWeightTaps];  // tap (kh, kw) reads (oh·sh + off_h, ...)
      for (int i = 0; i < kWeightTaps; ++i) {
        const int tap = t0 + (i < nt ? i : 0), kh = tap / g.KW;
        off_h[i] = kh * g.dh - g.ph;
        off_w[i] = (tap - kh * g.KW) * g.dw - g.pw;
      }
      T acc[kWeightTaps] = {};
      for (int64_t e = e0 + threadIdx.x; e < e1; e += blockDim.x) {
        const int64_t n = e / OHW;
        const int p = static_cast<int>(e - n * OHW), oh = p / g.OW, ow = p - oh * g.OW;
        const T d = dy[(n * g.K + k) * OHW + p];
        const T* xc = x + (n * g.C + k / g.m) * HW;
        for (int i = 0; i < kWeightTaps; ++i) {
          const int ih = oh * g.sh + off_h[i], iw = ow * g.sw + off_w[i];
          if (i < nt && ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) acc[i] += d * xc[ih * g.W + iw];
        }
      }
      // Block reduction of the nt tap sums at once (3 barriers, whatever nt): 8 partial sums
      // per tap, each over 32 threads strided by 8 (conflict-free), then their sum; a fixed
      // order, so reruns are bit-identical. nt is the same in every thread of the block.
      __syncthreads();  // the previous chunk's reads of s_part and s_group are done
      for (int i = 0; i < kWeightTaps; ++i) s_part[i][threadIdx.x] = acc[i];
      __syncthreads();
      if (threadIdx.x < unsigned(nt * kGroups)) {
        const int tap = threadIdx.x / kGroups, grp = threadIdx.x % kGroups;
        T sum = T(0);
        for (int j = 0; j < 32; ++j) sum += s_part[tap][grp + kGroups * j];
        s_group[tap][grp] = sum;
      }
      __syncthreads();
      if (threadIdx.x < unsigned(nt)) {
        T sum = T(0);
        for (int j = 0; j < kGroups; ++j) sum += s_group[threadIdx.x][j];
        out[item * KK + t0 + threadIdx.x] = sum;
      }
    }
  }
}

// dw[k, tap] = Σ_s ws[k, s, tap], in slice order.
template <class T>
__global__ void dw_sum_slices_kernel(const T* __restrict__ ws, T* __restrict__ dw, int64_t K,
                                     int64_t slices, int KK) {
  for (int64_t i = global_thread(); i < K * KK; i += grid_stride()) {
    const int64_t k = i / KK, tap = i - k * KK;
    T s = T(0);
    for (int64_t j = 0; j < slices; ++j) s += ws[(k * slices + j) * KK + tap];
    dw[i] = s;
  }
}

int64_t tiles_of(int64_t n, int64_t tile) {
  return (n + tile - 1) / tile;
}

}  // namespace

// ---------------------------------------------------------------- launchers
template <class T>
void depthwise_forward(const ConvGeom& cg, const T* x, const T* w, const T* b, T* y,
                       cudaStream_t s) {
  if (cg.N * cg.K * cg.OH * cg.OW == 0) return;
  const DwGeom g = dw_geom(cg);
  const int64_t in_th = (kTileH - 1) * cg.sh + (cg.KH - 1) * cg.dh + 1;
  const int64_t in_tw = (kTileW - 1) * cg.sw + (cg.KW - 1) * cg.dw + 1;
  const int64_t bytes = (in_th * in_tw + cg.KH * cg.KW) * int64_t(sizeof(T));
  if (bytes <= kMaxTileBytes) {
    const int64_t tw = tiles_of(cg.OW, kTileW), th = tiles_of(cg.OH, kTileH);
    const int64_t n_tiles = cg.N * cg.K * th * tw;
    const unsigned grid = static_cast<unsigned>(std::min<int64_t>(n_tiles, max_grid_blocks()));
    XGD_LAUNCH(dw_fwd_tiled_kernel<T>, grid, dim3(kTileW, kThreadsY), bytes, s)
    (x, w, b, y, g, int(tw), int(th), n_tiles, int(in_th), int(in_tw));
  } else {
    XGD_LAUNCH(dw_fwd_direct_kernel<T>, grid_1d(cg.N * cg.K * cg.OH * cg.OW), kBlock, 0, s)
    (x, w, b, y, g);
  }
  XGD_CHECK_LAUNCH();
}

template <class T>
void depthwise_backward_data(const ConvGeom& cg, const T* dy, const T* w, T* dx, cudaStream_t s) {
  if (cg.N * cg.C * cg.H * cg.W == 0) return;
  const DwGeom g = dw_geom(cg);
  // floor(span / s) + 2 rows cover floor((a + span) / s) - floor(a / s) + 1 for any a.
  const int64_t dy_th = ((kTileH - 1) + (cg.KH - 1) * cg.dh) / cg.sh + 2;
  const int64_t dy_tw = ((kTileW - 1) + (cg.KW - 1) * cg.dw) / cg.sw + 2;
  const int64_t bytes = (dy_th * dy_tw + cg.KH * cg.KW) * int64_t(sizeof(T));
  if (bytes <= kMaxTileBytes) {
    const int64_t tw = tiles_of(cg.W, kTileW), th = tiles_of(cg.H, kTileH);
    const int64_t n_tiles = cg.N * cg.C * th * tw;
    const unsigned grid = static_cast<unsigned>(std::min<int64_t>(n_tiles, max_grid_blocks()));
    XGD_LAUNCH(dw_bwd_data_tiled_kernel<T>, grid, dim3(kTileW, kThreadsY), bytes, s)
    (dy, w, dx, g, int(tw), int(th), n_tiles, int(dy_th), int(dy_tw));
  } else {
    XGD_LAUNCH(dw_bwd_data_direct_kernel<T>, grid_1d(cg.N * cg.C * cg.H * cg.W), kBlock, 0, s)
    (dy, w, dx, g);
  }
  XGD_CHECK_LAUNCH();
}

size_t depthwise_backward_weight_workspace(const ConvGeom& g) {
  const int64_t slices = weight_slices(g);
  return slices > 1 ? static_cast<size_t>(g.K * slices * g.KH * g.KW) : 0;
}

template <class T>
void depthwise_backward_weight(const ConvGeom& cg, const T* x, const T* dy, T* dw, T* workspace,
                               cudaStream_t s) {
  const int64_t KK = cg.KH * cg.KW, len = cg.N * cg.OH * cg.OW;
  if (cg.K * KK == 0) return;
  if (len == 0) {  // sums over nothing
    XGD_CUDA_CHECK(cudaMemsetAsync(dw, 0, cg.K * KK * sizeof(T), s));
    return;
  }
  const DwGeom g = dw_geom(cg);
  const int64_t slices = weight_slices(cg), slice_len = (len + slices - 1) / slices;
  XGD_CHECK(slices == 1 || workspace != nullptr, "depthwise_backward_weight: a workspace of ",
            cg.K * slices * KK, " elements is needed");
  T* out = slices > 1 ? workspace : dw;
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>(cg.K * slices, max_grid_blocks()));
  XGD_LAUNCH(dw_bwd_weight_kernel<T>, grid, kWeightBlock, 0, s)(x, dy, out, g, slices, slice_len);
  XGD_CHECK_LAUNCH();
  if (slices > 1) {
    XGD_LAUNCH(dw_sum_slices_kernel<T>, grid_1d(cg.K * KK), kBlock, 0, s)
    (workspace, dw, cg.K, slices, int(KK));
    XGD_CHECK_LAUNCH();
  }
}

namespace {
template <class T>
DepthwiseFns<T> make_fns() {
  return {&depthwise_forward<T>, &depthwise_backward_data<T>, &depthwise_backward_weight<T>};
}
}  // namespace

const DepthwiseTable& depthwise_table() {
  static const DepthwiseTable table{make_fns<float>(), make_fns<double>(),
                                    &depthwise_backward_weight_workspace};
  return table;
}

#define XGD_INSTANTIATE(T)                                                                         \
  template void depthwise_forward<T>(const ConvGeom&, const T*, const T*, const T*, T*,            \
                                     cudaStream_t);                                                \
  template void depthwise_backward_data<T>(const ConvGeom&, const T*, const T*, T*, cudaStream_t); \
  template void depthwise_backward_weight<T>(const ConvGeom&, const T*, const T*, T*, T*,          \
                                             cudaStream_t);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
