// Reductions over all elements or over given dims (negative dims count from the end; an empty
// dims list means all dims, as PyTorch's sum(x, dim=[]); a repeated dim is an error).
// max/min backward sends the gradient to the first occurrence of the extreme value when
// reducing over one dim (as PyTorch's max(dim)), and splits it evenly among ties when reducing
// over all elements (as PyTorch's max()) or over several dims (as PyTorch's amax/amin).
// NaN propagates through max/min (and argmax returns the first NaN), as in PyTorch.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace xgd {

Tensor sum(const Tensor& x);  // 0-dim result
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor max(const Tensor& x);
Tensor max(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor min(const Tensor& x);
Tensor min(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
// Index of the first maximum along dim, int64, no gradient.
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);

}  // namespace xgd
