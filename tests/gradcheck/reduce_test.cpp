// Float64 finite-difference checks of every reduction backward. Random inputs in (-1, 1) have
// no ties, so max/min are differentiable there (the tie rules are checked against PyTorch in
// tests/reference/reduce_test.cpp).
#include <gtest/gtest.h>

#include "engine/ops/reduce.h"
#include "tests/support/gradcheck.h"

namespace xgd {
namespace {

using test::random_f64;

TEST(ReduceGradcheck, SumMean) {
  Tensor x = random_f64({2, 3, 4, 5}, 1);
  EXPECT_GRADCHECK([](auto& in) { return sum(in[0]); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return sum(in[0], {1}); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return sum(in[0], {2, 3}, true); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return sum(in[0], {0, 2, 3}); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return sum(in[0], {-1, 1}); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return mean(in[0]); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return mean(in[0], {1}, true); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return mean(in[0], {0, 3}); }, {x});
}

TEST(ReduceGradcheck, MaxMin) {
  Tensor x = random_f64({2, 3, 4, 5}, 2);
  EXPECT_GRADCHECK([](auto& in) { return max(in[0]); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return min(in[0]); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return max(in[0], {1}); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return min(in[0], {-1}, true); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return max(in[0], {2, 3}); }, {x});
  EXPECT_GRADCHECK([](auto& in) { return min(in[0], {0, 2}, true); }, {x});
}

}  // namespace
}  // namespace xgd
