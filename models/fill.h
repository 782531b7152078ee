// Deterministic, name-keyed weights: the same values on the PyTorch side
// (tests/reference/make_models.py) and here, computed from each tensor's state-dict name, so
// reference fixtures need not store weights (DESIGN.md §5). Not an initialisation for training.
//
//   key    = FNV-1a 64 of the dotted name ("encoder.layer1.0.conv1.weight")
//   word_i = splitmix64 finaliser of (key + (i + 1) · 0x9E3779B97F4A7C15) mod 2^64, i = 0..n-1
//            over the elements in row-major order
//   u_i    = (word_i >> 40) · 2^-24                       (24 bits, exact in float32)
//   value  = float32(lo + (hi - lo) · u_i), computed in float64 (no FMA)
// Ranges: Conv2d weight ±√(6 / fan_in), bias ±1/√fan_in (fan_in = C_in / groups · k²);
// BatchNorm2d weight [0.5, 1), bias [-0.1, 0.1), running_mean [-0.1, 0.1), running_var
// [0.5, 1.5); num_batches_tracked is left as it is.
#pragma once
#include <string>

#include "engine/nn.h"

namespace xgd::models {

// Fills `t` (float32 or float64; float64 gets the float32 values) from `name`.
void fill_uniform_by_name(Tensor& t, const std::string& name, double lo, double hi);
// Fills every Conv2d and BatchNorm2d of `root` by the rules above (names relative to root);
// any other module owning parameters is an error, so no parameter keeps a random value.
void fill_deterministic(nn::Module& root);

}  // namespace xgd::models
