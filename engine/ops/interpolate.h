// Bilinear resizing of N×C×H×W, PyTorch-exact (F.interpolate(mode='bilinear')).
// align_corners=true: src = dst·(in-1)/(out-1). false: src = (dst+0.5)·scale - 0.5 clamped at
// 0, where scale = in/out when a size is given, and 1/scale_factor when a scale factor is given
// (PyTorch with recompute_scale_factor=None).
#pragma once
#include "engine/tensor.h"

namespace xgd {

Tensor interpolate_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners);
// Output size floor(in·scale) per dim.
Tensor interpolate_bilinear_scale(const Tensor& x, double scale_h, double scale_w,
                                  bool align_corners);

}  // namespace xgd
