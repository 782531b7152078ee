// Index maths of conv2d shared by the CPU kernels and the CUDA kernels (one truth for both):
// output size, the input coordinate a kernel tap reads, and the range of outputs whose tap
// lands inside the input (so inner loops run without bounds checks).
#pragma once
#include <cstdint>

#include "kernels/common/hd.h"

namespace xgd::kernels {

// PyTorch's output size: floor((in + 2·pad - dil·(k - 1) - 1) / stride) + 1. May be <= 0 when
// the dilated kernel is larger than the padded input (the caller reports that as an error).
XGD_HD int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  int64_t span = in + 2 * pad - dil * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

// Input coordinate read by output coordinate o through kernel tap t.
XGD_HD int64_t conv_in_index(int64_t o, int64_t t, int64_t stride, int64_t pad, int64_t dil) {
  return o * stride - pad + t * dil;
}

// Outputs o in [lo, hi) whose tap t reads a coordinate inside [0, in): o·s + off in [0, in)
// with off = t·dil - pad. Empty ranges come back as lo == hi (both clamped to [0, out]).
struct TapRange {
  int64_t lo, hi;
};
XGD_HD TapRange conv_tap_range(int64_t in, int64_t out, int64_t t, int64_t stride, int64_t pad,
                               int64_t dil) {
  int64_t off = t * dil - pad;
  // lo = ceil(-off / s) for off < 0, hi = ceil((in - off) / s); both clamped.
  int64_t lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t hi = in - off <= 0 ? 0 : (in - off + stride - 1) / stride;
  if (hi > out) hi = out;
  if (lo > hi) lo = hi;
  return {lo, hi};
}

}  // namespace xgd::kernels
