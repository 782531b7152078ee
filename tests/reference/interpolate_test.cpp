// Bilinear resizing against PyTorch (fixtures from tests/reference/ops_interpolate.py).
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/interpolate.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixture.h"

namespace xgd {
namespace {

using test::Fixture;

using test::expect_error;

TEST(InterpolateErrors, BadInputs) {
  Tensor x = Tensor::zeros({1, 2, 5, 5});
  expect_error(
      [&] {
        interpolate_bilinear(Tensor::zeros({2, 5, 5}), 4, 4, false);
      },
      {"interpolate_bilinear", "4-d", "[2, 5, 5]"});
  expect_error([&] { interpolate_bilinear(x, 0, 4, true); },
               {"interpolate_bilinear", "output size must be positive", "[0, 4]"});
  expect_error([&] { interpolate_bilinear_scale(x, 0.1, 2.0, false); },
               {"interpolate_bilinear_scale", "empty output", "[0, 10]"});
  expect_error([&] { interpolate_bilinear_scale(x, -2.0, 2.0, false); },
               {"interpolate_bilinear_scale", "positive"});
  expect_error(
      [&] {
        interpolate_bilinear(Tensor::zeros({1, 1, 0, 4}), 2, 2, false);
      },
      {"interpolate_bilinear", "non-empty"});
}

// The backward gathers each input row in one thread in a fixed order: bit-identical results
// for 1 and 2 threads (the shape is large enough to take the parallel path).
TEST(InterpolateReference, BackwardDeterministicAcrossThreads) {
  Tensor x = Tensor::from_vector(std::vector<double>(2 * 40 * 40, 0.5), {1, 2, 40, 40});
  std::vector<double> g(2 * 160 * 160);
  for (size_t i = 0; i < g.size(); ++i) g[i] = std::sin(0.37 * static_cast<double>(i));
  Tensor dy = Tensor::from_vector(g, {1, 2, 160, 160});
  std::vector<std::vector<double>> grads;
  const int saved = omp_get_max_threads();
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    Tensor xl = x.clone().detach().requires_grad_();
    interpolate_bilinear(xl, 160, 160, false).backward(dy);
    grads.push_back(xl.grad().to_vector());
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(grads[0], grads[1]);
}

TEST(InterpolateReference, Bilinear) {
  for (auto& c : test::fixture_cases("interpolate_bilinear")) {
    Fixture f = test::load_fixture("interpolate_bilinear", c);
    SCOPED_TRACE(f.path);
    const bool ac = f.flag("align_corners");
    Tensor x = f["x"].clone().detach().requires_grad_();
    Tensor out;
    if (f.metadata.count("size")) {
      auto size = f.ints("size");
      out = interpolate_bilinear(x, size[0], size[1], ac);
    } else {
      out = interpolate_bilinear_scale(x, f.number("scale_h"), f.number("scale_w"), ac);
    }
    out.backward(f["grad_out"]);
    if (x.dtype() == DType::F64) {
      // Same formula in double on both sides: a few roundings of O(1) values.
      EXPECT_ALL_CLOSE(out, f["out"], 1e-14, 1e-14);
      EXPECT_ALL_CLOSE(x.grad(), f["grad_x"], 1e-13, 1e-13);
    } else {
      // Weights and blends are computed in float32 with ATen's formulas and order of
      // operations: a few ulp of |x| <= ~4 (atol 1e-6, rtol 1e-6). The gradient sums up to
      // ~8×8 weighted dy per input (×4 upsampling), in a different order than PyTorch's
      // scatter: 64 roundings of values <= ~4·... (atol 1e-5, rtol 1e-5).
      EXPECT_ALL_CLOSE(out, f["out"], 1e-6, 1e-6);
      EXPECT_ALL_CLOSE(x.grad(), f["grad_x"], 1e-5, 1e-5);
    }
  }
}

}  // namespace
}  // namespace xgd
