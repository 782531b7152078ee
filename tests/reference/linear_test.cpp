// matmul and linear against PyTorch (fixtures from tests/reference/ops_linear.py), and their
// input validation.
//
// Tolerance: a length-L dot product in precision eps differs between two correct summation
// orders by a few ·√L·eps relative in practice and at most ~L·eps·Σ|a·b| (Higham); with
// randn inputs Σ|a·b| is within a small factor of |result|, so atol = rtol = 2·L·eps, L the
// longest reduction of the case (its largest dim), covers both engines' rounding while a wrong
// element or transpose is off by O(1).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <limits>

#include "engine/autograd.h"
#include "engine/ops/linear.h"
#include "tests/support/fixture.h"

namespace xgd {
namespace {

using test::Fixture;

double tolerance(const Fixture& f, const std::vector<std::string>& names) {
  int64_t longest = 1;
  for (auto& n : names)
    if (f.has(n))
      for (int64_t d : f[n].shape()) longest = std::max(longest, d);
  const double eps = f[names[0]].dtype() == DType::F64 ? std::numeric_limits<double>::epsilon()
                                                       : std::numeric_limits<float>::epsilon();
  return 2.0 * double(longest) * eps;
}

// Runs out = fn(inputs present in the fixture), backward with grad_out, compares everything.
void check_case(const Fixture& f, const std::vector<std::string>& names,
                const std::function<Tensor(const std::vector<Tensor>&)>& fn) {
  SCOPED_TRACE(f.path);
  std::vector<Tensor> inputs;
  for (auto& n : names)
    inputs.push_back(f.has(n) ? f[n].clone().detach().requires_grad_() : Tensor());
  const double tol = tolerance(f, names);
  Tensor out = fn(inputs);
  ASSERT_EQ(out.shape(), f["out"].shape());
  EXPECT_ALL_CLOSE(out, f["out"], tol, tol);
  out.backward(f["grad_out"]);
  for (size_t i = 0; i < names.size(); ++i) {
    if (!inputs[i].defined()) continue;  // absent bias
    EXPECT_ALL_CLOSE(inputs[i].grad(), f["grad_" + names[i]], tol, tol);
  }
}

TEST(LinearReference, Matmul) {
  for (auto& c : test::fixture_cases("matmul"))
    check_case(test::load_fixture("matmul", c), {"a", "b"},
               [](auto& in) { return matmul(in[0], in[1]); });
}

TEST(LinearReference, Linear) {
  auto cases = test::fixture_cases("linear");
  int without_bias = 0;
  for (auto& c : cases) {
    Fixture f = test::load_fixture("linear", c);
    without_bias += !f.has("bias");
    check_case(f, {"x", "weight", "bias"}, [](auto& in) { return linear(in[0], in[1], in[2]); });
  }
  EXPECT_GE(without_bias, 2);  // the no-bias path is among the fixtures
}

// Only the tensors that require grad get one, and forward under NoGrad records nothing.
TEST(LinearReference, GradOnlyWhereRequired) {
  Fixture f = test::load_fixture("linear", "bias");
  Tensor x = f["x"].clone().detach().requires_grad_(), w = f["weight"], b = f["bias"];
  Tensor y = linear(x, w, b);
  y.backward(f["grad_out"]);
  EXPECT_ALL_CLOSE(x.grad(), f["grad_x"], 1e-5, 1e-5);
  EXPECT_FALSE(w.grad().defined());
  autograd::NoGradGuard guard;
  EXPECT_FALSE(linear(x, w, b).requires_grad());
}

void expect_error(const std::function<void()>& fn, const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << "no xgd::Error; expected one mentioning '" << what << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

TEST(LinearErrors, MatmulBadInputs) {
  Tensor a = Tensor::zeros({3, 4}), b = Tensor::zeros({5, 2});
  expect_error([&] { matmul(a, b); }, "matmul: inner dimensions differ: [3, 4] · [5, 2]");
  expect_error([&] { matmul(Tensor::zeros({4}), Tensor::zeros({4, 2})); }, "matmul: expected");
  expect_error(
      [&] {
        matmul(Tensor::zeros({1, 2, 3, 4}), Tensor::zeros({1, 2, 4, 3}));
      },
      "matmul: expected");
  expect_error(
      [&] {
        matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({4, 2}));
      },
      "matmul: expected");
  expect_error(
      [&] {
        matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4, 2}));
      },
      "matmul: batch sizes differ: [2, 3, 4] · [3, 4, 2]");
  expect_error(
      [&] {
        matmul(Tensor::zeros({3, 4}), Tensor::zeros({4, 2}, DType::F64));
      },
      "matmul: dtypes differ");
  expect_error(
      [&] {
        matmul(Tensor::zeros({3, 4}, DType::I64), Tensor::zeros({4, 2}, DType::I64));
      },
      "matmul: a must be float32 or float64");
  expect_error([&] { matmul(Tensor(), b); }, "matmul: a is undefined");
}

TEST(LinearErrors, LinearBadInputs) {
  Tensor x = Tensor::zeros({5, 7}), w = Tensor::zeros({3, 7}), b = Tensor::zeros({3});
  expect_error(
      [&] {
        linear(Tensor::zeros({5, 6}), w, b);
      },
      "linear: input [5, 6] has 6 features but weight [3, 7] expects 7");
  expect_error([&] { linear(x, Tensor::zeros({7}), b); }, "linear: weight must be 2-d");
  expect_error([&] { linear(x, Tensor::zeros({1, 3, 7}), b); }, "linear: weight must be 2-d");
  expect_error([&] { linear(x, w, Tensor::zeros({4})); }, "linear: bias must be [3]");
  expect_error([&] { linear(x, w, Tensor::zeros({1, 3})); }, "linear: bias must be [3]");
  expect_error([&] { linear(Tensor::scalar(1.0), w, b); }, "linear: input must have at least 1");
  expect_error([&] { linear(x, Tensor::zeros({3, 7}, DType::F64), b); }, "linear: dtypes differ");
  expect_error([&] { linear(x, w, Tensor::zeros({3}, DType::F64)); }, "linear: dtypes differ");
  expect_error(
      [&] {
        linear(Tensor::zeros({5, 7}, DType::U8), w, b);
      },
      "linear: input must be float32 or float64");
}

}  // namespace
}  // namespace xgd
