// Concatenation and slicing along one dim (negative dims count from the end).
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace xgd {

Tensor concat(const std::vector<Tensor>& tensors, int64_t dim);
// Elements [start, end) along dim (end clamped to the size; step 1). Copies.
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end);

}  // namespace xgd
