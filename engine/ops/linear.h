// Matrix products.
#pragma once
#include "engine/tensor.h"

namespace xgd {

// a: M×K, b: K×N -> M×N; or batched a: B×M×K, b: B×K×N -> B×M×N.
Tensor matmul(const Tensor& a, const Tensor& b);
// y = x·Wᵀ + b (PyTorch nn.Linear): x: …×in, weight: out×in, bias: out (optional).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace xgd
