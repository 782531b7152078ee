// concat and slice against PyTorch (fixtures from tests/reference/ops_shape.py). Both are
// copies: forward and gradients are bit-exact (atol = rtol = 0).
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "engine/ops/shape_ops.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixture.h"

namespace xgd {
namespace {

using test::Fixture;

using test::expect_error;

TEST(ShapeOpsErrors, BadInputs) {
  Tensor a = Tensor::zeros({2, 3, 4}), b = Tensor::zeros({2, 5, 4});
  expect_error([&] { concat({a, b}, 2); }, {"concat", "tensors[1]", "[2, 5, 4]", "outside dim 2"});
  expect_error([&] { concat({a, Tensor::zeros({2, 3})}, 0); }, {"concat", "tensors[1]"});
  expect_error([&] { concat({}, 0); }, {"concat", "at least one"});
  expect_error([&] { concat({a, Tensor::zeros({2, 3, 4}, DType::F64)}, 0); }, {"concat"});
  expect_error([&] { concat({a, a}, 3); }, {"concat", "dim 3 out of range"});
  expect_error([&] { concat({a, Tensor()}, 0); }, {"concat"});
  expect_error([&] { slice(a, 1, 4, 5); }, {"slice", "start 4 out of range", "[2, 3, 4]"});
  expect_error([&] { slice(a, 1, -4, 2); }, {"slice", "start -4 out of range"});
  expect_error([&] { slice(a, 2, 3, 1); }, {"slice", "before start"});
  expect_error([&] { slice(a, 2, 0, -5); }, {"slice", "end -5 out of range"});
  expect_error([&] { slice(a, -4, 0, 1); }, {"slice", "dim -4 out of range"});
}

// Non-float tensors concatenate and slice too (masks, labels); they carry no gradient.
TEST(ShapeOpsReference, IntegerTensors) {
  Tensor a = Tensor::from_vector({1, 2, 3, 4}, {2, 2}, DType::I64);
  Tensor b = Tensor::from_vector({5, 6}, {2, 1}, DType::I64);
  Tensor c = concat({a, b}, 1);
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(c.to_vector(), (std::vector<double>{1, 2, 5, 3, 4, 6}));
  EXPECT_EQ(slice(c, 1, 1, 100).to_vector(), (std::vector<double>{2, 5, 4, 6}));
  EXPECT_EQ(slice(c, 0, 1, 1).numel(), 0);  // start == end: empty
}

TEST(ShapeOpsReference, Concat) {
  for (auto& c : test::fixture_cases("concat")) {
    Fixture f = test::load_fixture("concat", c);
    SCOPED_TRACE(f.path);
    const int64_t n = static_cast<int64_t>(f.number("count"));
    std::vector<Tensor> xs;
    for (int64_t i = 0; i < n; ++i)
      xs.push_back(f["x" + std::to_string(i)].clone().detach().requires_grad_());
    Tensor out = concat(xs, static_cast<int64_t>(f.number("dim")));
    EXPECT_ALL_CLOSE(out, f["out"], 0, 0);
    out.backward(f["grad_out"]);
    for (int64_t i = 0; i < n; ++i)
      EXPECT_ALL_CLOSE(xs[i].grad(), f["grad_x" + std::to_string(i)], 0, 0);
  }
}

TEST(ShapeOpsReference, Slice) {
  for (auto& c : test::fixture_cases("slice")) {
    Fixture f = test::load_fixture("slice", c);
    SCOPED_TRACE(f.path);
    Tensor x = f["x"].clone().detach().requires_grad_();
    Tensor out =
        slice(x, static_cast<int64_t>(f.number("dim")), static_cast<int64_t>(f.number("start")),
              static_cast<int64_t>(f.number("end")));
    EXPECT_ALL_CLOSE(out, f["out"], 0, 0);
    out.backward(f["grad_out"]);
    EXPECT_ALL_CLOSE(x.grad(), f["grad_x"], 0, 0);
  }
}

// Exact: transpose and one_hot only move or set values.
TEST(ShapeOpsReference, Transpose) {
  for (auto& c : test::fixture_cases("transpose")) {
    Fixture f = test::load_fixture("transpose", c);
    SCOPED_TRACE(f.path);
    Tensor x = f["x"].clone().detach().requires_grad_();
    Tensor out =
        transpose(x, static_cast<int64_t>(f.number("d0")), static_cast<int64_t>(f.number("d1")));
    EXPECT_ALL_CLOSE(out, f["out"], 0, 0);
    out.backward(f["grad_out"]);
    EXPECT_ALL_CLOSE(x.grad(), f["grad_x"], 0, 0);
  }
}

TEST(ShapeOpsReference, OneHot) {
  for (auto& c : test::fixture_cases("one_hot")) {
    Fixture f = test::load_fixture("one_hot", c);
    SCOPED_TRACE(f.path);
    Tensor out = one_hot(f["labels"], static_cast<int64_t>(f.number("classes")),
                         static_cast<int64_t>(f.number("ignore")));
    EXPECT_ALL_CLOSE(out, f["out"], 0, 0);
  }
}

TEST(ShapeOpsErrors, TransposeAndOneHot) {
  Tensor x = Tensor::zeros({2, 3});
  EXPECT_THROW(transpose(x, 0, 2), Error);
  Tensor y = Tensor::from_vector({0, 1, 3}, {1, 3}, DType::I64);
  try {
    one_hot(y, 3);
    FAIL() << "label 3 of 3 classes must be rejected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(one_hot(x, 3), Error);  // float labels
  EXPECT_THROW(one_hot(y, 0), Error);
}

}  // namespace
}  // namespace xgd
