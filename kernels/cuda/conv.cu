// CUDA kernels of dense conv2d: forward, backward-data and backward-weight as implicit GEMMs
// (no im2col buffer), backward-bias as a per-channel block reduction. Built by nvcc into
// xgd_kernels_cuda and by the host compiler into xgd_kernels_emu (kernels/emu).
//
// One tiled GEMM core (igemm_kernel) serves the three products; an Op struct says what the
// operands are and gathers them from the tensors:
//   forward        Y[k, p]  = Σ_j W[k, j] · X̂[j, p]     k < K/G, p = (n, oh, ow), j = (c, kh, kw)
//   backward-data  DX[c, p] = Σ_j W[j, c] · DŶ[j, p]    c < C/G, p = (n, ih, iw), j = (k, kh, kw)
//   backward-weight DW[k, j] = Σ_q DY[k, q] · X̂[q, j]   q = (n, oh, ow), split over blocks
// X̂ reads x through a kernel tap (zero in the padding); DŶ reads, for input pixel (ih, iw) and
// tap (kh, kw), the output pixel whose tap lands there (ih + ph - kh·dh must be a multiple of
// the stride), so the data gradient is a gather: every dx element is written once, no atomics.
//
// Tiling: a 256-thread block computes a 64×64 output tile, each thread a 4×4 register
// micro-tile (rows ty + 16i, columns tx + 16j: conflict-free shared reads, coalesced stores),
// stepping the reduction 16 at a time through double-buffered shared memory (one barrier per
// step: the next step's global loads are in flight while this step's FMAs run). Loads are
// predicated (zero outside the matrix), so any size works. Blocks walk the tiles grid-stride.
// Indices are 32-bit (the launchers refuse tensors of 2^31 elements or more); divisions by
// per-launch constants are multiply-high + shift (FastDiv).
#include "kernels/cuda/device.h"
// (device.h first)
#include <climits>

#include "kernels/common/conv.h"
#include "kernels/cuda/block_reduce.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/launch.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16;  // output tile rows × cols, reduction step
constexpr int kThreads = 256;                // 16 × 16 threads, 4×4 outputs each
constexpr int kPad = 1;  // shared rows of 65: column-wise stores hit distinct banks

// Backward-weight split of the N·OH·OW reduction: aim at ~4 blocks per SM of an H100 (132 SMs),
// each split at least kMinSplitSteps steps of kBK, at most kMaxSplits partial sums.
constexpr int kTargetBlocks = 528, kMinSplitSteps = 8, kMaxSplits = 64;

XGD_DEVICE unsigned umulhi(unsigned a, unsigned b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<unsigned>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

// n / d for 0 <= n < 2^31 and a divisor 1 <= d <= 2^31 fixed at launch (Granlund–Montgomery,
// as PyTorch's IntDivider): q = (umulhi(n, m) + n) >> l, with l = ceil(log2 d).
struct FastDiv {
  unsigned d = 1, m = 1, l = 0;
  FastDiv() = default;
  explicit FastDiv(int64_t div) : d(static_cast<unsigned>(div)) {
    while (l < 31 && (1u << l) < d) ++l;
    m = static_cast<unsigned>(((uint64_t(1) << 32) * ((uint64_t(1) << l) - d)) / d + 1);
  }
  XGD_DEVICE int div(int n) const {
    return static_cast<int>((umulhi(static_cast<unsigned>(n), m) + static_cast<unsigned>(n)) >> l);
  }
};

// The geometry as 32-bit fields plus the divisors the kernels need.
struct Geom32 {
  int N, C, H, W, K, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw, G, Cg, Kg;
  int KK, HW, OHW;
  FastDiv div_KK, div_KW, div_OHW, div_OW, div_HW, div_W, div_sh, div_sw;
};

Geom32 make_geom32(const ConvGeom& g, const char* op) {
  const int64_t big[] = {g.N * g.C * g.H * g.W, g.N * g.K * g.OH * g.OW, g.K * g.Cg() * g.KH * g.KW,
                         g.H + 2 * g.ph + g.dh * g.KH, g.W + 2 * g.pw + g.dw * g.KW};
  for (int64_t v : big)
    XGD_CHECK(v < INT_MAX, "conv2d CUDA ", op,
              ": a tensor of this geometry has 2^31 elements or more, beyond the kernels' 32-bit "
              "indexing (N=",
              g.N, " C=", g.C, " H=", g.H, " W=", g.W, " K=", g.K, ")");
  Geom32 s;
  s.N = int(g.N), s.C = int(g.C), s.H = int(g.H), s.W = int(g.W), s.K = int(g.K);
  s.KH = int(g.KH), s.KW = int(g.KW), s.OH = int(g.OH), s.OW = int(g.OW);
  s.sh = int(g.sh), s.sw = int(g.sw), s.ph = int(g.ph), s.pw = int(g.pw);
  s.dh = int(g.dh), s.dw = int(g.dw), s.G = int(g.groups), s.Cg = int(g.Cg()), s.Kg = int(g.Kg());
  s.KK = s.KH * s.KW, s.HW = s.H * s.W, s.OHW = s.OH * s.OW;
  s.div_KK = FastDiv(s.KK), s.div_KW = FastDiv(s.KW), s.div_OHW = FastDiv(s.OHW);
  s.div_OW = FastDiv(s.OW), s.div_HW = FastDiv(s.HW), s.div_W = FastDiv(s.W);
  s.div_sh = FastDiv(s.sh), s.div_sw = FastDiv(s.sw);
  return s;
}

inline int ceil_div(int64_t a, int64_t b) {
  return static_cast<int>((a + b - 1) / b);
}

template <class T>
using Smem = T[kBK][kBM + kPad];

// Shared-memory stores of a thread's 4 loaded values. Two load layouts, picked per operand so
// that a warp's global reads are consecutive in memory:
//   ColsFast: the thread owns tile column tid % 64 and reduction rows 4·(tid / 64) + i
//             (operands contiguous along the tile's columns: pixels);
//   RowsFast: the thread owns reduction row tid % 16 and tile columns 4·(tid / 16) + i
//             (operands contiguous along the reduction: weights along (c, kh, kw), dy along q).
template <class T>
XGD_DEVICE void stash_cols_fast(int tid, const T (&r)[4], Smem<T>& s) {
  for (int i = 0; i < 4; ++i) s[4 * (tid / 64) + i][tid % 64] = r[i];
}
template <class T>
XGD_DEVICE void stash_rows_fast(int tid, const T (&r)[4], Smem<T>& s) {
  for (int i = 0; i < 4; ++i) s[tid % 16][4 * (tid / 16) + i] = r[i];
}

// The GEMM core. Op provides: tiles; Tile begin(tile, tid) (per-thread state of one output
// tile, with .steps, uniform over the block); load(t, step, ra, rb) (global -> registers);
// stash(tid, ra, rb, As, Bs); store(t, tx, ty, acc).
template <class T, class Op>
__global__ void __launch_bounds__(kThreads) igemm_kernel(Op op) {
  __shared__ Smem<T> As[2];
  __shared__ Smem<T> Bs[2];
  const int tid = static_cast<int>(threadIdx.x), tx = tid % 16, ty = tid / 16;
  for (int tile = static_cast<int>(blockIdx.x); tile < op.tiles;
       tile += static_cast<int>(gridDim.x)) {
    const typename Op::Tile t = op.begin(tile, tid);
    T acc[4][4];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) acc[i][j] = T(0);
    T ra[4], rb[4];
    if (t.steps > 0) {
      op.load(t, 0, ra, rb);
      op.stash(tid, ra, rb, As[0], Bs[0]);
      __syncthreads();
      for (int step = 0; step < t.steps; ++step) {
        const int cur = step & 1;
        const bool more = step + 1 < t.steps;
        if (more) op.load(t, step + 1, ra, rb);
        for (int k = 0; k < kBK; ++k) {
          T a[4], b[4];
          for (int i = 0; i < 4; ++i) a[i] = As[cur][k][ty + 16 * i];
          for (int j = 0; j < 4; ++j) b[j] = Bs[cur][k][tx + 16 * j];
          for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
        }
        // The other buffer was last read in step - 1, before the previous barrier.
        if (more) op.stash(tid, ra, rb, As[cur ^ 1], Bs[cur ^ 1]);
        __syncthreads();
      }
    }
    op.store(t, tx, ty, acc);
  }
}

// ---------------------------------------------------------------- forward
// Y[k, p] = Σ_j W[k, j] X̂[j, p] per group; j = (c, kh, kw) is w's own layout.
template <class T>
struct FwdOp {
  const T* __restrict__ x;
  const T* __restrict__ w;
  const T* __restrict__ b;
  T* __restrict__ y;
  Geom32 g;
  int J, P, mtiles, ntiles, tiles;

  struct Tile {
    int steps, grp, m0, p0;
    int bn, ih0, iw0;  // the thread's B column: image, first input row/col (bn < 0: past P)
  };
  XGD_DEVICE Tile begin(int tile, int tid) const {
    Tile t;
    t.steps = (J + kBK - 1) / kBK;
    const int nt = tile % ntiles, rest = tile / ntiles;
    t.m0 = (rest % mtiles) * kBM, t.grp = rest / mtiles, t.p0 = nt * kBN;
    const int p = t.p0 + tid % 64;
    t.bn = -1, t.ih0 = 0, t.iw0 = 0;
    if (p < P) {
      const int n = g.div_OHW.div(p), pix = p - n * g.OHW;
      const int oh = g.div_OW.div(pix), ow = pix - oh * g.OW;
      t.bn = n, t.ih0 = oh * g.sh - g.ph, t.iw0 = ow * g.sw - g.pw;
    }
    return t;
  }
  XGD_DEVICE void load(const Tile& t, int step, T (&ra)[4], T (&rb)[4]) const {
    const int tid = static_cast<int>(threadIdx.x);
    {  // A: w rows m0 + 4·(tid/16) + i, column j (RowsFast: consecutive j in a half-warp)
      const int j = step * kBK + tid % 16;
      for (int i = 0; i < 4; ++i) {
        const int m = t.m0 + 4 * (tid / 16) + i;
        ra[i] = (m < g.Kg && j < J) ? w[(t.grp * g.Kg + m) * J + j] : T(0);
      }
    }
    {  // B: X̂ rows j0..j0+3 (decoded once, then stepped), the thread's pixel column
      int j = step * kBK + 4 * (tid / 64);
      int c = g.div_KK.div(j), tap = j - c * g.KK;
      int kh = g.div_KW.div(tap), kw = tap - kh * g.KW;
      const T* xn = x + (max(t.bn, 0) * g.C + t.grp * g.Cg) * g.HW;  // bn < 0: never read
      for (int i = 0; i < 4; ++i) {
        T v = T(0);
        if (t.bn >= 0 && j < J) {
          const int ih = t.ih0 + kh * g.dh, iw = t.iw0 + kw * g.dw;
          if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) v = xn[c * g.HW + ih * g.W + iw];
        }
        rb[i] = v;
        ++j;
        if (++kw == g.KW) {
          kw = 0;
          if (++kh == g.KH) kh = 0, ++c;
        }
      }
    }
  }
  XGD_DEVICE void stash(int tid, const T (&ra)[4], const T (&rb)[4], Smem<T>& As,
                        Smem<T>& Bs) const {
    stash_rows_fast(tid, ra, As);
    stash_cols_fast(tid, rb, Bs);
  }
  XGD_DEVICE void store(const Tile& t, int tx, int ty, const T (&acc)[4][4]) const {
    for (int j = 0; j < 4; ++j) {
      const int p = t.p0 + tx + 16 * j;
      if (p >= P) continue;
      const int n = g.div_OHW.div(p), pix = p - n * g.OHW;
      for (int i = 0; i < 4; ++i) {
        const int m = t.m0 + ty + 16 * i;
        if (m >= g.Kg) continue;
        const int k = t.grp * g.Kg + m;
        y[(n * g.K + k) * g.OHW + pix] = b ? acc[i][j] + b[k] : acc[i][j];
      }
    }
  }
};

// ---------------------------------------------------------------- backward data
// DX[c, p] = Σ_j W[j, c] DŶ[j, p] per group, p = (n, ih, iw), j = (k, kh, kw).
template <class T>
struct BwdDataOp {
  const T* __restrict__ dy;
  const T* __restrict__ w;
  T* __restrict__ dx;
  Geom32 g;
  int J, P, mtiles, ntiles, tiles;

  struct Tile {
    int steps, grp, m0, p0;
    int bn, th0, tw0;  // the thread's B column: image, ih + ph, iw + pw (bn < 0: past P)
  };
  XGD_DEVICE Tile begin(int tile, int tid) const {
    Tile t;
    t.steps = (J + kBK - 1) / kBK;
    const int nt = tile % ntiles, rest = tile / ntiles;
    t.m0 = (rest % mtiles) * kBM, t.grp = rest / mtiles, t.p0 = nt * kBN;
    const int p = t.p0 + tid % 64;
    t.bn = -1, t.th0 = 0, t.tw0 = 0;
    if (p < P) {
      const int n = g.div_HW.div(p), pix = p - n * g.HW;
      const int ih = g.div_W.div(pix), iw = pix - ih * g.W;
      t.bn = n, t.th0 = ih + g.ph, t.tw0 = iw + g.pw;
    }
    return t;
  }
  XGD_DEVICE void load(const Tile& t, int step, T (&ra)[4], T (&rb)[4]) const {
    const int tid = static_cast<int>(threadIdx.x);
    {  // A: W[j, c] = w[grp·Kg + k, c, tap], rows c = m0 + 4·(tid/16) + i (RowsFast)
      const int j = step * kBK + tid % 16;
      const int k = g.div_KK.div(j), tap = j - k * g.KK;
      for (int i = 0; i < 4; ++i) {
        const int c = t.m0 + 4 * (tid / 16) + i;
        ra[i] = (c < g.Cg && j < J) ? w[((t.grp * g.Kg + k) * g.Cg + c) * g.KK + tap] : T(0);
      }
    }
    {  // B: the output pixel whose tap (kh, kw) reads (ih, iw), if any
      int j = step * kBK + 4 * (tid / 64);
      int k = g.div_KK.div(j), tap = j - k * g.KK;
      int kh = g.div_KW.div(tap), kw = tap - kh * g.KW;
      const T* dyn = dy + (max(t.bn, 0) * g.K + t.grp * g.Kg) * g.OHW;  // bn < 0: never read
      for (int i = 0; i < 4; ++i) {
        T v = T(0);
        const int th = t.th0 - kh * g.dh, tw = t.tw0 - kw * g.dw;
        if (t.bn >= 0 && j < J && th >= 0 && tw >= 0) {
          const int oh = g.div_sh.div(th), ow = g.div_sw.div(tw);
          if (oh * g.sh == th && ow * g.sw == tw && oh < g.OH && ow < g.OW)
            v = dyn[k * g.OHW + oh * g.OW + ow];
        }
        rb[i] = v;
        ++j;
        if (++kw == g.KW) {
          kw = 0;
          if (++kh == g.KH) kh = 0, ++k;
        }
      }
    }
  }
  XGD_DEVICE void stash(int tid, const T (&ra)[4], const T (&rb)[4], Smem<T>& As,
                        Smem<T>& Bs) const {
    stash_rows_fast(tid, ra, As);
    stash_cols_fast(tid, rb, Bs);
  }
  XGD_DEVICE void store(const Tile& t, int tx, int ty, const T (&acc)[4][4]) const {
    for (int j = 0; j < 4; ++j) {
      const int p = t.p0 + tx + 16 * j;
      if (p >= P) continue;
      const int n = g.div_HW.div(p), pix = p - n * g.HW;
      for (int i = 0; i < 4; ++i) {
        const int c = t.m0 + ty + 16 * i;
        if (c < g.Cg) dx[(n * g.C + t.grp * g.Cg + c) * g.HW + pix] = acc[i][j];
      }
    }
  }
};

// ---------------------------------------------------------------- backward weight
// DW[k, j] = Σ_q DY[k, q] X̂[q, j] per group, j = (c, kh, kw) (dw's layout), q = (n, oh, ow);
// the q range is cut into `splits` chunks, each tile of each chunk written to its own slice of
// `out` (the workspace when splits > 1, else dw itself).
template <class T>
struct BwdWeightOp {
  const T* __restrict__ x;
  const T* __restrict__ dy;
  T* __restrict__ out;
  Geom32 g;
  int J, Q, chunk, splits, mtiles, ntiles, tiles;

  struct Tile {
    int steps, grp, m0, j0, q0, q1, split;
    // The thread's 4 B columns j0 + 4·(tid/16) + i: channel offset c·HW, kh·dh, kw·dw
    // (coff < 0: past J).
    int coff[4], khd[4], kwd[4];
  };
  XGD_DEVICE Tile begin(int tile, int tid) const {
    Tile t;
    t.split = tile % splits;
    int rest = tile / splits;
    const int nt = rest % ntiles;
    rest /= ntiles;
    t.m0 = (rest % mtiles) * kBM, t.grp = rest / mtiles, t.j0 = nt * kBN;
    t.q0 = t.split * chunk;
    t.q1 = min(Q, t.q0 + chunk);
    t.steps = t.q1 > t.q0 ? (t.q1 - t.q0 + kBK - 1) / kBK : 0;
    for (int i = 0; i < 4; ++i) {
      const int j = t.j0 + 4 * (tid / 16) + i;
      t.coff[i] = -1, t.khd[i] = 0, t.kwd[i] = 0;
      if (j < J) {
        const int c = g.div_KK.div(j), tap = j - c * g.KK;
        const int kh = g.div_KW.div(tap), kw = tap - kh * g.KW;
        t.coff[i] = c * g.HW, t.khd[i] = kh * g.dh, t.kwd[i] = kw * g.dw;
      }
    }
    return t;
  }
  XGD_DEVICE void load(const Tile& t, int step, T (&ra)[4], T (&rb)[4]) const {
    const int tid = static_cast<int>(threadIdx.x);
    const int q = t.q0 + step * kBK + tid % 16;  // RowsFast for both: q is dy's fast index
    int n = 0, pix = 0, ih0 = 0, iw0 = 0;
    const bool live = q < t.q1;
    if (live) {
      n = g.div_OHW.div(q), pix = q - n * g.OHW;
      const int oh = g.div_OW.div(pix), ow = pix - oh * g.OW;
      ih0 = oh * g.sh - g.ph, iw0 = ow * g.sw - g.pw;
    }
    const T* dyq = dy + (n * g.K + t.grp * g.Kg) * g.OHW + pix;
    const T* xn = x + (n * g.C + t.grp * g.Cg) * g.HW;
    for (int i = 0; i < 4; ++i) {
      const int m = t.m0 + 4 * (tid / 16) + i;
      ra[i] = (live && m < g.Kg) ? dyq[m * g.OHW] : T(0);
      T v = T(0);
      if (live && t.coff[i] >= 0) {
        const int ih = ih0 + t.khd[i], iw = iw0 + t.kwd[i];
        if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) v = xn[t.coff[i] + ih * g.W + iw];
      }
      rb[i] = v;
    }
  }
  XGD_DEVICE void stash(int tid, const T (&ra)[4], const T (&rb)[4], Smem<T>& As,
                        Smem<T>& Bs) const {
    stash_rows_fast(tid, ra, As);
    stash_rows_fast(tid, rb, Bs);
  }
  XGD_DEVICE void store(const Tile& t, int tx, int ty, const T (&acc)[4][4]) const {
    T* o = out + static_cast<int64_t>(t.split) * g.K * J;
    for (int i = 0; i < 4; ++i) {
      const int m = t.m0 + ty + 16 * i;
      if (m >= g.Kg) continue;
      for (int j = 0; j < 4; ++j) {
        const int jj = t.j0 + tx + 16 * j;
        if (jj < J) o[(t.grp * g.Kg + m) * J + jj] = acc[i][j];
      }
    }
  }
};

// dw[i] = Σ_s parts[s][i], s in order: the second, deterministic pass of the split reduction.
template <class T>
__global__ void sum_splits_kernel(const T* __restrict__ parts, T* __restrict__ dw, int64_t n,
                                  int splits) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) {
    T s = parts[i];
    for (int k = 1; k < splits; ++k) s += parts[k * n + i];
    dw[i] = s;
  }
}

// ---------------------------------------------------------------- backward bias
// One block per channel (grid-stride over channels), double accumulation, fixed-order tree.
template <class T>
__global__ void bias_grad_kernel(const T* __restrict__ dy, T* __restrict__ db, int N, int K,
                                 int OHW) {
  for (int k = static_cast<int>(blockIdx.x); k < K; k += static_cast<int>(gridDim.x)) {
    double s = 0;
    for (int n = 0; n < N; ++n) {
      const T* row = dy + (static_cast<int64_t>(n) * K + k) * OHW;
      for (int i = static_cast<int>(threadIdx.x); i < OHW; i += static_cast<int>(blockDim.x))
        s += static_cast<double>(row[i]);
    }
    s = block_sum(s);
    if (threadIdx.x == 0) db[k] = static_cast<T>(s);
  }
}

template <class Op>
unsigned tile_grid(const Op& op) {
  return static_cast<unsigned>(std::clamp<int64_t>(op.tiles, 1, max_grid_blocks()));
}

struct Split {
  int splits, chunk;
};
Split weight_split(const ConvGeom& g) {
  const int64_t J = g.Cg() * g.KH * g.KW, Q = g.N * g.OH * g.OW;
  const int64_t tiles = g.groups * ceil_div(g.Kg(), kBM) * ceil_div(J, kBN);
  const int64_t by_len = std::max<int64_t>(1, Q / (kMinSplitSteps * kBK));
  const int64_t want = (kTargetBlocks + tiles - 1) / tiles;
  const int64_t s = std::clamp<int64_t>(want, 1, std::min<int64_t>(by_len, kMaxSplits));
  const int64_t chunk = ceil_div(ceil_div(Q, s), kBK) * int64_t(kBK);
  return {ceil_div(Q, chunk), static_cast<int>(chunk)};
}

}  // namespace

template <class T>
void conv2d_forward(const ConvGeom& geom, const T* x, const T* w, const T* b, T* y,
                    cudaStream_t stream) {
  if (geom.N * geom.K * geom.OH * geom.OW == 0) return;
  FwdOp<T> op;
  op.x = x, op.w = w, op.b = b, op.y = y, op.g = make_geom32(geom, "forward");
  op.J = op.g.Cg * op.g.KK, op.P = op.g.N * op.g.OHW;
  op.mtiles = ceil_div(op.g.Kg, kBM), op.ntiles = ceil_div(op.P, kBN);
  XGD_CHECK(int64_t(op.mtiles) * op.ntiles * op.g.G < INT_MAX,
            "conv2d CUDA forward: too many tiles");
  op.tiles = op.mtiles * op.ntiles * op.g.G;
  XGD_LAUNCH((igemm_kernel<T, FwdOp<T>>), tile_grid(op), kThreads, 0, stream)(op);
  XGD_CHECK_LAUNCH();
}

template <class T>
void conv2d_backward_data(const ConvGeom& geom, const T* dy, const T* w, T* dx,
                          cudaStream_t stream) {
  if (geom.N * geom.C * geom.H * geom.W == 0) return;
  BwdDataOp<T> op;
  op.dy = dy, op.w = w, op.dx = dx, op.g = make_geom32(geom, "backward_data");
  op.J = op.g.Kg * op.g.KK, op.P = op.g.N * op.g.HW;
  op.mtiles = ceil_div(op.g.Cg, kBM), op.ntiles = ceil_div(op.P, kBN);
  XGD_CHECK(int64_t(op.mtiles) * op.ntiles * op.g.G < INT_MAX,
            "conv2d CUDA backward_data: too many tiles");
  op.tiles = op.mtiles * op.ntiles * op.g.G;
  XGD_LAUNCH((igemm_kernel<T, BwdDataOp<T>>), tile_grid(op), kThreads, 0, stream)(op);
  XGD_CHECK_LAUNCH();
}

template <class T>
size_t conv2d_backward_weight_workspace_bytes(const ConvGeom& g) {
  if (g.N * g.OH * g.OW == 0) return 0;
  const Split s = weight_split(g);
  return s.splits > 1 ? size_t(s.splits) * size_t(g.K * g.Cg() * g.KH * g.KW) * sizeof(T) : 0;
}

template <class T>
void conv2d_backward_weight(const ConvGeom& geom, const T* x, const T* dy, T* dw, void* workspace,
                            size_t workspace_bytes, cudaStream_t stream) {
  const int64_t wn = geom.K * geom.Cg() * geom.KH * geom.KW;
  if (wn == 0) return;
  if (geom.N * geom.OH * geom.OW == 0) {  // sums over nothing
    XGD_CUDA_CHECK(cudaMemsetAsync(dw, 0, wn * sizeof(T), stream));
    return;
  }
  const size_t need = conv2d_backward_weight_workspace_bytes<T>(geom);
  XGD_CHECK(workspace_bytes >= need && (need == 0 || workspace != nullptr),
            "conv2d CUDA backward_weight: needs ", need, " bytes of workspace, got ",
            workspace_bytes);
  const Split s = weight_split(geom);
  BwdWeightOp<T> op;
  op.x = x, op.dy = dy, op.g = make_geom32(geom, "backward_weight");
  op.out = s.splits > 1 ? static_cast<T*>(workspace) : dw;
  op.J = op.g.Cg * op.g.KK, op.Q = op.g.N * op.g.OHW, op.chunk = s.chunk, op.splits = s.splits;
  op.mtiles = ceil_div(op.g.Kg, kBM), op.ntiles = ceil_div(op.J, kBN);
  XGD_CHECK(int64_t(op.mtiles) * op.ntiles * op.g.G * s.splits < INT_MAX,
            "conv2d CUDA backward_weight: too many tiles");
  op.tiles = op.mtiles * op.ntiles * op.g.G * s.splits;
  XGD_LAUNCH((igemm_kernel<T, BwdWeightOp<T>>), tile_grid(op), kThreads, 0, stream)(op);
  XGD_CHECK_LAUNCH();
  if (s.splits > 1) {
    XGD_LAUNCH(sum_splits_kernel<T>, grid_1d(wn), kBlock, 0, stream)
    (static_cast<const T*>(workspace), dw, wn, s.splits);
    XGD_CHECK_LAUNCH();
  }
}

template <class T>
void conv2d_backward_bias(const ConvGeom& geom, const T* dy, T* db, cudaStream_t stream) {
  if (geom.K == 0) return;
  const int64_t ohw = geom.OH * geom.OW;
  XGD_CHECK(geom.N * geom.K * ohw < INT_MAX,
            "conv2d CUDA backward_bias: dy has 2^31 elements or more");
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(geom.K, max_grid_blocks()));
  XGD_LAUNCH(bias_grad_kernel<T>, blocks, kBlock, 0, stream)
  (dy, db, int(geom.N), int(geom.K), int(ohw));
  XGD_CHECK_LAUNCH();
}

namespace {
template <class T>
ConvFns<T> make_fns() {
  return {&conv2d_forward<T>, &conv2d_backward_data<T>, &conv2d_backward_weight_workspace_bytes<T>,
          &conv2d_backward_weight<T>, &conv2d_backward_bias<T>};
}
}  // namespace

const ConvTable& conv_table() {
  static const ConvTable table{make_fns<float>(), make_fns<double>()};
  return table;
}

#define XGD_INSTANTIATE(T)                                                                        \
  template void conv2d_forward<T>(const ConvGeom&, const T*, const T*, const T*, T*,              \
                                  cudaStream_t);                                                  \
  template void conv2d_backward_data<T>(const ConvGeom&, const T*, const T*, T*, cudaStream_t);   \
  template size_t conv2d_backward_weight_workspace_bytes<T>(const ConvGeom&);                     \
  template void conv2d_backward_weight<T>(const ConvGeom&, const T*, const T*, T*, void*, size_t, \
                                          cudaStream_t);                                          \
  template void conv2d_backward_bias<T>(const ConvGeom&, const T*, T*, cudaStream_t);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
