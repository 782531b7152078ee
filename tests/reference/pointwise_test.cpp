// Pointwise ops against PyTorch (fixtures from tests/reference/ops_pointwise.py).
// Tolerances: one float32 op is correctly rounded in both engines up to libm differences in
// exp/log/pow (<= 2 ulp), so atol 1e-6 + rtol 1e-6 (~8 ulp) on outputs; gradients compose two
// or three roundings (div: g·a/b²), rtol 1e-5.
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <map>

#include "engine/autograd.h"
#include "engine/ops/pointwise.h"
#include "tests/support/fixture.h"

namespace xgd {
namespace {

using test::Fixture;

// Runs out = fn(inputs), backward with the fixture's grad_out, and compares out and grads.
void check_case(const Fixture& f, const std::vector<std::string>& names,
                const std::function<Tensor(const std::vector<Tensor>&)>& fn, double rtol_grad) {
  SCOPED_TRACE(f.path);
  std::vector<Tensor> inputs;
  for (auto& n : names) inputs.push_back(f[n].clone().detach().requires_grad_());
  Tensor out = fn(inputs);
  EXPECT_ALL_CLOSE(out, f["out"], 1e-6, 1e-6);
  out.backward(f["grad_out"]);
  for (size_t i = 0; i < names.size(); ++i)
    EXPECT_ALL_CLOSE(inputs[i].grad(), f["grad_" + names[i]], 1e-6, rtol_grad);
}

TEST(PointwiseReference, BinaryBroadcast) {
  std::map<std::string, std::function<Tensor(const Tensor&, const Tensor&)>> ops = {
      {"add", [](auto& a, auto& b) { return add(a, b); }},
      {"sub", [](auto& a, auto& b) { return sub(a, b); }},
      {"mul", [](auto& a, auto& b) { return mul(a, b); }},
      {"div", [](auto& a, auto& b) { return div(a, b); }}};
  for (auto& [op, fn] : ops)
    for (auto& c : test::fixture_cases(op))
      check_case(test::load_fixture(op, c), {"a", "b"},
                 [&](const std::vector<Tensor>& in) { return fn(in[0], in[1]); }, 1e-5);
}

TEST(PointwiseReference, Scalar) {
  check_case(test::load_fixture("add_scalar", "basic"), {"a"},
             [](auto& in) { return add(in[0], 0.75); }, 1e-6);
  check_case(test::load_fixture("mul_scalar", "basic"), {"a"},
             [](auto& in) { return mul(in[0], -1.5); }, 1e-6);
  check_case(test::load_fixture("rsub_scalar", "basic"), {"a"},
             [](auto& in) { return 2.0 - in[0]; }, 1e-6);
  check_case(test::load_fixture("rdiv_scalar", "basic"), {"a"},
             [](auto& in) { return 2.5 / in[0]; }, 1e-5);
}

TEST(PointwiseReference, Unary) {
  std::map<std::string, std::function<Tensor(const Tensor&)>> ops = {
      {"exp", [](auto& a) { return exp(a); }},   {"log", [](auto& a) { return log(a); }},
      {"sqrt", [](auto& a) { return sqrt(a); }}, {"neg", [](auto& a) { return neg(a); }},
      {"abs", [](auto& a) { return abs(a); }},   {"relu", [](auto& a) { return relu(a); }},
      {"relu6", [](auto& a) { return relu6(a); }}};
  for (auto& [op, fn] : ops)
    for (auto& c : test::fixture_cases(op))
      check_case(test::load_fixture(op, c), {"a"}, [&](auto& in) { return fn(in[0]); }, 1e-5);
  for (auto& c : test::fixture_cases("pow")) {
    Fixture f = test::load_fixture("pow", c);
    double e = f.number("exponent");
    check_case(f, {"a"}, [&](auto& in) { return pow(in[0], e); }, 1e-5);
  }
  const double inf = std::numeric_limits<double>::infinity();
  for (auto& c : test::fixture_cases("clamp")) {
    Fixture f = test::load_fixture("clamp", c);
    double lo = f.metadata.count("lo") ? f.number("lo") : -inf;
    double hi = f.metadata.count("hi") ? f.number("hi") : inf;
    check_case(f, {"a"}, [&](auto& in) { return clamp(in[0], lo, hi); }, 1e-6);
  }
}

}  // namespace
}  // namespace xgd
