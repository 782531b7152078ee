// Float64 central finite-difference check of an op's backward (DESIGN.md §5, layer 2).
// For y = f(inputs) and a fixed random cotangent w, compares autograd's d<w, y>/dx with
// (<w, f(x + eps·e_i)> - <w, f(x - eps·e_i)>) / (2 eps) for every element i of every input
// that requires grad. Central differences have O(eps²) truncation and O(ulp/eps) rounding
// error: eps = 1e-6 in float64 gives ~1e-10 absolute error for O(1) functions, so the default
// tolerances (atol 1e-6, rtol 1e-5) fail on any real backward bug and pass on rounding.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "engine/tensor.h"

namespace xgd::test {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Inputs must be float64 leaves; those with requires_grad are checked.
::testing::AssertionResult gradcheck(const Fn& f, const std::vector<Tensor>& inputs,
                                     double eps = 1e-6, double atol = 1e-6, double rtol = 1e-5);

// Random float64 tensor in [low, high) from a fixed seed (deterministic tests).
Tensor random_f64(const Shape& shape, uint64_t seed, double low = -1.0, double high = 1.0,
                  bool requires_grad = true);

}  // namespace xgd::test

#define EXPECT_GRADCHECK(...) EXPECT_TRUE(::xgd::test::gradcheck(__VA_ARGS__))
