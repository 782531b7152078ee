// Concatenation and slicing along one dim (negative dims count from the end).
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace xgd {

Tensor concat(const std::vector<Tensor>& tensors, int64_t dim);
// Elements [start, end) along dim (step 1). Copies. As Python indexing, negative start/end
// count from the end and an end past the size is clamped (INT64_MAX = to the end); a start
// outside [-size, size] or an end before start is an error (PyTorch would return empty).
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end);

}  // namespace xgd
