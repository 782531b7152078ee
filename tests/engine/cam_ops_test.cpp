// The fused Grad-CAM weighting ops (engine/ops/cam.h) on the CPU against the engine ops they
// replace in xgd/cam.cpp (mean, GradCAM++'s formula, relu(sum(mul)), min/max normalisation):
// values and gradients, the first-arg-extremum rule for ties, and errors.
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "tests/support/fixture.h"
#include "tests/support/gradcheck.h"

namespace xgd {
namespace {

using test::random_f64;

// Float64 composites vs fused: both sum in double, in different orders: a few ulps of O(1).
constexpr double kTol = 1e-13;

TEST(CamOps, ChannelWeightsEqualTheMean) {
  Tensor G = random_f64({2, 3, 5, 7}, 1, -1, 1, false);
  EXPECT_ALL_CLOSE(cam_channel_weights(G), mean(G, {2, 3}, true), kTol, kTol);
  Tensor g32 = G.to(DType::F32);
  EXPECT_ALL_CLOSE(cam_channel_weights(g32), mean(g32, {2, 3}, true), 1e-7, 1e-6);
}

TEST(CamOps, GradCamPlusPlusWeightsEqualTheFormula) {
  Tensor A = random_f64({2, 3, 4, 5}, 2, 0, 1, false);
  Tensor G = random_f64({2, 3, 4, 5}, 3, -1, 1, false);
  G.data<double>()[7] = 0;  // np.where(grads != 0, aij, 0)
  Tensor g2 = mul(G, G), g3 = mul(g2, G);
  Tensor aij = div(g2, add(add(mul(g2, 2.0), mul(sum(A, {2, 3}, true), g3)), 1e-6));
  Tensor ref = sum(mul(relu(G), aij), {2, 3}, true);
  EXPECT_ALL_CLOSE(gradcampp_channel_weights(A, G), ref, kTol, kTol);
}

TEST(CamOps, WeightedSumReluEqualsComposite) {
  for (bool pixel : {false, true}) {
    Tensor A = random_f64({2, 5, 3, 4}, 4);
    Tensor w = random_f64(pixel ? Shape{2, 5, 3, 4} : Shape{2, 5, 1, 1}, 5, -1, 1, false);
    Tensor dm = random_f64({2, 3, 4}, 6, -1, 1, false);
    Tensor fused = cam_weighted_sum_relu(A, w);
    Tensor ref = relu(sum(mul(w, A), {1}));
    EXPECT_ALL_CLOSE(fused, ref, kTol, kTol) << (pixel ? "pixel" : "channel");
    auto gf = autograd::grad({fused}, {A}, {dm})[0];
    auto gr = autograd::grad({ref}, {A}, {dm})[0];
    EXPECT_ALL_CLOSE(gf, gr, 0, 0) << "dA = relu_bwd(M, dM)·w exactly";
  }
}

TEST(CamOps, MinmaxNormaliseEqualsCompositeWithoutTies) {
  Tensor x = random_f64({3, 6, 7}, 7, 0, 2);
  Tensor dy = random_f64({3, 6, 7}, 8, -1, 1, false);
  Tensor fused = minmax_normalise(x, 1e-7);
  Tensor lo = min(x, {1, 2}, true), hi = max(x, {1, 2}, true);
  Tensor ref = div(sub(x, lo), add(sub(hi, lo), 1e-7));
  EXPECT_ALL_CLOSE(fused, ref, 0, 0) << "same operations in the same order";
  auto gf = autograd::grad({fused}, {x}, {dy})[0];
  auto gr = autograd::grad({ref}, {x}, {dy})[0];
  EXPECT_ALL_CLOSE(gf, gr, kTol, kTol);
}

TEST(CamOps, MinmaxGradientGoesToTheFirstArgExtremum) {
  // Image 0: min at 1 and 4, max at 2 and 5. Image 1: constant (min = max at index 0).
  Tensor x = Tensor::from_vector({1, 0, 3, 2, 0, 3, 5, 5, 5, 5, 5, 5}, {2, 6}, DType::F64)
                 .requires_grad_();
  Tensor y = minmax_normalise(x, 0.5);
  Tensor dy = Tensor::from_vector({1, 2, 3, 4, 5, 6, 1, 1, 1, 1, 1, 1}, {2, 6}, DType::F64);
  auto dx = autograd::grad({y}, {x}, {dy})[0].to_vector();
  // Image 0: D = 3.5, y = x/3.5, s0 = 21, s1 = (1 + 9 + 8 + 18)/3.5 = 36/3.5.
  const double D = 3.5, s0 = 21, s1 = 36 / D;
  const double expect0[] = {1 / D, 2 / D + (s1 - s0) / D, 3 / D - s1 / D, 4 / D, 5 / D, 6 / D};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(dx[i], expect0[i], 1e-12) << i;
  // Image 1: D = eps = 0.5, y = 0: s1 = 0, and index 0 is both argmin and argmax.
  EXPECT_NEAR(dx[6], 1 / 0.5 - 6 / 0.5, 1e-12);
  for (int i = 7; i < 12; ++i) EXPECT_NEAR(dx[i], 1 / 0.5, 1e-12) << i;
}

TEST(CamOps, Errors) {
  Tensor A = Tensor::ones({1, 2, 3, 3});
  EXPECT_THROW(cam_channel_weights(Tensor::ones({2, 3, 3})), Error);
  EXPECT_THROW(cam_weighted_sum_relu(A, Tensor::ones({1, 2, 1})), Error);
  EXPECT_THROW(cam_weighted_sum_relu(A, Tensor::ones({1, 2, 3, 1})), Error);
  EXPECT_THROW(cam_weighted_sum_relu(A, Tensor::ones({1, 2, 1, 1}, DType::F64)), Error);
  EXPECT_THROW(gradcampp_channel_weights(A, Tensor::ones({1, 2, 3, 4})), Error);
  EXPECT_THROW(minmax_normalise(Tensor::ones({0, 3}), 1e-7), Error);
  // Gradients that are not implemented are errors, never silent zeros.
  Tensor w = Tensor::ones({1, 2, 1, 1}).requires_grad_();
  Tensor m = cam_weighted_sum_relu(A, w);
  EXPECT_THROW(autograd::grad({sum(m)}, {w}), Error);
  Tensor G = Tensor::ones({1, 2, 3, 3}).requires_grad_();
  EXPECT_THROW(autograd::grad({sum(gradcampp_channel_weights(A, G))}, {G}), Error);
}

}  // namespace
}  // namespace xgd
