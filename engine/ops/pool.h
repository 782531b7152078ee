// Pooling over N×C×H×W, PyTorch semantics (output size floor or ceil; padding).
#pragma once
#include <array>

#include "engine/tensor.h"

namespace xgd {

struct Pool2dParams {
  std::array<int64_t, 2> kernel{2, 2};
  std::array<int64_t, 2> stride{0, 0};  // 0 = kernel (PyTorch's default stride=None)
  std::array<int64_t, 2> padding{0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg_pool2d only
};

// Max pooling: padding is -inf; backward routes each gradient to the first maximum.
Tensor max_pool2d(const Tensor& x, const Pool2dParams& params);
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params);
// PyTorch's adaptive bins: start = floor(i·H/out), end = ceil((i+1)·H/out).
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);

}  // namespace xgd
