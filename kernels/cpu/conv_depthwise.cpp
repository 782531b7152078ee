// Direct depthwise conv2d (groups == C, K = C·m, output channel k reads input channel k / m):
// MobileNetV2's 3×3 blocks and the DeepLabV3+ separable ASPP (3×3, dilation 12/24/36).
// im2col would copy KH·KW times the input for a 1-row GEMM per channel; these loops read each
// plane once. Gradients overwrite (=) dx and dw.
//   3×3 (any stride/dilation, padding >= 0): the plane is copied into a zero-padded buffer
//     whose columns are split by stride phase, so every tap of a vector of outputs reads one
//     contiguous vector with no border cases: forward sums 9 taps per output vector in a
//     register; the weight gradient keeps 9 tap sums per 16-column strip in registers;
//   d input: stride 1 is the forward kernel on dy with the kernel flipped and padding
//     d·(k - 1) - p (a gather, no write conflicts); 3×3 stride > 1 scatters vectors of dy into
//     a padded, phase-split dx buffer and copies its interior out; others scatter tap by tap;
//   other kernels: tap by tap over each tap's valid output range (row accumulators for dw).
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
// stays a libc call in the target clones); macros rather than functions, so no vector is
// passed or returned across a call (GCC's -Wpsabi ABI note for 64-byte vectors).
template <class T>
struct VecOf {
  typedef T type __attribute__((vector_size(64)));
  typedef T unaligned __attribute__((vector_size(64), aligned(sizeof(T)), may_alias));
};
template <class T>
using Vec = typename VecOf<T>::type;
template <class T>
constexpr int64_t kLanes = 64 / sizeof(T);
#define XGD_VLOAD(T, p) (*reinterpret_cast<const typename VecOf<T>::unaligned*>(p))
#define XGD_VSTORE(T, p, v) (*reinterpret_cast<typename VecOf<T>::unaligned*>(p) = (v))
template <class T>
[[gnu::always_inline]] inline T hsum(const Vec<T>& v) {
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

// A zero-padded copy of one plane for the 3×3 kernels, its columns split into sw phases so a
// strided tap reads contiguous memory: padded column c = iw + pw is element c / sw of segment
// c % sw of its row. Tap (kh, kw) of output (oh, ow) reads padded row oh·sh + kh·dh at
// ow + tap_offset(kw) of that row. `cols`: how many output columns the kernel reads per row.
struct PadLayout {
  int64_t seg = 0, row = 0, rows = 0;  // elements per phase segment, per padded row; rows
  PadLayout(const ConvGeom& g, int64_t cols) {
    seg = std::max((g.W + 2 * g.pw + g.sw - 1) / g.sw, cols + (g.KW - 1) * g.dw / g.sw);
    row = seg * g.sw;
    rows = g.H + 2 * g.ph;
  }
  int64_t elems() const { return rows * row; }
  int64_t tap_offset(const ConvGeom& g, int64_t kw) const {
    return (kw * g.dw) % g.sw * seg + kw * g.dw / g.sw;
  }
};

bool padded_3x3(const ConvGeom& g) {
  return g.KH == 3 && g.KW == 3 && g.ph >= 0 && g.pw >= 0;
}

// Copies plane xc (H, W) into the interior of buf (PadLayout); the rest of buf stays as it is
// (zero: each thread zeroes its buffer once and only interiors are ever written).
template <class T>
[[gnu::always_inline]] inline void pad_plane(const ConvGeom& g, const PadLayout& p,
                                             const T* __restrict xc, T* __restrict buf) {
  for (int64_t ih = 0; ih < g.H; ++ih) {
    const T* __restrict xr = xc + ih * g.W;
    T* __restrict r = buf + (ih + g.ph) * p.row;
    if (g.sw == 1) {
      std::copy(xr, xr + g.W, r + g.pw);
      continue;
    }
    for (int64_t q = 0; q < g.sw; ++q) {  // the columns with (iw + pw) % sw == q
      const int64_t iw0 = ((q - g.pw) % g.sw + g.sw) % g.sw;
      T* __restrict dst = r + q * p.seg + (iw0 + g.pw) / g.sw;
      for (int64_t iw = iw0, j = 0; iw < g.W; iw += g.sw, ++j) dst[j] = xr[iw];
    }
  }
}

// y (OH, OW) = (accumulate ? y : bias) + Σ_taps w[kh, kw] · x (H, W) shifted.
// With `pad` (padded_3x3 and OW >= one vector; a PadLayout(g, OW) buffer): each 16-float output
// vector sums its 9 taps in a register; the last, overlapping vector at OW - L is computed
// first from the original y and stored last. Otherwise tap by tap over each valid range.
template <class T>
[[gnu::always_inline]] inline void fwd_plane(const ConvGeom& g, const Taps& t,
                                             const T* __restrict xc, const T* __restrict wk, T bias,
                                             bool accumulate, T* __restrict pad, T* __restrict yp) {
  if (pad) {
    constexpr int64_t L = kLanes<T>;
    const PadLayout p(g, g.OW);
    pad_plane(g, p, xc, pad);
    const int64_t o1 = p.tap_offset(g, 1), o2 = p.tap_offset(g, 2);
    const T w00 = wk[0], w01 = wk[1], w02 = wk[2], w10 = wk[3], w11 = wk[4], w12 = wk[5],
            w20 = wk[6], w21 = wk[7], w22 = wk[8];
    const Vec<T> bv = Vec<T>{} + bias;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const T* __restrict r0 = pad + oh * g.sh * p.row;  // padded rows oh·sh + kh·dh
      const T* __restrict r1 = r0 + g.dh * p.row;
      const T* __restrict r2 = r1 + g.dh * p.row;
      T* __restrict yr = yp + oh * g.OW;
#define XGD_TAPS9(ow)                                                        \
  (w00 * XGD_VLOAD(T, r0 + (ow)) + w01 * XGD_VLOAD(T, r0 + (ow) + o1) +      \
   w02 * XGD_VLOAD(T, r0 + (ow) + o2) + w10 * XGD_VLOAD(T, r1 + (ow)) +      \
   w11 * XGD_VLOAD(T, r1 + (ow) + o1) + w12 * XGD_VLOAD(T, r1 + (ow) + o2) + \
   w20 * XGD_VLOAD(T, r2 + (ow)) + w21 * XGD_VLOAD(T, r2 + (ow) + o1) +      \
   w22 * XGD_VLOAD(T, r2 + (ow) + o2))
      if (accumulate) {
        const Vec<T> last = XGD_VLOAD(T, yr + g.OW - L) + XGD_TAPS9(g.OW - L);
        for (int64_t ow = 0; ow + L <= g.OW; ow += L)
          XGD_VSTORE(T, yr + ow, XGD_VLOAD(T, yr + ow) + XGD_TAPS9(ow));
        XGD_VSTORE(T, yr + g.OW - L, last);
      } else {
        for (int64_t ow = 0; ow + L <= g.OW; ow += L) XGD_VSTORE(T, yr + ow, bv + XGD_TAPS9(ow));
        XGD_VSTORE(T, yr + g.OW - L, bv + XGD_TAPS9(g.OW - L));
      }
#undef XGD_TAPS9
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
// row accumulators, summed into dw once per output channel by the caller.
template <class T>
[[gnu::always_inline]] inline void bwd_weight_plane(const ConvGeom& g, const Taps& t,
                                                    const T* __restrict xc, const T* __restrict dyp,
                                                    T* __restrict acc) {
  for (int64_t kh = 0; kh < g.KH; ++kh)
    for (int64_t oh = t.h_lo[kh]; oh < t.h_hi[kh]; ++oh) {
      const T* __restrict xr = xc + conv_in_index(oh, kh, g.sh, g.ph, g.dh) * g.W;
      const T* __restrict dyr = dyp + oh * g.OW;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        T* __restrict ar = acc + (kh * g.KW + kw) * g.OW;
        const int64_t off = t.w_off[kw], lo = t.w_lo[kw], hi = t.w_hi[kw];
        if (g.sw == 1) {
          for (int64_t ow = lo; ow < hi; ++ow) ar[ow] += dyr[ow] * xr[ow + off];
        } else {
          for (int64_t ow = lo; ow < hi; ++ow) ar[ow] += dyr[ow] * xr[ow * g.sw + off];
        }
      }
    }
}

// Weight gradient of one image for padded_3x3: x padded into xpad (PadLayout(g, OWq)) and dy
// copied into dypad (OH rows of OWq = OW rounded up to a vector, zero tail), then
// dwk[0..8] += the 9 tap sums, kept per 16-column strip in registers down all the rows (no
// borders, one horizontal sum per strip and tap).
template <class T>
[[gnu::always_inline]] inline void bwd_weight_plane_padded(const ConvGeom& g,
                                                           const T* __restrict xc,
                                                           const T* __restrict dyp,
                                                           T* __restrict xpad, T* __restrict dypad,
                                                           int64_t OWq, T* __restrict dwk) {
  constexpr int64_t L = kLanes<T>;
  const PadLayout p(g, OWq);
  pad_plane(g, p, xc, xpad);
  for (int64_t oh = 0; oh < g.OH; ++oh)
    std::copy(dyp + oh * g.OW, dyp + (oh + 1) * g.OW, dypad + oh * OWq);
  const int64_t o1 = p.tap_offset(g, 1), o2 = p.tap_offset(g, 2);
  const int64_t q1 = g.dh * p.row, q2 = 2 * g.dh * p.row;
  for (int64_t ow = 0; ow < OWq; ow += L) {
    Vec<T> s00 = {}, s01 = {}, s02 = {}, s10 = {}, s11 = {}, s12 = {}, s20 = {}, s21 = {}, s22 = {};
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const Vec<T> d = XGD_VLOAD(T, dypad + oh * OWq + ow);
      const T* __restrict r = xpad + oh * g.sh * p.row + ow;  // padded rows oh·sh + kh·dh
      s00 += d * XGD_VLOAD(T, r), s01 += d * XGD_VLOAD(T, r + o1), s02 += d * XGD_VLOAD(T, r + o2);
      s10 += d * XGD_VLOAD(T, r + q1), s11 += d * XGD_VLOAD(T, r + q1 + o1);
      s12 += d * XGD_VLOAD(T, r + q1 + o2), s20 += d * XGD_VLOAD(T, r + q2);
      s21 += d * XGD_VLOAD(T, r + q2 + o1), s22 += d * XGD_VLOAD(T, r + q2 + o2);
    }
    dwk[0] += hsum<T>(s00), dwk[1] += hsum<T>(s01), dwk[2] += hsum<T>(s02);
    dwk[3] += hsum<T>(s10), dwk[4] += hsum<T>(s11), dwk[5] += hsum<T>(s12);
    dwk[6] += hsum<T>(s20), dwk[7] += hsum<T>(s21), dwk[8] += hsum<T>(s22);
  }
}

// Data gradient of one input plane for padded_3x3 with stride > 1: each of the m output planes
// dy_j (copied into dypad, OWq columns, zero tail) is scattered into dxpad (PadLayout(g, OWq),
// zeroed here) as 9 contiguous vector updates per output row, then the interior is copied out
// to dx (H, W) (the border only ever collects the contributions of padding positions).
template <class T>
[[gnu::always_inline]] inline void bwd_data_plane_padded(const ConvGeom& g, const T* __restrict dy0,
                                                         int64_t m, const T* __restrict wk0,
                                                         T* __restrict dypad, int64_t OWq,
                                                         T* __restrict dxpad, T* __restrict dxc) {
  constexpr int64_t L = kLanes<T>;
  const PadLayout p(g, OWq);
  std::fill(dxpad, dxpad + p.elems(), T(0));
  const int64_t off[3] = {0, p.tap_offset(g, 1), p.tap_offset(g, 2)};
  for (int64_t j = 0; j < m; ++j) {
    const T* __restrict dyp = dy0 + j * g.OH * g.OW;  // (OH, OW) of output channel c·m + j
    const T* __restrict wk = wk0 + j * 9;
    for (int64_t oh = 0; oh < g.OH; ++oh)
      std::copy(dyp + oh * g.OW, dyp + (oh + 1) * g.OW, dypad + oh * OWq);
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t kh = 0; kh < 3; ++kh) {
        T* __restrict r = dxpad + (oh * g.sh + kh * g.dh) * p.row;
        for (int64_t kw = 0; kw < 3; ++kw) {
          const T wv = wk[kh * 3 + kw];
          T* __restrict dst = r + off[kw];
          for (int64_t ow = 0; ow < OWq; ow += L)
            XGD_VSTORE(T, dst + ow,
                       XGD_VLOAD(T, dst + ow) + wv * XGD_VLOAD(T, dypad + oh * OWq + ow));
        }
      }
  }
  for (int64_t ih = 0; ih < g.H; ++ih) {  // the inverse of pad_plane
    const T* __restrict r = dxpad + (ih + g.ph) * p.row;
    T* __restrict dxr = dxc + ih * g.W;
    for (int64_t q = 0; q < g.sw; ++q) {
      const int64_t iw0 = ((q - g.pw) % g.sw + g.sw) % g.sw;
      const T* __restrict src = r + q * p.seg + (iw0 + g.pw) / g.sw;
      for (int64_t iw = iw0, i = 0; iw < g.W; iw += g.sw, ++i) dxr[iw] = src[i];
    }
  }
}

#define XGD_DEPTHWISE_CLONES(T)                                                                   \
  XGD_CONV_CLONES void fwd_plane_isa(const ConvGeom& g, const Taps& t, const T* xc, const T* wk,  \
                                     T bias, bool accumulate, T* pad, T* yp) {                    \
    fwd_plane<T>(g, t, xc, wk, bias, accumulate, pad, yp);                                        \
  }                                                                                               \
  XGD_CONV_CLONES void bwd_data_scatter_plane_isa(const ConvGeom& g, const Taps& t, const T* dyp, \
                                                  const T* wk, T* dxc) {                          \
    bwd_data_scatter_plane<T>(g, t, dyp, wk, dxc);                                                \
  }                                                                                               \
  XGD_CONV_CLONES void bwd_weight_plane_isa(const ConvGeom& g, const Taps& t, const T* xc,        \
                                            const T* dyp, T* acc) {                               \
    bwd_weight_plane<T>(g, t, xc, dyp, acc);                                                      \
  }                                                                                               \
  XGD_CONV_CLONES void bwd_weight_plane_padded_isa(const ConvGeom& g, const T* xc, const T* dyp,  \
                                                   T* xpad, T* dypad, int64_t OWq, T* dwk) {      \
    bwd_weight_plane_padded<T>(g, xc, dyp, xpad, dypad, OWq, dwk);                                \
  }                                                                                               \
  XGD_CONV_CLONES void bwd_data_plane_padded_isa(const ConvGeom& g, const T* dy0, int64_t m,      \
                                                 const T* wk0, T* dypad, int64_t OWq, T* dxpad,   \
                                                 T* dxc) {                                        \
    bwd_data_plane_padded<T>(g, dy0, m, wk0, dypad, OWq, dxpad, dxc);                             \
  }
XGD_DEPTHWISE_CLONES(float)
XGD_DEPTHWISE_CLONES(double)
#undef XGD_DEPTHWISE_CLONES

// Parallel loops only when the work beats the fork/join cost. Plane loops are scheduled
// `guided`: balanced when a thread is descheduled (a shared machine) at little chunking cost.
bool worth_threads(const ConvGeom& g) {
  return g.N * g.K * g.OH * g.OW * g.KH * g.KW > 32768;
}

}  // namespace

// Parallel over (image, output channel) planes; each writes its own y plane.
template <class T>
void depthwise_forward(const ConvGeom& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t m = g.K / g.C, HW = g.H * g.W, OHW = g.OH * g.OW, KK = g.KH * g.KW;
  const Taps taps(g);
  const bool padded = padded_3x3(g) && g.OW >= kLanes<T>;
#pragma omp parallel if (worth_threads(g))
  {
    // Per-thread padded plane, zeroed once: only its interior is ever written.
    std::vector<T> pad(padded ? PadLayout(g, g.OW).elems() : 0);
#pragma omp for schedule(guided)
    for (int64_t p = 0; p < g.N * g.K; ++p) {
      const int64_t n = p / g.K, k = p % g.K;
      fwd_plane_isa(g, taps, x + (n * g.C + k / m) * HW, w + k * KK, b ? b[k] : T(0), false,
                    padded ? pad.data() : nullptr, y + p * OHW);
    }
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
    const bool padded = padded_3x3(gt) && gt.OW >= kLanes<T>;
    std::vector<T> wf(g.K * KK);  // (K, KH, KW) flipped in both spatial dims
    for (int64_t k = 0; k < g.K; ++k)
      for (int64_t i = 0; i < KK; ++i) wf[k * KK + i] = w[k * KK + (KK - 1 - i)];
#pragma omp parallel if (worth_threads(g))
    {
      std::vector<T> pad(padded ? PadLayout(gt, gt.OW).elems() : 0);
#pragma omp for schedule(guided)
      for (int64_t p = 0; p < g.N * g.C; ++p) {
        const int64_t n = p / g.C, c = p % g.C;
        for (int64_t j = 0; j < m; ++j) {
          const int64_t k = c * m + j;
          fwd_plane_isa(gt, taps, dy + (n * g.K + k) * OHW, wf.data() + k * KK, T(0), j > 0,
                        padded ? pad.data() : nullptr, dx + p * HW);
        }
      }
    }
    return;
  }
  if (padded_3x3(g)) {
    const int64_t L = kLanes<T>, OWq = (g.OW + L - 1) / L * L;
#pragma omp parallel if (worth_threads(g))
    {
      // dypad's tail columns are zeroed once and never written; dxpad is zeroed per plane.
      std::vector<T> dypad(g.OH * OWq), dxpad(PadLayout(g, OWq).elems());
#pragma omp for schedule(guided)
      for (int64_t p = 0; p < g.N * g.C; ++p) {
        const int64_t n = p / g.C, c = p % g.C;
        bwd_data_plane_padded_isa(g, dy + (n * g.K + c * m) * OHW, m, w + c * m * KK, dypad.data(),
                                  OWq, dxpad.data(), dx + p * HW);
      }
    }
    return;
  }
  const Taps taps(g);
#pragma omp parallel for schedule(guided) if (worth_threads(g))
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
  const bool padded = padded_3x3(g);
  const int64_t L = kLanes<T>, OWq = (g.OW + L - 1) / L * L;
#pragma omp parallel if (worth_threads(g))
  {
    // Per-thread buffers, zeroed once: the padded path only ever writes their interiors.
    std::vector<T> acc(padded ? 0 : KK * g.OW);  // (KH·KW, OW) row accumulators
    std::vector<T> xpad(padded ? PadLayout(g, OWq).elems() : 0), dypad(padded ? g.OH * OWq : 0);
#pragma omp for schedule(guided)
    for (int64_t k = 0; k < g.K; ++k) {
      T* dwk = dw + k * KK;  // (KH, KW)
      if (padded) {
        std::fill(dwk, dwk + KK, T(0));
        for (int64_t n = 0; n < g.N; ++n)
          bwd_weight_plane_padded_isa(g, x + (n * g.C + k / m) * HW, dy + (n * g.K + k) * OHW,
                                      xpad.data(), dypad.data(), OWq, dwk);
        continue;
      }
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t n = 0; n < g.N; ++n)
        bwd_weight_plane_isa(g, taps, x + (n * g.C + k / m) * HW, dy + (n * g.K + k) * OHW,
                             acc.data());
      for (int64_t i = 0; i < KK; ++i) {
        T s = 0;
        for (int64_t ow = 0; ow < g.OW; ++ow) s += acc[i * g.OW + ow];
        dwk[i] = s;
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
#undef XGD_VLOAD
#undef XGD_VSTORE
