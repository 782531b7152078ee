// Dropout (inverted: kept values scaled by 1/(1-p), as PyTorch). Masks come from the Philox
// stream of `gen`, so CPU and CUDA drop the same elements. In eval mode (training=false) or
// with p = 0 the input is returned unchanged.
#pragma once
#include "engine/rng.h"
#include "engine/tensor.h"

namespace xgd {

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen);
// Dropout2d: zeroes whole channels of an N×C×H×W tensor (one draw per (n, c)).
Tensor dropout2d(const Tensor& x, double p, bool training, Generator& gen);

}  // namespace xgd
