// Float64 finite-difference checks of concat and slice backwards.
#include <gtest/gtest.h>

#include "engine/ops/shape_ops.h"
#include "tests/support/gradcheck.h"

namespace xgd {
namespace {

using test::random_f64;

TEST(ShapeOpsGradcheck, Concat) {
  Tensor a = random_f64({2, 3, 4}, 1), b = random_f64({2, 1, 4}, 2), c = random_f64({2, 2, 4}, 3);
  EXPECT_GRADCHECK([](auto& in) { return concat(in, 1); }, {a, b, c});
  Tensor d = random_f64({1, 3, 4}, 4), e = random_f64({3, 3, 4}, 5);
  EXPECT_GRADCHECK([](auto& in) { return concat(in, 0); }, {a, d, e});
  Tensor f = random_f64({2, 3, 1}, 6), g = random_f64({2, 3, 5}, 7, -1.0, 1.0, false);
  // Only the inputs that require grad get one; g is a constant.
  EXPECT_GRADCHECK([](auto& in) { return concat(in, -1); }, {a, f, g});
}

TEST(ShapeOpsGradcheck, Slice) {
  Tensor x = random_f64({3, 5, 4, 6}, 8);
  EXPECT_GRADCHECK([](auto& in) { return slice(in[0], 0, 1, 3); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return slice(in[0], -2, 1, 100); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return slice(in[0], 3, -4, -1); }, {x});
}

TEST(ShapeOpsGradcheck, Transpose) {
  Tensor x = test::random_f64({2, 3, 4}, 21);
  EXPECT_GRADCHECK([](auto& in) { return transpose(in[0], 0, 2); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return transpose(in[0], -1, 1); }, {x});
}

}  // namespace
}  // namespace xgd
