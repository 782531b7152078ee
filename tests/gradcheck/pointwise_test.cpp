// Float64 finite-difference checks of every pointwise backward.
#include <gtest/gtest.h>

#include "engine/ops/pointwise.h"
#include "tests/support/gradcheck.h"

namespace xgd {
namespace {

using test::random_f64;

TEST(PointwiseGradcheck, BinaryBroadcast) {
  Tensor a = random_f64({2, 3, 4}, 1), b = random_f64({3, 1}, 2, 0.5, 2.0);
  EXPECT_GRADCHECK([](auto& in) { return add(in[0], in[1]); }, {a, b});
  EXPECT_GRADCHECK([](auto& in) { return sub(in[0], in[1]); }, {a, b});
  EXPECT_GRADCHECK([](auto& in) { return mul(in[0], in[1]); }, {a, b});
  EXPECT_GRADCHECK([](auto& in) { return div(in[0], in[1]); }, {a, b});
  Tensor c = random_f64({2, 1, 4}, 3), d = random_f64({1, 3, 1}, 4, 0.5, 2.0);
  EXPECT_GRADCHECK([](auto& in) { return div(in[0], in[1]); }, {c, d});
}

TEST(PointwiseGradcheck, ScalarAndUnary) {
  Tensor x = random_f64({3, 5}, 5);
  Tensor p = random_f64({3, 5}, 6, 0.5, 2.0);
  EXPECT_GRADCHECK([](auto& in) { return add(in[0], 2.0); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return mul(in[0], -3.0); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return rsub(1.5, in[0]); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return rdiv(1.5, in[0]); }, {p});
  EXPECT_GRADCHECK([](auto& in) { return neg(in[0]); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return exp(in[0]); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return log(in[0]); }, {p});
  EXPECT_GRADCHECK([](auto& in) { return sqrt(in[0]); }, {p});
  EXPECT_GRADCHECK([](auto& in) { return pow(in[0], 3.0); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return pow(in[0], -1.5); }, {p});
  // Kinks: random inputs in (-1, 1) are never within eps of 0, 6 or the clamp bounds.
  EXPECT_GRADCHECK([](auto& in) { return abs(in[0]); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return relu(in[0]); }, {x});
  Tensor wide = random_f64({4, 6}, 7, -2.0, 8.0);
  EXPECT_GRADCHECK([](auto& in) { return relu6(in[0]); }, {wide});
  EXPECT_GRADCHECK([](auto& in) { return clamp(in[0], -0.3, 0.4); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return sum_to(in[0], {3, 1}); }, {x});
}

}  // namespace
}  // namespace xgd
