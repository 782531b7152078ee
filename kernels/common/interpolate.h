// Source-index maths of bilinear resizing, shared by the CPU backend and the CUDA kernels.
// Mirrors ATen's UpSample.h (area_pixel_compute_scale, area_pixel_compute_source_index,
// compute_indices_weights_linear), computed in T as ATen does for float and double, so the
// weights round the same way.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.h"

namespace xgd::kernels {

// scale_factor <= 0 means "none given" (ATen's std::nullopt): the scale is then in/out.
// align_corners ignores the scale factor: (in-1)/(out-1), 0 for a single output.
template <class T>
XGD_HD T linear_scale(int64_t in, int64_t out, bool align_corners, double scale_factor) {
  if (align_corners) return out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
  return scale_factor > 0 ? static_cast<T>(1.0 / scale_factor)
                          : static_cast<T>(in) / static_cast<T>(out);
}

// One output index's two taps along a dim: x[i0]·w0 + x[i0 + step]·w1 with step 0 at the
// last input element (ATen's h1p).
template <class T>
struct LinearTap {
  int64_t i0;
  int64_t step;  // 0 or 1
  T w0, w1;
};

// ATen's compute_source_index_and_lambda: a dim whose output size equals its input size is
// copied (weights 1, 0) whatever the scale factor says (scale_factor=1.3 on 3 -> 3 copies).
template <class T>
XGD_HD LinearTap<T> linear_tap(int64_t dst, int64_t in, int64_t out, T scale, bool align_corners) {
  if (in == out) return LinearTap<T>{dst, 0, T(1), T(0)};
  // align_corners: src = dst·scale. Otherwise pixel centres: (dst + 0.5)·scale - 0.5, clamped
  // at 0 (only for linear modes, as ATen). The pixel-centre form is one fused multiply-add, as
  // the compiler contracts it in PyTorch's AVX2/AVX-512 CPU kernels (and nvcc on the GPU): the
  // weights then equal torch's bit for bit (checked on one-hot inputs).
  T src = align_corners ? scale * static_cast<T>(dst)
                        : std::fma(scale, static_cast<T>(dst) + T(0.5), T(-0.5));
  if (!align_corners && src < T(0)) src = T(0);
  int64_t i0 = static_cast<int64_t>(src);
  if (i0 > in - 1) i0 = in - 1;  // guards rounding of src just past in-1
  LinearTap<T> t;
  t.i0 = i0;
  t.step = i0 < in - 1 ? 1 : 0;
  T w1 = src - static_cast<T>(i0);  // ATen clamps the weight to [0, 1]
  t.w1 = w1 < T(0) ? T(0) : (w1 > T(1) ? T(1) : w1);
  t.w0 = T(1) - t.w1;
  return t;
}

// The output indices whose taps may read input index i along a dim: {o : i-1 <= i0(o) <= i},
// as [first_at_least(i-1), first_at_least(i+1)). i0(o) never decreases with o (src is a
// monotone function of dst, and rounding, clamping and truncation keep that), so the set is a
// range. first_at_least estimates the end by inverting src(o), then corrects it against
// linear_tap itself, so rounding can neither drop nor add an index. Callers still test
// i0 == i and i0 + step == i per o: an o with i0 = i-1 and step 0 (in == out) does not read i.
template <class T>
XGD_HD int64_t linear_first_at_least(int64_t target, int64_t in, int64_t out, T scale,
                                     bool align_corners) {
  if (target <= 0) return 0;
  if (target > in - 1) return out;  // i0 <= in - 1 always
  int64_t o;
  if (in == out) {
    o = target;  // copied dim: i0(o) = o
  } else if (!(scale > T(0))) {
    o = out;  // align_corners with one output: every i0 is 0 < target
  } else {
    const double s = static_cast<double>(scale), t = static_cast<double>(target);
    const double est = align_corners ? t / s : (t + 0.5) / s - 0.5;
    if (est <= 0) {
      o = 0;
    } else if (est >= static_cast<double>(out)) {
      o = out;
    } else {
      o = static_cast<int64_t>(est);
      if (static_cast<double>(o) < est) ++o;  // ceil
    }
  }
  while (o > 0 && linear_tap<T>(o - 1, in, out, scale, align_corners).i0 >= target) --o;
  while (o < out && linear_tap<T>(o, in, out, scale, align_corners).i0 < target) ++o;
  return o;
}

}  // namespace xgd::kernels
