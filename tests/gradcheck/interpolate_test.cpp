// Float64 finite-difference checks of the bilinear resize backward (the op is linear in x,
// so central differences are exact up to rounding).
#include <gtest/gtest.h>

#include "engine/ops/interpolate.h"
#include "tests/support/gradcheck.h"

namespace xgd {
namespace {

using test::random_f64;

TEST(InterpolateGradcheck, BySize) {
  Tensor x = random_f64({2, 2, 5, 7}, 1);
  for (bool ac : {false, true})
    for (auto [oh, ow] : {std::pair<int64_t, int64_t>{11, 13}, {3, 4}, {1, 1}, {5, 9}})
      EXPECT_GRADCHECK([&](auto& in) { return interpolate_bilinear(in[0], oh, ow, ac); }, {x});
}

TEST(InterpolateGradcheck, ByScale) {
  Tensor x = random_f64({1, 2, 4, 6}, 2);
  for (bool ac : {false, true})
    for (auto [sh, sw] : {std::pair<double, double>{4.0, 4.0}, {2.5, 1.5}, {0.5, 0.7}, {1.3, 1.0}})
      EXPECT_GRADCHECK([&](auto& in) { return interpolate_bilinear_scale(in[0], sh, sw, ac); },
                       {x});
}

}  // namespace
}  // namespace xgd
