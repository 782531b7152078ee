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
// Swaps dims d0 and d1 (PyTorch's x.transpose(d0, d1).contiguous()). Copies. Differentiable.
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
// One-hot encoding of int64 class indices (any shape S) as S[0]×K×S[1:] float tensor of
// `dtype` (the class dim inserted at 1, the NCHW layout of logits: F.one_hot(y, K).movedim(-1,
// 1)). Entries equal to ignore_index are all-zero; other values outside [0, K) are an error.
// No gradient.
Tensor one_hot(const Tensor& labels, int64_t num_classes, int64_t ignore_index = 255,
               DType dtype = DType::F32);

}  // namespace xgd
