// Float64 finite-difference checks of dropout / dropout2d backward. Each evaluation uses a
// fresh generator with the same state, so the mask is fixed and the op is linear in x.
#include <gtest/gtest.h>

#include "engine/ops/dropout.h"
#include "tests/support/gradcheck.h"

namespace xgd {
namespace {

using test::random_f64;

TEST(DropoutGradcheck, FixedMask) {
  Tensor x = random_f64({2, 3, 4, 5}, 1);
  EXPECT_GRADCHECK(
      [](auto& in) {
        Generator gen(11, 3);
        return dropout(in[0], 0.4, true, gen);
      },
      {x});
  EXPECT_GRADCHECK(
      [](auto& in) {
        Generator gen(12, 0);
        return dropout2d(in[0], 0.5, true, gen);
      },
      {x});
  EXPECT_GRADCHECK(
      [](auto& in) {
        Generator gen(13);
        return dropout(in[0], 1.0, true, gen);
      },
      {x});
}

}  // namespace
}  // namespace xgd
