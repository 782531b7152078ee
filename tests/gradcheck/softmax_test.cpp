// Float64 finite-difference checks of softmax / log_softmax backward: the class dim of
// N×C×H×W (strided), the last dim (contiguous rows) and dim 0.
#include <gtest/gtest.h>

#include "engine/ops/softmax.h"
#include "tests/support/gradcheck.h"

namespace xgd {
namespace {

using test::random_f64;

TEST(SoftmaxGradcheck, Dims) {
  Tensor x = random_f64({2, 4, 3, 5}, 1, -3.0, 3.0);
  for (int64_t dim : {1, -1, 0}) {
    SCOPED_TRACE(dim);
    EXPECT_GRADCHECK([dim](auto& in) { return softmax(in[0], dim); }, {x});
    EXPECT_GRADCHECK([dim](auto& in) { return log_softmax(in[0], dim); }, {x});
  }
}

}  // namespace
}  // namespace xgd
