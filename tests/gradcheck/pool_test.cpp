// Float64 finite-difference checks of the pooling backwards. Random inputs in (-1, 1) have no
// ties within eps, so max_pool2d's argmax is stable under the ±1e-6 perturbations.
#include <gtest/gtest.h>

#include "engine/ops/pool.h"
#include "tests/support/gradcheck.h"

namespace xgd {
namespace {

using test::random_f64;

Pool2dParams params(std::array<int64_t, 2> k, std::array<int64_t, 2> s, std::array<int64_t, 2> p,
                    bool ceil, bool include_pad = true) {
  Pool2dParams q;
  q.kernel = k;
  q.stride = s;
  q.padding = p;
  q.ceil_mode = ceil;
  q.count_include_pad = include_pad;
  return q;
}

TEST(PoolGradcheck, MaxPool2d) {
  Tensor x = random_f64({2, 2, 7, 9}, 1);
  for (const Pool2dParams& p :
       {params({3, 3}, {2, 2}, {1, 1}, false), params({3, 3}, {2, 2}, {0, 0}, true),
        params({3, 2}, {1, 2}, {1, 0}, false), params({2, 2}, {2, 2}, {1, 1}, true)})
    EXPECT_GRADCHECK([&](auto& in) { return max_pool2d(in[0], p); }, {x});
}

TEST(PoolGradcheck, AvgPool2d) {
  Tensor x = random_f64({2, 2, 6, 7}, 2);
  for (bool include : {true, false})
    for (const Pool2dParams& p : {params({3, 3}, {2, 2}, {1, 1}, false, include),
                                  params({3, 3}, {2, 2}, {1, 1}, true, include),
                                  params({2, 3}, {1, 2}, {1, 1}, true, include),
                                  params({2, 2}, {0, 0}, {0, 0}, false, include)})
      EXPECT_GRADCHECK([&](auto& in) { return avg_pool2d(in[0], p); }, {x});
}

TEST(PoolGradcheck, AdaptiveAvgPool2d) {
  Tensor x = random_f64({1, 2, 7, 9}, 3);
  for (auto [oh, ow] : {std::pair<int64_t, int64_t>{1, 1}, {2, 2}, {3, 4}, {6, 6}, {9, 11}})
    EXPECT_GRADCHECK([&](auto& in) { return adaptive_avg_pool2d(in[0], oh, ow); }, {x});
}

}  // namespace
}  // namespace xgd
