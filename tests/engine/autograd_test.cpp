#include <gtest/gtest.h>

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/pointwise.h"

namespace xgd {
namespace {

Tensor leaf(std::vector<double> v, Shape s) {
  return Tensor::from_vector(v, s, DType::F64).requires_grad_();
}

TEST(Autograd, BackwardAccumulatesIntoLeaves) {
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor w = leaf({0.5, -1, 2}, {3});
  Tensor y = mul(x, w);  // dy/dx = w
  y.backward(Tensor::ones({3}, DType::F64));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0.5, -1, 2}));
  EXPECT_EQ(w.grad().to_vector(), (std::vector<double>{1, 2, 3}));
  // A second graph accumulates (PyTorch semantics).
  mul(x, 2.0).backward(Tensor::ones({3}, DType::F64));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{2.5, 1, 4}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, DiamondGraphSumsBothPaths) {
  Tensor x = leaf({2}, {1});
  Tensor a = mul(x, 3.0), b = mul(x, x);
  Tensor y = add(a, b);  // dy/dx = 3 + 2x = 7
  y.backward();
  EXPECT_EQ(x.grad().item(), 7.0);
}

TEST(Autograd, NonScalarNeedsGradOutput) {
  Tensor x = leaf({1, 2}, {2});
  EXPECT_THROW(mul(x, 2.0).backward(), Error);
  EXPECT_THROW(mul(x, 2.0).backward(Tensor::ones({3}, DType::F64)), Error);
}

TEST(Autograd, GraphFreedAfterBackwardUnlessRetained) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = mul(exp(x), 2.0);
  Tensor g = Tensor::ones({2}, DType::F64);
  y.backward(g, /*retain_graph=*/true);
  y.backward(g);  // still there
  EXPECT_NEAR(x.grad().to_vector()[0], 4 * std::exp(1.0), 1e-12);
  try {
    y.backward(g);
    FAIL() << "third backward should fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("retain_graph"), std::string::npos) << e.what();
  }
}

TEST(Autograd, GradOfIntermediateLeavesLeafGradsUntouched) {
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor a = mul(x, 2.0);          // intermediate, like a Grad-CAM target layer
  Tensor y = mul(a, a);            // dy/da = 2a = 4x
  auto g = autograd::grad({y}, {a}, {Tensor::ones({3}, DType::F64)}, /*retain_graph=*/true);
  EXPECT_EQ(g[0].to_vector(), (std::vector<double>{4, 8, 12}));
  EXPECT_FALSE(x.grad().defined());  // grad() never touches .grad
  // The retained graph still serves a normal backward afterwards.
  y.backward(Tensor::ones({3}, DType::F64));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{8, 16, 24}));  // 8x
  // Gradient w.r.t. both a leaf and an intermediate in one call.
  Tensor z = mul(exp(x), x);
  auto both = autograd::grad({z}, {x, z}, {Tensor::ones({3}, DType::F64)});
  EXPECT_NEAR(both[0].to_vector()[1], std::exp(2.0) * 3, 1e-12);  // (x + 1) e^x
  EXPECT_EQ(both[1].to_vector(), (std::vector<double>{1, 1, 1}));
}

TEST(Autograd, GradRejectsUnusedInputsUnlessAllowed) {
  Tensor x = leaf({1}, {1}), u = leaf({1}, {1});
  Tensor y = mul(x, 3.0);
  EXPECT_THROW(autograd::grad({y}, {u}, {}, true), Error);
  auto g = autograd::grad({y}, {x, u}, {}, false, /*allow_unused=*/true);
  EXPECT_EQ(g[0].item(), 3.0);
  EXPECT_FALSE(g[1].defined());
}

TEST(Autograd, GradPrunesTheGraphBelowTheInputs) {
  // Only the part between the inputs and the outputs runs: a node below the input whose
  // graph was freed must not be visited.
  Tensor x = leaf({1, 2}, {2});
  Tensor a = exp(x);
  Tensor b = mul(a, 3.0);
  a.backward(Tensor::ones({2}, DType::F64));  // frees exp's node
  auto g = autograd::grad({b}, {a}, {Tensor::ones({2}, DType::F64)});
  EXPECT_EQ(g[0].to_vector(), (std::vector<double>{3, 3}));
}

TEST(Autograd, NoGradGuardRecordsNothing) {
  Tensor x = leaf({1, 2}, {2});
  {
    autograd::NoGradGuard guard;
    Tensor y = mul(x, 2.0);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.is_leaf());
  }
  EXPECT_TRUE(mul(x, 2.0).requires_grad());
  EXPECT_TRUE(autograd::grad_enabled());
}

TEST(Autograd, DetachAndSavedTensorsDoNotLeak) {
  std::weak_ptr<TensorImpl> watch;
  {
    Tensor x = leaf({1, 2}, {2});
    Tensor y = exp(x);  // saves its output: must not form a cycle
    watch = y.impl_ptr();
    EXPECT_FALSE(y.detach().requires_grad());
  }
  EXPECT_TRUE(watch.expired());
}

TEST(Autograd, ReshapeAndCloneAreDifferentiable) {
  Tensor x = leaf({1, 2, 3, 4}, {2, 2});
  Tensor y = mul(x.reshape({4}).clone(), Tensor::from_vector({1, 2, 3, 4}, {4}, DType::F64));
  y.backward(Tensor::ones({4}, DType::F64));
  EXPECT_EQ(x.grad().shape(), (Shape{2, 2}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{1, 2, 3, 4}));
}

TEST(Ops, BadInputsNameTheOp) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4});
  try {
    add(a, b);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("add"), std::string::npos) << m;
    EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
  }
  EXPECT_THROW(mul(a, Tensor::zeros({2, 3}, DType::F64)), Error);
  EXPECT_THROW(exp(Tensor::zeros({2}, DType::I64)), Error);
  EXPECT_THROW(clamp(a, 1.0, 0.0), Error);
  EXPECT_THROW(add(a, Tensor()), Error);
}

}  // namespace
}  // namespace xgd
