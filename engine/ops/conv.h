// 2-D convolution (cross-correlation, as PyTorch), NCHW input, weight
// C_out × (C_in / groups) × KH × KW, optional bias C_out. Groups include depthwise
// (groups == C_in). Output size per PyTorch: (H + 2p - d(k-1) - 1) / s + 1.
#pragma once
#include <array>

#include "engine/tensor.h"

namespace xgd {

struct Conv2dParams {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              const Conv2dParams& params = {});

}  // namespace xgd
