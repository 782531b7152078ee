// Pooling ops against PyTorch (fixtures from tests/reference/ops_pool.py).
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "engine/ops/pool.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixture.h"

namespace xgd {
namespace {

using test::Fixture;

using test::expect_error;

bool is_f64(const Fixture& f) {
  return f["x"].dtype() == DType::F64;
}

Pool2dParams params_of(const Fixture& f) {
  Pool2dParams p;
  auto k = f.ints("kernel"), s = f.ints("stride"), pad = f.ints("padding");
  p.kernel = {k[0], k[1]};
  p.stride = {s[0], s[1]};
  p.padding = {pad[0], pad[1]};
  p.ceil_mode = f.flag("ceil_mode");
  if (f.metadata.count("count_include_pad")) p.count_include_pad = f.flag("count_include_pad");
  return p;
}

// Runs out = fn(x), backward with grad_out; compares out and grad_x.
template <class Fn>
void check(const Fixture& f, Fn fn, double atol_out, double rtol_out, double atol_grad,
           double rtol_grad) {
  SCOPED_TRACE(f.path);
  Tensor x = f["x"].clone().detach().requires_grad_();
  Tensor out = fn(x);
  EXPECT_ALL_CLOSE(out, f["out"], atol_out, rtol_out);
  out.backward(f["grad_out"]);
  EXPECT_ALL_CLOSE(x.grad(), f["grad_x"], atol_grad, rtol_grad);
}

TEST(PoolErrors, BadInputs) {
  Tensor x = Tensor::zeros({1, 2, 5, 5});
  Pool2dParams p;
  p.kernel = {3, 3};
  expect_error(
      [&] {
        max_pool2d(Tensor::zeros({2, 5, 5}), p);
      },
      {"max_pool2d", "4-d", "[2, 5, 5]"});
  expect_error([&] { avg_pool2d(Tensor::zeros({2, 5, 5}), p); }, {"avg_pool2d", "4-d"});
  expect_error(
      [&] {
        max_pool2d(Tensor::zeros({1, 1, 2, 2}), p);
      },
      {"max_pool2d", "output size is too small", "[1, 1, 2, 2]"});  // kernel > input
  Pool2dParams pad = p;
  pad.padding = {2, 2};
  expect_error([&] { avg_pool2d(x, pad); }, {"avg_pool2d", "at most half", "pad [2, 2]"});
  Pool2dParams zero_k = p;
  zero_k.kernel = {0, 3};
  expect_error([&] { max_pool2d(x, zero_k); }, {"max_pool2d", "kernel size must be positive"});
  Pool2dParams neg_s = p;
  neg_s.stride = {-1, 1};
  expect_error([&] { avg_pool2d(x, neg_s); }, {"avg_pool2d", "stride"});
  expect_error(
      [&] {
        max_pool2d(Tensor::zeros({1, 2, 5, 5}, DType::I64), p);
      },
      {"max_pool2d", "float32 or float64"});
  expect_error([&] { max_pool2d(Tensor::zeros({1, 0, 5, 5}), p); }, {"max_pool2d", "non-empty"});
  expect_error([&] { adaptive_avg_pool2d(x, 0, 3); },
               {"adaptive_avg_pool2d", "output size must be positive", "[0, 3]"});
  expect_error(
      [&] {
        adaptive_avg_pool2d(Tensor::zeros({5, 5}), 1, 1);
      },
      {"adaptive_avg_pool2d", "4-d"});
}

// Without autograd, max_pool2d skips the argmax indices; the values must not change.
TEST(PoolReference, MaxPool2dNoGradSameValues) {
  Fixture f = test::load_fixture("max_pool2d", "resnet_stem");
  autograd::NoGradGuard no_grad;
  EXPECT_ALL_CLOSE(max_pool2d(f["x"], params_of(f)), f["out"], 0, 0);
}

TEST(PoolReference, MaxPool2d) {
  for (auto& c : test::fixture_cases("max_pool2d")) {
    Fixture f = test::load_fixture("max_pool2d", c);
    Pool2dParams p = params_of(f);
    // The max is a selection: bit-exact. Its gradient sums the dy of the <= 4 overlapping
    // windows whose first maximum it is, in the same order as PyTorch: exact too, with 1 ulp
    // of slack for float32 (none needed in float64 beyond 1e-15).
    const double r = is_f64(f) ? 1e-15 : 1.2e-7;
    check(
        f, [&](const Tensor& x) { return max_pool2d(x, p); }, 0, 0, 0, r);
  }
}

TEST(PoolReference, AvgPool2d) {
  for (auto& c : test::fixture_cases("avg_pool2d")) {
    Fixture f = test::load_fixture("avg_pool2d", c);
    Pool2dParams p = params_of(f);
    // <= 9-element window sums: we add in double, PyTorch in float32, so outputs differ by
    // <= 9 float32 roundings of |x| ~ 3 (atol 2e-6, rtol 1e-6). Gradients are dy/divisor summed
    // over <= 4 windows. float64: both sides round ~1e-16 per op.
    if (is_f64(f))
      check(
          f, [&](const Tensor& x) { return avg_pool2d(x, p); }, 1e-14, 1e-13, 1e-14, 1e-13);
    else
      check(
          f, [&](const Tensor& x) { return avg_pool2d(x, p); }, 2e-6, 1e-6, 1e-6, 1e-6);
  }
}

TEST(PoolReference, AdaptiveAvgPool2d) {
  for (auto& c : test::fixture_cases("adaptive_avg_pool2d")) {
    Fixture f = test::load_fixture("adaptive_avg_pool2d", c);
    auto out = f.ints("out");
    // Bins hold up to 13·17 = 221 elements (bin 1×1). PyTorch sums in float32: its error is
    // ~sqrt(221)·eps·|x| ≈ 2e-6 on sums of |x| <= ~4, divided by the count; we sum in double.
    // Gradients are dy/count summed over <= 4 overlapping bins (1e-6).
    if (is_f64(f))
      check(
          f, [&](const Tensor& x) { return adaptive_avg_pool2d(x, out[0], out[1]); }, 1e-14, 1e-13,
          1e-14, 1e-13);
    else
      check(
          f, [&](const Tensor& x) { return adaptive_avg_pool2d(x, out[0], out[1]); }, 2e-6, 1e-6,
          1e-6, 1e-6);
  }
}

}  // namespace
}  // namespace xgd
