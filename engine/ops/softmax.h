// softmax / log_softmax over one dim, numerically stable (max subtracted), as PyTorch.
#pragma once
#include "engine/tensor.h"

namespace xgd {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace xgd
