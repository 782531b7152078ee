// conv2d against PyTorch (fixtures from tests/reference/ops_conv.py): output and the input,
// weight and bias gradients of every case.
// Tolerances: each element is a sum of L products (L = C_in/groups·KH·KW for the output,
// C_out/groups·KH·KW for d input, N·OH·OW for d weight and d bias) accumulated in a different
// order than PyTorch's oneDNN/im2col kernels; both orders are within ~L·eps of the exact sum
// relative to the magnitude of the terms, so atol = rtol = 2·L·eps of the fixture's dtype.
#include <gtest/gtest.h>

#include <limits>

#include "engine/ops/conv.h"
#include "tests/support/fixture.h"

namespace xgd {
namespace {

Conv2dParams params_of(const test::Fixture& f) {
  Conv2dParams p;
  auto s = f.ints("stride"), pad = f.ints("padding"), d = f.ints("dilation");
  p.stride = {s.at(0), s.at(1)};
  p.padding = {pad.at(0), pad.at(1)};
  p.dilation = {d.at(0), d.at(1)};
  p.groups = f.ints("groups").at(0);
  return p;
}

TEST(ConvReference, Conv2dForwardAndGradients) {
  const auto cases = test::fixture_cases("conv2d");
  EXPECT_GE(cases.size(), 20u);  // every case of ops_conv.py is present
  for (const auto& c : cases) {
    test::Fixture f = test::load_fixture("conv2d", c);
    SCOPED_TRACE(f.path);
    const Conv2dParams p = params_of(f);
    const bool has_bias = f.flag("bias");
    ASSERT_EQ(has_bias, f.has("bias"));
    Tensor x = f["x"].clone().detach().requires_grad_();
    Tensor w = f["weight"].clone().detach().requires_grad_();
    Tensor b = has_bias ? f["bias"].clone().detach().requires_grad_() : Tensor();
    Tensor out = conv2d(x, w, b, p);
    ASSERT_EQ(out.shape(), f["out"].shape());

    const double eps = x.dtype() == DType::F64 ? std::numeric_limits<double>::epsilon()
                                               : std::numeric_limits<float>::epsilon();
    const Shape& ws = w.shape();
    const double L_out = double(ws[1] * ws[2] * ws[3]);
    const double L_dx = double(ws[0] / p.groups * ws[2] * ws[3]);
    const double L_dw = double(out.size(0) * out.size(2) * out.size(3));
    EXPECT_ALL_CLOSE(out, f["out"], 2 * L_out * eps, 2 * L_out * eps);

    out.backward(f["grad_out"]);
    EXPECT_ALL_CLOSE(x.grad(), f["grad_x"], 2 * L_dx * eps, 2 * L_dx * eps);
    EXPECT_ALL_CLOSE(w.grad(), f["grad_weight"], 2 * L_dw * eps, 2 * L_dw * eps);
    if (has_bias) {
      EXPECT_ALL_CLOSE(b.grad(), f["grad_bias"], 2 * L_dw * eps, 2 * L_dw * eps);
    }
  }
}

}  // namespace
}  // namespace xgd
