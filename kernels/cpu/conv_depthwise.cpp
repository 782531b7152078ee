// Direct depthwise conv2d (groups == C, K = C·m, output channel k reads input channel k / m):
// MobileNetV2's 3×3 blocks and the DeepLabV3+ separable ASPP (3×3, dilation 12/24/36).
// im2col would copy KH·KW times the input for a 1-row GEMM per channel; the direct loops
// read each input row in place and skip the taps that land entirely in padding (most of them
// at dilation 24/36 on a 32×32 map). Gradients overwrite (=) dx and dw.
#include <algorithm>

#include "kernels/common/conv.h"
#include "kernels/cpu/conv.h"

namespace xgd::kernels::cpu {

namespace {

// Per-plane bodies: inlined into the per-ISA clones below so each gets that ISA's vectors.
// The inner loops run over a tap's valid output range, contiguous when the stride is 1.

// y (OH, OW) = bias + Σ_taps w[kh, kw] · x (H, W) shifted
template <class T>
[[gnu::always_inline]] inline void fwd_plane(const ConvGeom& g, const T* __restrict xc,
                                             const T* __restrict wk, T bias, T* __restrict yp) {
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    T* __restrict yr = yp + oh * g.OW;
    for (int64_t ow = 0; ow < g.OW; ++ow) yr[ow] = bias;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t ih = conv_in_index(oh, kh, g.sh, g.ph, g.dh);
      if (ih < 0 || ih >= g.H) continue;
      const T* __restrict xr = xc + ih * g.W;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const T wv = wk[kh * g.KW + kw];
        const TapRange r = conv_tap_range(g.W, g.OW, kw, g.sw, g.pw, g.dw);
        const int64_t off = kw * g.dw - g.pw;
        if (g.sw == 1) {
          for (int64_t ow = r.lo; ow < r.hi; ++ow) yr[ow] += wv * xr[ow + off];
        } else {
          for (int64_t ow = r.lo; ow < r.hi; ++ow) yr[ow] += wv * xr[ow * g.sw + off];
        }
      }
    }
  }
}

// dx (H, W) += Σ_taps w[kh, kw] · dy (OH, OW) scattered back (the caller zeroes dx first)
template <class T>
[[gnu::always_inline]] inline void bwd_data_plane(const ConvGeom& g, const T* __restrict dyp,
                                                  const T* __restrict wk, T* __restrict dxc) {
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    const T* __restrict dyr = dyp + oh * g.OW;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t ih = conv_in_index(oh, kh, g.sh, g.ph, g.dh);
      if (ih < 0 || ih >= g.H) continue;
      T* __restrict dxr = dxc + ih * g.W;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const T wv = wk[kh * g.KW + kw];
        const TapRange r = conv_tap_range(g.W, g.OW, kw, g.sw, g.pw, g.dw);
        const int64_t off = kw * g.dw - g.pw;
        if (g.sw == 1) {
          for (int64_t ow = r.lo; ow < r.hi; ++ow) dxr[ow + off] += wv * dyr[ow];
        } else {
          for (int64_t ow = r.lo; ow < r.hi; ++ow) dxr[ow * g.sw + off] += wv * dyr[ow];
        }
      }
    }
  }
}

// dwk[kh, kw] += Σ_{oh, ow} dy (OH, OW) · x (H, W) shifted, for one image
template <class T>
[[gnu::always_inline]] inline void bwd_weight_plane(const ConvGeom& g, const T* __restrict xc,
                                                    const T* __restrict dyp, T* __restrict dwk) {
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    const T* __restrict dyr = dyp + oh * g.OW;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t ih = conv_in_index(oh, kh, g.sh, g.ph, g.dh);
      if (ih < 0 || ih >= g.H) continue;
      const T* __restrict xr = xc + ih * g.W;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const TapRange r = conv_tap_range(g.W, g.OW, kw, g.sw, g.pw, g.dw);
        const int64_t off = kw * g.dw - g.pw;
        T s = 0;
        if (g.sw == 1) {
#pragma omp simd reduction(+ : s)
          for (int64_t ow = r.lo; ow < r.hi; ++ow) s += dyr[ow] * xr[ow + off];
        } else {
#pragma omp simd reduction(+ : s)
          for (int64_t ow = r.lo; ow < r.hi; ++ow) s += dyr[ow] * xr[ow * g.sw + off];
        }
        dwk[kh * g.KW + kw] += s;
      }
    }
  }
}

#define XGD_DEPTHWISE_CLONES(T)                                                                    \
  XGD_CONV_CLONES void fwd_plane_isa(const ConvGeom& g, const T* xc, const T* wk, T bias, T* yp) { \
    fwd_plane<T>(g, xc, wk, bias, yp);                                                             \
  }                                                                                                \
  XGD_CONV_CLONES void bwd_data_plane_isa(const ConvGeom& g, const T* dyp, const T* wk, T* dxc) {  \
    bwd_data_plane<T>(g, dyp, wk, dxc);                                                            \
  }                                                                                                \
  XGD_CONV_CLONES void bwd_weight_plane_isa(const ConvGeom& g, const T* xc, const T* dyp,          \
                                            T* dwk) {                                              \
    bwd_weight_plane<T>(g, xc, dyp, dwk);                                                          \
  }
XGD_DEPTHWISE_CLONES(float)
XGD_DEPTHWISE_CLONES(double)
#undef XGD_DEPTHWISE_CLONES

}  // namespace

// Parallel over (image, output channel) planes; each writes its own y plane.
template <class T>
void depthwise_forward(const ConvGeom& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t m = g.K / g.C, HW = g.H * g.W, OHW = g.OH * g.OW, KK = g.KH * g.KW;
#pragma omp parallel for schedule(static) if (g.N * g.K * OHW * KK > 32768)
  for (int64_t p = 0; p < g.N * g.K; ++p) {
    const int64_t n = p / g.K, k = p % g.K;
    fwd_plane_isa(g, x + (n * g.C + k / m) * HW, w + k * KK, b ? b[k] : T(0), y + p * OHW);
  }
}

// Parallel over (image, input channel) planes: input channel c gathers from its m output
// channels c·m .. c·m + m - 1 only, so no two iterations write the same dx plane.
template <class T>
void depthwise_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx) {
  const int64_t m = g.K / g.C, HW = g.H * g.W, OHW = g.OH * g.OW, KK = g.KH * g.KW;
#pragma omp parallel for schedule(static) if (g.N * g.K * OHW * KK > 32768)
  for (int64_t p = 0; p < g.N * g.C; ++p) {
    const int64_t n = p / g.C, c = p % g.C;
    T* dxc = dx + p * HW;  // (H, W)
    std::fill(dxc, dxc + HW, T(0));
    for (int64_t j = 0; j < m; ++j) {
      const int64_t k = c * m + j;
      bwd_data_plane_isa(g, dy + (n * g.K + k) * OHW, w + k * KK, dxc);
    }
  }
}

// Parallel over output channels, each summing over the batch into its own KH·KW taps.
template <class T>
void depthwise_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw) {
  const int64_t m = g.K / g.C, HW = g.H * g.W, OHW = g.OH * g.OW, KK = g.KH * g.KW;
#pragma omp parallel for schedule(static) if (g.N * g.K * OHW * KK > 32768)
  for (int64_t k = 0; k < g.K; ++k) {
    T* dwk = dw + k * KK;  // (KH, KW)
    std::fill(dwk, dwk + KK, T(0));
    for (int64_t n = 0; n < g.N; ++n)
      bwd_weight_plane_isa(g, x + (n * g.C + k / m) * HW, dy + (n * g.K + k) * OHW, dwk);
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
