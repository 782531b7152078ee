// Float64 finite-difference checks of the matmul and linear backward (every input's gradient).
#include <gtest/gtest.h>

#include "engine/ops/linear.h"
#include "tests/support/gradcheck.h"

namespace xgd {
namespace {

using test::random_f64;

TEST(LinearGradcheck, Matmul) {
  EXPECT_GRADCHECK([](auto& in) { return matmul(in[0], in[1]); },
                   {random_f64({5, 7}, 1), random_f64({7, 3}, 2)});
  EXPECT_GRADCHECK([](auto& in) { return matmul(in[0], in[1]); },
                   {random_f64({1, 4}, 3), random_f64({4, 1}, 4)});
  EXPECT_GRADCHECK([](auto& in) { return matmul(in[0], in[1]); },
                   {random_f64({3, 4, 6}, 5), random_f64({3, 6, 5}, 6)});
  // Only b requires grad: the a-gradient path is skipped, b's is still right.
  EXPECT_GRADCHECK([](auto& in) { return matmul(in[0], in[1]); },
                   {random_f64({4, 3}, 7, -1.0, 1.0, false), random_f64({3, 2}, 8)});
}

TEST(LinearGradcheck, Linear) {
  EXPECT_GRADCHECK([](auto& in) { return linear(in[0], in[1], in[2]); },
                   {random_f64({5, 7}, 1), random_f64({3, 7}, 2), random_f64({3}, 3)});
  EXPECT_GRADCHECK([](auto& in) { return linear(in[0], in[1], Tensor()); },
                   {random_f64({4, 6}, 4), random_f64({5, 6}, 5)});
  EXPECT_GRADCHECK([](auto& in) { return linear(in[0], in[1], in[2]); },
                   {random_f64({2, 3, 4}, 6), random_f64({5, 4}, 7), random_f64({5}, 8)});
  EXPECT_GRADCHECK([](auto& in) { return linear(in[0], in[1], in[2]); },
                   {random_f64({4}, 9), random_f64({3, 4}, 10), random_f64({3}, 11)});
}

// Composition: a two-layer MLP, the gradient flowing through one linear into the next.
TEST(LinearGradcheck, Chained) {
  EXPECT_GRADCHECK([](auto& in) { return matmul(linear(in[0], in[1], in[2]), in[3]); },
                   {random_f64({3, 4}, 12), random_f64({5, 4}, 13), random_f64({5}, 14),
                    random_f64({5, 2}, 15)});
}

}  // namespace
}  // namespace xgd
