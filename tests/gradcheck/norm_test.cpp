// Float64 finite-difference checks of batch_norm2d's backward: training mode (through the batch
// mean and variance) w.r.t. x, weight and bias, and eval mode (running statistics).
#include <gtest/gtest.h>

#include "engine/ops/norm.h"
#include "tests/support/gradcheck.h"

namespace xgd {
namespace {

using test::random_f64;

BatchNormState running_state(int64_t c) {
  BatchNormState s;
  s.running_mean = random_f64({c}, 10, -0.5, 0.5, false);
  s.running_var = random_f64({c}, 11, 0.5, 2.0, false);
  s.num_batches_tracked = Tensor::zeros({}, DType::I64);
  return s;
}

TEST(NormGradcheck, BatchNorm2dTrain) {
  Tensor x = random_f64({3, 4, 3, 5}, 1);
  Tensor w = random_f64({4}, 2, 0.5, 1.5), b = random_f64({4}, 3);
  // Each evaluation updates the running stats; the training output does not read them.
  BatchNormState s = running_state(4);
  EXPECT_GRADCHECK([&](auto& in) { return batch_norm2d(in[0], in[1], in[2], s, true); }, {x, w, b});
  BatchNormState none;  // track_running_stats=False
  EXPECT_GRADCHECK(
      [&](auto& in) { return batch_norm2d(in[0], Tensor(), Tensor(), none, true, 0.1, 1e-3); },
      {x});
  Tensor x1 = random_f64({1, 2, 2, 3}, 4);  // N = 1, H·W > 1
  Tensor w1 = random_f64({2}, 5, 0.5, 1.5), b1 = random_f64({2}, 6);
  EXPECT_GRADCHECK([&](auto& in) { return batch_norm2d(in[0], in[1], in[2], none, true); },
                   {x1, w1, b1});
}

TEST(NormGradcheck, BatchNorm2dEval) {
  Tensor x = random_f64({2, 4, 3, 3}, 7);
  Tensor w = random_f64({4}, 8, 0.5, 1.5), b = random_f64({4}, 9);
  BatchNormState s = running_state(4);
  EXPECT_GRADCHECK([&](auto& in) { return batch_norm2d(in[0], in[1], in[2], s, false); },
                   {x, w, b});
  EXPECT_GRADCHECK([&](auto& in) { return batch_norm2d(in[0], Tensor(), Tensor(), s, false); },
                   {x});
}

}  // namespace
}  // namespace xgd
