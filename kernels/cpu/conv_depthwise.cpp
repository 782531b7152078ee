// Direct depthwise conv2d (groups == C, K = C·m, output channel k reads input channel k / m):
// MobileNetV2's 3×3 blocks and the DeepLabV3+ separable ASPP (3×3, dilation 12/24/36).
// im2col would copy KH·KW times the input for a 1-row GEMM per channel; the direct loops
// read each input row in place and skip the taps that land entirely in padding (most of them
// at dilation 24/36 on a 32×32 map). Gradients overwrite (=) dx and dw.
//   forward: 3×3 rows fused (9 taps per output vector) where all taps are inside the row,
//            per-tap row updates at the borders and for other kernel sizes;
//   d input: stride 1 is the forward kernel on dy with the kernel flipped and padding
//            d·(k - 1) - p (gather, no write conflicts); stride > 1 scatters per tap;
//   d weight: per-tap row accumulators summed once at the end (no per-row reductions).
#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/common/conv.h"
#include "kernels/cpu/conv.h"

namespace xgd::kernels::cpu {

namespace {

// The valid output ranges of every tap, computed once per call (int divisions kept out of
// the row loops): rows [h_lo[kh], h_hi[kh]) and columns [w_lo[kw], w_hi[kw]), where tap
// (kh, kw) reads input column ow·sw + w_off[kw].
struct Taps {
  std::vector<int64_t> h_lo, h_hi, w_lo, w_hi, w_off;
  explicit Taps(const ConvGeom& g) : h_lo(g.KH), h_hi(g.KH), w_lo(g.KW), w_hi(g.KW), w_off(g.KW) {
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const TapRange r = conv_tap_range(g.H, g.OH, kh, g.sh, g.ph, g.dh);
      h_lo[kh] = r.lo, h_hi[kh] = r.hi;
    }
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      const TapRange r = conv_tap_range(g.W, g.OW, kw, g.sw, g.pw, g.dw);
      w_lo[kw] = r.lo, w_hi[kw] = r.hi, w_off[kw] = kw * g.dw - g.pw;
    }
  }
};

// 64-byte GCC vectors (16 floats / 8 doubles): one zmm in the AVX-512 clone, split into
// narrower registers by the compiler in the others. Used where the compiler would not keep
// accumulators in registers on its own (9 taps per output vector, 9 weight sums per column
// strip). Unaligned access through an element-aligned, may_alias twin type (a 64-byte memcpy
// stays a libc call in the target clones). -Wpsabi: these never cross a call boundary.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
template <class T>
struct VecOf {
  typedef T type __attribute__((vector_size(64)));
  typedef T unaligned __attribute__((vector_size(64), aligned(sizeof(T)), may_alias));
};
template <class T>
using Vec = typename VecOf<T>::type;
template <class T>
constexpr int64_t kLanes = 64 / sizeof(T);
template <class T>
[[gnu::always_inline]] inline Vec<T> load(const T* p) {
  return *reinterpret_cast<const typename VecOf<T>::unaligned*>(p);
}
template <class T>
[[gnu::always_inline]] inline void store(T* p, Vec<T> v) {
  *reinterpret_cast<typename VecOf<T>::unaligned*>(p) = v;
}
template <class T>
[[gnu::always_inline]] inline T hsum(Vec<T> v) {
  T s = 0;
  for (int64_t i = 0; i < kLanes<T>; ++i) s += v[i];
  return s;
}

// Per-plane bodies, inlined into the per-ISA clones below so each gets that ISA's vectors.

// yr[ow] += wv · xr[ow·s + off] for ow in [lo, hi)
template <class T>
[[gnu::always_inline]] inline void axpy_row(T* __restrict yr, const T* __restrict xr, T wv,
                                            int64_t lo, int64_t hi, int64_t s, int64_t off) {
  if (s == 1) {
    for (int64_t ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[ow + off];
  } else {
    for (int64_t ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[ow * s + off];
  }
}

// y (OH, OW) = (accumulate ? y : bias) + Σ_taps w[kh, kw] · x (H, W) shifted.
// `zero_row` (W zeros) stands in for input rows above/below the image in the fused 3×3 path.
template <class T>
[[gnu::always_inline]] inline void fwd_plane(const ConvGeom& g, const Taps& t,
                                             const T* __restrict xc, const T* __restrict wk, T bias,
                                             bool accumulate, const T* zero_row, T* __restrict yp) {
  if (g.KH == 3 && g.KW == 3) {
    // Columns [a, b) have all three kw taps inside the row: 9 taps per output element.
    int64_t a = std::max({t.w_lo[0], t.w_lo[1], t.w_lo[2]});
    int64_t b = std::min({t.w_hi[0], t.w_hi[1], t.w_hi[2]});
    if (a >= b) a = b = 0;
    const int64_t o0 = t.w_off[0], o1 = t.w_off[1], o2 = t.w_off[2], s = g.sw;
    const T w00 = wk[0], w01 = wk[1], w02 = wk[2], w10 = wk[3], w11 = wk[4], w12 = wk[5],
            w20 = wk[6], w21 = wk[7], w22 = wk[8];
    constexpr int64_t L = kLanes<T>;
    const bool vec = s == 1 && b - a >= L;
    // Border columns: a few (dilation 1) are cheaper one by one than as 18 short tap loops.
    const bool scalar_border = a + (g.OW - b) <= 8;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      T* __restrict yr = yp + oh * g.OW;
      if (!accumulate) std::fill(yr, yr + g.OW, bias);  // row by row: stays in L1
      const T* rows[3];
      for (int64_t kh = 0; kh < 3; ++kh) {
        const int64_t ih = conv_in_index(oh, kh, g.sh, g.ph, g.dh);
        rows[kh] = ih >= 0 && ih < g.H ? xc + ih * g.W : nullptr;
      }
      if (vec) {
        // 9 taps per 16-float output vector held in a register. The last, overlapping vector
        // at b - L is computed first from the original y and stored last (same values).
        const T* __restrict r0 = rows[0] ? rows[0] : zero_row;
        const T* __restrict r1 = rows[1] ? rows[1] : zero_row;
        const T* __restrict r2 = rows[2] ? rows[2] : zero_row;
        auto taps9 = [&](int64_t ow) {
          return w00 * load(r0 + ow + o0) + w01 * load(r0 + ow + o1) + w02 * load(r0 + ow + o2) +
                 w10 * load(r1 + ow + o0) + w11 * load(r1 + ow + o1) + w12 * load(r1 + ow + o2) +
                 w20 * load(r2 + ow + o0) + w21 * load(r2 + ow + o1) + w22 * load(r2 + ow + o2);
        };
        const Vec<T> last = load(yr + b - L) + taps9(b - L);
        for (int64_t ow = a; ow + L <= b; ow += L) store(yr + ow, load(yr + ow) + taps9(ow));
        store(yr + b - L, last);
      } else if (a < b) {
        const T* __restrict r0 = rows[0] ? rows[0] : zero_row;
        const T* __restrict r1 = rows[1] ? rows[1] : zero_row;
        const T* __restrict r2 = rows[2] ? rows[2] : zero_row;
        if (s == 1) {
          for (int64_t ow = a; ow < b; ++ow)
            yr[ow] += w00 * r0[ow + o0] + w01 * r0[ow + o1] + w02 * r0[ow + o2] +
                      w10 * r1[ow + o0] + w11 * r1[ow + o1] + w12 * r1[ow + o2] +
                      w20 * r2[ow + o0] + w21 * r2[ow + o1] + w22 * r2[ow + o2];
        } else {
          for (int64_t ow = a; ow < b; ++ow) {
            const int64_t i = ow * s;
            yr[ow] += w00 * r0[i + o0] + w01 * r0[i + o1] + w02 * r0[i + o2] + w10 * r1[i + o0] +
                      w11 * r1[i + o1] + w12 * r1[i + o2] + w20 * r2[i + o0] + w21 * r2[i + o1] +
                      w22 * r2[i + o2];
          }
        }
      }
      if (scalar_border) {
        auto column = [&](int64_t ow) {
          T acc = 0;
          for (int64_t kh = 0; kh < 3; ++kh) {
            if (!rows[kh]) continue;
            for (int64_t kw = 0; kw < 3; ++kw) {
              const int64_t iw = ow * s + t.w_off[kw];
              if (iw >= 0 && iw < g.W) acc += wk[kh * 3 + kw] * rows[kh][iw];
            }
          }
          yr[ow] += acc;
        };
        for (int64_t ow = 0; ow < a; ++ow) column(ow);
        for (int64_t ow = b; ow < g.OW; ++ow) column(ow);
        continue;
      }
      // Border columns, tap by tap: [lo, hi) minus the fused [a, b).
      for (int64_t kh = 0; kh < 3; ++kh) {
        if (!rows[kh]) continue;
        for (int64_t kw = 0; kw < 3; ++kw) {
          const T wv = wk[kh * 3 + kw];
          const int64_t lo = t.w_lo[kw], hi = t.w_hi[kw];
          axpy_row(yr, rows[kh], wv, lo, std::min(hi, a), s, t.w_off[kw]);
          axpy_row(yr, rows[kh], wv, std::max(lo, b), hi, s, t.w_off[kw]);
        }
      }
    }
    return;
  }
  if (!accumulate) std::fill(yp, yp + g.OH * g.OW, bias);
  for (int64_t kh = 0; kh < g.KH; ++kh)
    for (int64_t oh = t.h_lo[kh]; oh < t.h_hi[kh]; ++oh) {
      const T* xr = xc + conv_in_index(oh, kh, g.sh, g.ph, g.dh) * g.W;
      for (int64_t kw = 0; kw < g.KW; ++kw)
        axpy_row(yp + oh * g.OW, xr, wk[kh * g.KW + kw], t.w_lo[kw], t.w_hi[kw], g.sw, t.w_off[kw]);
    }
}

// dx (H, W) += Σ_taps w[kh, kw] · dy (OH, OW) scattered back (any stride).
template <class T>
[[gnu::always_inline]] inline void bwd_data_scatter_plane(const ConvGeom& g, const Taps& t,
                                                          const T* __restrict dyp,
                                                          const T* __restrict wk,
                                                          T* __restrict dxc) {
  for (int64_t kh = 0; kh < g.KH; ++kh)
    for (int64_t oh = t.h_lo[kh]; oh < t.h_hi[kh]; ++oh) {
      T* __restrict dxr = dxc + conv_in_index(oh, kh, g.sh, g.ph, g.dh) * g.W;
      const T* __restrict dyr = dyp + oh * g.OW;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const T wv = wk[kh * g.KW + kw];
        const int64_t off = t.w_off[kw];
        if (g.sw == 1) {
          for (int64_t ow = t.w_lo[kw]; ow < t.w_hi[kw]; ++ow) dxr[ow + off] += wv * dyr[ow];
        } else {
          for (int64_t ow = t.w_lo[kw]; ow < t.w_hi[kw]; ++ow) dxr[ow * g.sw + off] += wv * dyr[ow];
        }
      }
    }
}

// acc[(kh·KW + kw)·OW + ow] += dy[oh, ow] · x[ih, ow·sw + off] over the valid rows: per-tap
// row accumulators, summed into dw once per output channel by the caller. For 3×3 stride 1,
// the columns [a, v_end) where all three kw taps are inside the row run as 16-column strips
// with the 3 tap sums of each kh in registers down the rows, added to acc[tap·OW] once per
// strip; the row accumulators cover the other columns.
template <class T>
[[gnu::always_inline]] inline void bwd_weight_plane(const ConvGeom& g, const Taps& t,
                                                    const T* __restrict xc, const T* __restrict dyp,
                                                    T* __restrict acc) {
  constexpr int64_t L = kLanes<T>;
  int64_t a = 0, v_end = 0;
  if (g.KH == 3 && g.KW == 3 && g.sw == 1) {
    a = std::max({t.w_lo[0], t.w_lo[1], t.w_lo[2]});
    const int64_t b = std::min({t.w_hi[0], t.w_hi[1], t.w_hi[2]});
    v_end = b > a ? a + (b - a) / L * L : a;
    const int64_t o0 = t.w_off[0], o1 = t.w_off[1], o2 = t.w_off[2];
    for (int64_t kh = 0; kh < 3; ++kh)
      for (int64_t ow = a; ow < v_end; ow += L) {
        Vec<T> s0 = {}, s1 = {}, s2 = {};
        for (int64_t oh = t.h_lo[kh]; oh < t.h_hi[kh]; ++oh) {
          const T* __restrict xr = xc + conv_in_index(oh, kh, g.sh, g.ph, g.dh) * g.W;
          const Vec<T> d = load(dyp + oh * g.OW + ow);
          s0 += d * load(xr + ow + o0);
          s1 += d * load(xr + ow + o1);
          s2 += d * load(xr + ow + o2);
        }
        acc[(kh * 3 + 0) * g.OW] += hsum<T>(s0);
        acc[(kh * 3 + 1) * g.OW] += hsum<T>(s1);
        acc[(kh * 3 + 2) * g.OW] += hsum<T>(s2);
      }
  }
  for (int64_t kh = 0; kh < g.KH; ++kh)
    for (int64_t oh = t.h_lo[kh]; oh < t.h_hi[kh]; ++oh) {
      const T* __restrict xr = xc + conv_in_index(oh, kh, g.sh, g.ph, g.dh) * g.W;
      const T* __restrict dyr = dyp + oh * g.OW;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        T* __restrict ar = acc + (kh * g.KW + kw) * g.OW;
        const int64_t off = t.w_off[kw], lo = t.w_lo[kw], hi = t.w_hi[kw];
        if (g.sw == 1) {  // [lo, hi) minus the vector strips [a, v_end)
          for (int64_t ow = lo; ow < std::min(hi, a); ++ow) ar[ow] += dyr[ow] * xr[ow + off];
          for (int64_t ow = std::max(lo, v_end); ow < hi; ++ow) ar[ow] += dyr[ow] * xr[ow + off];
        } else {
          for (int64_t ow = lo; ow < hi; ++ow) ar[ow] += dyr[ow] * xr[ow * g.sw + off];
        }
      }
    }
}

#define XGD_DEPTHWISE_CLONES(T)                                                                   \
  XGD_CONV_CLONES void fwd_plane_isa(const ConvGeom& g, const Taps& t, const T* xc, const T* wk,  \
                                     T bias, bool accumulate, const T* zero_row, T* yp) {         \
    fwd_plane<T>(g, t, xc, wk, bias, accumulate, zero_row, yp);                                   \
  }                                                                                               \
  XGD_CONV_CLONES void bwd_data_scatter_plane_isa(const ConvGeom& g, const Taps& t, const T* dyp, \
                                                  const T* wk, T* dxc) {                          \
    bwd_data_scatter_plane<T>(g, t, dyp, wk, dxc);                                                \
  }                                                                                               \
  XGD_CONV_CLONES void bwd_weight_plane_isa(const ConvGeom& g, const Taps& t, const T* xc,        \
                                            const T* dyp, T* acc) {                               \
    bwd_weight_plane<T>(g, t, xc, dyp, acc);                                                      \
  }
XGD_DEPTHWISE_CLONES(float)
XGD_DEPTHWISE_CLONES(double)
#undef XGD_DEPTHWISE_CLONES

// Parallel loops only when the work beats the fork/join cost.
bool worth_threads(const ConvGeom& g) {
  return g.N * g.K * g.OH * g.OW * g.KH * g.KW > 32768;
}

}  // namespace

// Parallel over (image, output channel) planes; each writes its own y plane.
template <class T>
void depthwise_forward(const ConvGeom& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t m = g.K / g.C, HW = g.H * g.W, OHW = g.OH * g.OW, KK = g.KH * g.KW;
  const Taps taps(g);
  const std::vector<T> zero_row(g.W, T(0));
#pragma omp parallel for schedule(static) if (worth_threads(g))
  for (int64_t p = 0; p < g.N * g.K; ++p) {
    const int64_t n = p / g.K, k = p % g.K;
    fwd_plane_isa(g, taps, x + (n * g.C + k / m) * HW, w + k * KK, b ? b[k] : T(0), false,
                  zero_row.data(), y + p * OHW);
  }
}

// Parallel over (image, input channel) planes: input channel c gathers from its m output
// channels c·m .. c·m + m - 1 only, so no two iterations write the same dx plane.
template <class T>
void depthwise_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx) {
  const int64_t m = g.K / g.C, HW = g.H * g.W, OHW = g.OH * g.OW, KK = g.KH * g.KW;
  if (g.sh == 1 && g.sw == 1) {
    // dx = conv(dy, flip(w)) with padding d·(k - 1) - p (possibly negative: the kernels'
    // index maths handle any sign) and the roles of (H, W) and (OH, OW) swapped.
    ConvGeom gt = g;
    gt.H = g.OH, gt.W = g.OW, gt.OH = g.H, gt.OW = g.W;
    gt.ph = g.dh * (g.KH - 1) - g.ph, gt.pw = g.dw * (g.KW - 1) - g.pw;
    const Taps taps(gt);
    const std::vector<T> zero_row(gt.W, T(0));
    std::vector<T> wf(g.K * KK);  // (K, KH, KW) flipped in both spatial dims
    for (int64_t k = 0; k < g.K; ++k)
      for (int64_t i = 0; i < KK; ++i) wf[k * KK + i] = w[k * KK + (KK - 1 - i)];
#pragma omp parallel for schedule(static) if (worth_threads(g))
    for (int64_t p = 0; p < g.N * g.C; ++p) {
      const int64_t n = p / g.C, c = p % g.C;
      for (int64_t j = 0; j < m; ++j) {
        const int64_t k = c * m + j;
        fwd_plane_isa(gt, taps, dy + (n * g.K + k) * OHW, wf.data() + k * KK, T(0), j > 0,
                      zero_row.data(), dx + p * HW);
      }
    }
    return;
  }
  const Taps taps(g);
#pragma omp parallel for schedule(static) if (worth_threads(g))
  for (int64_t p = 0; p < g.N * g.C; ++p) {
    const int64_t n = p / g.C, c = p % g.C;
    T* dxc = dx + p * HW;  // (H, W)
    std::fill(dxc, dxc + HW, T(0));
    for (int64_t j = 0; j < m; ++j) {
      const int64_t k = c * m + j;
      bwd_data_scatter_plane_isa(g, taps, dy + (n * g.K + k) * OHW, w + k * KK, dxc);
    }
  }
}

// Parallel over output channels, each summing over the batch into its own KH·KW taps.
template <class T>
void depthwise_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw) {
  const int64_t m = g.K / g.C, HW = g.H * g.W, OHW = g.OH * g.OW, KK = g.KH * g.KW;
  const Taps taps(g);
#pragma omp parallel if (worth_threads(g))
  {
    std::vector<T> acc(KK * g.OW);  // (KH·KW, OW) row accumulators of one output channel
#pragma omp for schedule(static)
    for (int64_t k = 0; k < g.K; ++k) {
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t n = 0; n < g.N; ++n)
        bwd_weight_plane_isa(g, taps, x + (n * g.C + k / m) * HW, dy + (n * g.K + k) * OHW,
                             acc.data());
      for (int64_t i = 0; i < KK; ++i) {
        T s = 0;
        for (int64_t ow = 0; ow < g.OW; ++ow) s += acc[i * g.OW + ow];
        dw[k * KK + i] = s;
      }
    }
  }
}

#define XGD_DEPTHWISE_INSTANTIATE(T)                                                     \
  template void depthwise_forward<T>(const ConvGeom&, const T*, const T*, const T*, T*); \
  template void depthwise_backward_data<T>(const ConvGeom&, const T*, const T*, T*);     \
  template void depthwise_backward_weight<T>(const ConvGeom&, const T*, const T*, T*);
XGD_DEPTHWISE_INSTANTIATE(float)
XGD_DEPTHWISE_INSTANTIATE(double)
#undef XGD_DEPTHWISE_INSTANTIATE

}  // namespace xgd::kernels::cpu
#pragma GCC diagnostic pop
