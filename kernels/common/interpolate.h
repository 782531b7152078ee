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

}  // namespace xgd::kernels
