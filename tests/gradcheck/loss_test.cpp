// Float64 finite-difference checks of the loss backwards: cross_entropy w.r.t. the logits
// (with ignored pixels, and N×C), kl_div w.r.t. teacher and student at several τ, mse w.r.t.
// both arguments.
#include <gtest/gtest.h>

#include "engine/ops/loss.h"
#include "tests/support/gradcheck.h"

namespace xgd {
namespace {

using test::random_f64;

TEST(LossGradcheck, CrossEntropy) {
  Tensor x = random_f64({2, 4, 3, 5}, 1, -3.0, 3.0);
  std::vector<double> yv(2 * 3 * 5);
  for (size_t i = 0; i < yv.size(); ++i) yv[i] = i % 5 == 4 ? 255 : static_cast<double>(i % 4);
  Tensor y = Tensor::from_vector(yv, {2, 3, 5}, DType::I64);
  EXPECT_GRADCHECK([&](auto& in) { return cross_entropy(in[0], y); }, {x});
  Tensor xnc = random_f64({6, 5}, 2, -3.0, 3.0);
  Tensor ync = Tensor::from_vector({0, 4, 2, 2, 1, 3}, {6}, DType::I64);
  EXPECT_GRADCHECK([&](auto& in) { return cross_entropy(in[0], ync, -100); }, {xnc});
}

TEST(LossGradcheck, KlDivBothArguments) {
  Tensor t = random_f64({2, 4, 3, 5}, 3, -3.0, 3.0), s = random_f64({2, 4, 3, 5}, 4, -3.0, 3.0);
  for (double tau : {1.0, 4.0, 0.5}) {
    SCOPED_TRACE(tau);
    EXPECT_GRADCHECK([tau](auto& in) { return kl_div(in[0], in[1], tau); }, {t, s});
  }
  Tensor tn = random_f64({5, 7}, 5, -3.0, 3.0), sn = random_f64({5, 7}, 6, -3.0, 3.0);
  EXPECT_GRADCHECK([](auto& in) { return kl_div(in[0], in[1], 2.0); }, {tn, sn});
  // Student only (the teacher runs without grad in training).
  Tensor tc = random_f64({2, 4, 3, 5}, 7, -3.0, 3.0, false);
  EXPECT_GRADCHECK([](auto& in) { return kl_div(in[0], in[1], 2.0); }, {tc, s});
}

TEST(LossGradcheck, Mse) {
  Tensor a = random_f64({2, 3, 4}, 8), b = random_f64({2, 3, 4}, 9);
  EXPECT_GRADCHECK([](auto& in) { return mse(in[0], in[1]); }, {a, b});
}

}  // namespace
}  // namespace xgd
