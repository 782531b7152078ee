// batch_norm2d against nn.BatchNorm2d (fixtures from tests/reference/ops_norm.py), including the
// in-place updates of running_mean, running_var and num_batches_tracked.
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "engine/ops/norm.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixture.h"

namespace xgd {
namespace {

using test::Fixture;

using test::expect_error;

TEST(NormErrors, BadInputs) {
  Tensor x = Tensor::zeros({2, 3, 4, 4});
  Tensor w = Tensor::ones({3}), b = Tensor::zeros({3});
  BatchNormState none;
  BatchNormState s{Tensor::zeros({3}), Tensor::ones({3}), Tensor::zeros({}, DType::I64)};
  expect_error([&] { batch_norm2d(x, Tensor::ones({4}), b, s, true); },
               {"batch_norm2d", "weight", "[4]", "3 channels", "[2, 3, 4, 4]"});
  expect_error(
      [&] {
        batch_norm2d(x, w, Tensor::zeros({3, 1}), s, true);
      },
      {"batch_norm2d", "bias"});
  BatchNormState bad_rm{Tensor::zeros({2}), Tensor::ones({3}), Tensor()};
  expect_error([&] { batch_norm2d(x, w, b, bad_rm, true); },
               {"batch_norm2d", "running_mean", "[2]", "3 channels"});
  BatchNormState half{Tensor::zeros({3}), Tensor(), Tensor()};
  expect_error([&] { batch_norm2d(x, w, b, half, true); }, {"batch_norm2d", "together"});
  expect_error([&] { batch_norm2d(x, w, b, none, false); },
               {"batch_norm2d", "must be defined in evaluation mode"});
  expect_error(
      [&] {
        batch_norm2d(Tensor::zeros({2, 3, 4}), w, b, s, true);
      },
      {"batch_norm2d", "4-d", "[2, 3, 4]"});
  expect_error(
      [&] {
        batch_norm2d(Tensor::zeros({1, 3, 1, 1}), w, b, s, true);
      },
      {"batch_norm2d", "Expected more than 1 value per channel when training", "[1, 3, 1, 1]"});
  BatchNormState bad_nbt{Tensor::zeros({3}), Tensor::ones({3}), Tensor::zeros({})};
  expect_error([&] { batch_norm2d(x, w, b, bad_nbt, true); },
               {"batch_norm2d", "num_batches_tracked"});
  expect_error([&] { batch_norm2d(x, w.to(DType::F64), b, s, true); }, {"batch_norm2d"});
  // A single value per channel is fine in eval mode (no variance is estimated).
  EXPECT_NO_THROW(batch_norm2d(Tensor::zeros({1, 3, 1, 1}), w, b, s, false));
}

// The running-stat update writes the buffers in place without autograd history, and eval mode
// leaves them untouched.
TEST(NormReference, RunningStatsOutsideAutograd) {
  Fixture f = test::load_fixture("batch_norm2d", "train");
  Tensor x = f["x"].clone().detach().requires_grad_();
  Tensor w = f["weight"].clone().detach().requires_grad_();
  BatchNormState s{f["running_mean"].clone().detach(), f["running_var"].clone().detach(),
                   f["num_batches_tracked"].clone()};
  Tensor out = batch_norm2d(x, w, Tensor(), s, true);
  EXPECT_TRUE(out.requires_grad());
  EXPECT_FALSE(s.running_mean.requires_grad());
  EXPECT_EQ(s.running_mean.grad_fn(), nullptr);
  EXPECT_EQ(s.running_var.grad_fn(), nullptr);
  EXPECT_ALL_CLOSE(s.running_mean, f["new_running_mean"], 2e-6, 1e-6);
  std::vector<double> mean = s.running_mean.to_vector(), var = s.running_var.to_vector();
  batch_norm2d(x, w, Tensor(), s, false);
  EXPECT_EQ(s.running_mean.to_vector(), mean);
  EXPECT_EQ(s.running_var.to_vector(), var);
  EXPECT_EQ(s.num_batches_tracked.item(), f["num_batches_tracked"].item() + 1);
}

TEST(NormReference, BatchNorm2d) {
  for (auto& c : test::fixture_cases("batch_norm2d")) {
    Fixture f = test::load_fixture("batch_norm2d", c);
    SCOPED_TRACE(f.path);
    const bool training = f.flag("training");
    const bool affine = f.has("weight"), track = f.has("running_mean");
    Tensor x = f["x"].clone().detach().requires_grad_();
    Tensor w = affine ? f["weight"].clone().detach().requires_grad_() : Tensor();
    Tensor b = affine ? f["bias"].clone().detach().requires_grad_() : Tensor();
    BatchNormState state;
    if (track) {
      state.running_mean = f["running_mean"].clone();
      state.running_var = f["running_var"].clone();
      state.num_batches_tracked = f["num_batches_tracked"].clone();
    }
    Tensor out = batch_norm2d(x, w, b, state, training, f.number("momentum"), f.number("eps"));
    out.backward(f["grad_out"]);
    const bool f64 = x.dtype() == DType::F64;
    // float32: statistics are accumulated in double on both sides; the output is one float32
    // multiply-add of |x·alpha| <= ~5 (atol 2e-6, rtol 1e-6). grad_x combines per-channel
    // sums over N·H·W <= 140 values with three float32 roundings per element, grad_weight and
    // grad_bias are those sums (atol 1e-5, rtol 1e-5). float64: 1e-12.
    const double a_out = f64 ? 1e-12 : 2e-6, r_out = f64 ? 1e-12 : 1e-6;
    const double a_grad = f64 ? 1e-12 : 1e-5, r_grad = f64 ? 1e-12 : 1e-5;
    EXPECT_ALL_CLOSE(out, f["out"], a_out, r_out);
    EXPECT_ALL_CLOSE(x.grad(), f["grad_x"], a_grad, r_grad);
    if (affine) {
      EXPECT_ALL_CLOSE(w.grad(), f["grad_weight"], a_grad, r_grad);
      EXPECT_ALL_CLOSE(b.grad(), f["grad_bias"], a_grad, r_grad);
    }
    if (track) {
      // One momentum blend of statistics computed in double: a float32 rounding (1e-6).
      EXPECT_ALL_CLOSE(state.running_mean, f["new_running_mean"], a_out, r_out);
      EXPECT_ALL_CLOSE(state.running_var, f["new_running_var"], a_out, r_out);
      EXPECT_EQ(state.num_batches_tracked.item(), f["new_num_batches_tracked"].item());
      EXPECT_EQ(state.num_batches_tracked.item(),
                f["num_batches_tracked"].item() + (training ? 1 : 0));
    }
  }
}

}  // namespace
}  // namespace xgd
