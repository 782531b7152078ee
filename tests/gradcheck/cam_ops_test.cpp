// Float64 finite-difference checks of the Grad-CAM weighting ops (engine/ops/cam.h). Random
// inputs keep every map value and every min/max away from ties and from the ReLU's kink by far
// more than eps = 1e-6, so the arg-extrema and the ReLU mask are stable under perturbation.
#include <gtest/gtest.h>

#include "engine/ops/cam.h"
#include "tests/support/gradcheck.h"

namespace xgd {
namespace {

using test::random_f64;

TEST(CamOpsGradcheck, ChannelWeights) {
  for (const Shape& s : {Shape{2, 3, 4, 5}, Shape{1, 2, 1, 1}, Shape{1, 1, 7, 3}})
    EXPECT_GRADCHECK([](auto& in) { return cam_channel_weights(in[0]); }, {random_f64(s, 1)});
}

TEST(CamOpsGradcheck, WeightedSumReluInActivations) {
  Tensor A = random_f64({2, 3, 4, 5}, 2);
  Tensor wc = random_f64({2, 3, 1, 1}, 3, -1, 1, false);
  Tensor wp = random_f64({2, 3, 4, 5}, 4, -1, 1, false);
  for (const Tensor& w : {wc, wp})
    EXPECT_GRADCHECK([&](auto& in) { return cam_weighted_sum_relu(in[0], w); }, {A});
}

TEST(CamOpsGradcheck, MinmaxNormaliseIncludingMinAndMax) {
  // The min and max entries get dy/D plus the gradient through min/max: a wrong formula for
  // either shows at those two elements.
  for (const Shape& s : {Shape{2, 4, 5}, Shape{3, 7}, Shape{1, 2, 3, 3}})
    for (double eps : {1e-7, 0.5})
      EXPECT_GRADCHECK([eps](auto& in) { return minmax_normalise(in[0], eps); },
                       {random_f64(s, 5, 0.0, 2.0)});
}

TEST(CamOpsGradcheck, GradCamPipeline) {
  // minmax(relu(Σ α_k A_k)), α fixed: the first-order map of xgd/cam.cpp.
  Tensor A = random_f64({2, 4, 5, 6}, 6);
  Tensor alpha = random_f64({2, 4, 1, 1}, 7, -1, 1, false);
  EXPECT_GRADCHECK(
      [&](auto& in) { return minmax_normalise(cam_weighted_sum_relu(in[0], alpha), 1e-7); }, {A});
}

}  // namespace
}  // namespace xgd
