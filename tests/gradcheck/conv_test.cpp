// Float64 finite-difference checks of conv2d's input, weight and bias gradients in every mode:
// dense (odd sizes, stride, ph != pw, dilation), groups, depthwise ×1/×2 (incl. ASPP-style
// dilation = padding larger than the map), 1×1 (direct GEMM) and 1×1 stride 2.
#include <gtest/gtest.h>

#include "engine/ops/conv.h"
#include "tests/support/gradcheck.h"

namespace xgd {
namespace {

using test::random_f64;

struct Mode {
  const char* name;
  Shape x, w;
  Conv2dParams p;
};

TEST(ConvGradcheck, InputWeightBiasEveryMode) {
  const Mode modes[] = {
      {"dense_odd_p1", {2, 3, 5, 6}, {4, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}},
      {"dense_s2_p2x1_k3x2", {1, 2, 7, 6}, {3, 2, 3, 2}, {{2, 2}, {2, 1}, {1, 1}, 1}},
      {"dense_s1x2_dil2x3", {2, 2, 7, 8}, {3, 2, 3, 3}, {{1, 2}, {2, 3}, {2, 3}, 1}},
      {"dense_dil12_p12", {1, 2, 6, 5}, {2, 2, 3, 3}, {{1, 1}, {12, 12}, {12, 12}, 1}},
      {"groups2", {2, 4, 5, 5}, {6, 2, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 2}},
      {"groups3_s2", {1, 6, 6, 5}, {3, 2, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, 3}},
      {"depthwise_m1", {2, 3, 6, 5}, {3, 1, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 3}},
      {"depthwise_m2_s2", {1, 3, 7, 6}, {6, 1, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, 3}},
      {"depthwise_dil2_p2", {2, 2, 6, 7}, {2, 1, 3, 3}, {{1, 1}, {2, 2}, {2, 2}, 2}},
      {"depthwise_dil12_p12", {1, 2, 5, 6}, {4, 1, 3, 3}, {{1, 1}, {12, 12}, {12, 12}, 2}},
      {"pointwise_1x1", {2, 4, 3, 5}, {3, 4, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, 1}},
      {"pointwise_1x1_groups2", {1, 4, 3, 4}, {2, 2, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, 2}},
      {"downsample_1x1_s2", {2, 3, 5, 6}, {4, 3, 1, 1}, {{2, 2}, {0, 0}, {1, 1}, 1}},
  };
  uint64_t seed = 100;
  for (const Mode& m : modes) {
    SCOPED_TRACE(m.name);
    Tensor x = random_f64(m.x, seed++), w = random_f64(m.w, seed++);
    Tensor b = random_f64({m.w[0]}, seed++);
    const Conv2dParams p = m.p;
    EXPECT_GRADCHECK([p](auto& in) { return conv2d(in[0], in[1], in[2], p); }, {x, w, b});
    EXPECT_GRADCHECK([p](auto& in) { return conv2d(in[0], in[1], Tensor(), p); }, {x, w});
  }
}

// Only some inputs require grad: the backward computes (and saves) only what is needed.
TEST(ConvGradcheck, PartialRequiresGrad) {
  Tensor x = random_f64({1, 2, 5, 5}, 7), w = random_f64({3, 2, 3, 3}, 8, -1, 1, false);
  Tensor b = random_f64({3}, 9, -1, 1, false);
  Conv2dParams p{{2, 1}, {1, 0}, {1, 1}, 1};
  EXPECT_GRADCHECK([p](auto& in) { return conv2d(in[0], in[1], in[2], p); }, {x, w, b});
  Tensor x2 = random_f64({1, 2, 5, 5}, 10, -1, 1, false), w2 = random_f64({3, 2, 3, 3}, 11);
  EXPECT_GRADCHECK([p](auto& in) { return conv2d(in[0], in[1], in[2], p); }, {x2, w2, b});
}

}  // namespace
}  // namespace xgd
