// softmax / log_softmax against PyTorch (fixtures from tests/reference/ops_softmax.py), the
// blocked kernel paths against a naive double reference, and bad inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/ops/softmax.h"
#include "engine/rng.h"
#include "kernels/cpu/softmax.h"
#include "tests/support/fixture.h"

namespace xgd {
namespace {

using test::Fixture;

// Tolerances (float32): each output is exp/log of a max-subtracted value (libm ≤ 2 ulp in both
// engines) times or minus one sum over ≤ 11 classes: rtol 1e-5 (~80 ulp) on both outputs.
// log_softmax reaches −100 with ±50 logits, where eps32·100 ≈ 1e-5: atol 2e-5. Probabilities:
// atol 1e-7. Gradients: y·(dy − Σ dy·y) rounds like the forward plus the class sum: atol 1e-6.
// float64: rtol 1e-12.
TEST(SoftmaxReference, Fixtures) {
  for (const char* op : {"softmax", "log_softmax"}) {
    const bool log = std::string(op) == "log_softmax";
    for (auto& c : test::fixture_cases(op)) {
      Fixture f = test::load_fixture(op, c);
      SCOPED_TRACE(f.path);
      const bool f64 = f["x"].dtype() == DType::F64;
      Tensor x = f["x"].clone().detach().requires_grad_();
      const int64_t dim = f.ints("dim")[0];
      Tensor y = log ? log_softmax(x, dim) : softmax(x, dim);
      EXPECT_ALL_CLOSE(y, f["out"], f64 ? 1e-14 : (log ? 2e-5 : 1e-7), f64 ? 1e-12 : 1e-5);
      y.backward(f["grad_out"]);
      EXPECT_ALL_CLOSE(x.grad(), f["grad_x"], f64 ? 1e-14 : 1e-6, f64 ? 1e-12 : 1e-5);
    }
  }
}

// Naive softmax over dim 1 of (N, C, P) in double.
std::vector<double> naive_softmax(const std::vector<double>& x, int64_t N, int64_t C, int64_t P,
                                  bool log) {
  std::vector<double> y(x.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t p = 0; p < P; ++p) {
      double m = -1e300, s = 0;
      for (int64_t c = 0; c < C; ++c) m = std::max(m, x[(n * C + c) * P + p]);
      for (int64_t c = 0; c < C; ++c) s += std::exp(x[(n * C + c) * P + p] - m);
      for (int64_t c = 0; c < C; ++c) {
        double v = x[(n * C + c) * P + p] - m;
        y[(n * C + c) * P + p] = log ? v - std::log(s) : std::exp(v) / s;
      }
    }
  return y;
}

// H·W = 23·29 = 667 pixels: more than one 256-pixel block per image, with a ragged tail; and
// the last dim (inner = 1, the row path) with 300 classes. Backward checked against
// dx = y·(dy − Σ dy·y) (softmax) / dy − exp(y)·Σ dy (log_softmax) in double.
TEST(SoftmaxLayout, BlockedPathsMatchNaive) {
  struct Case {
    Shape shape;
    int64_t dim, N, C, P;
  };
  for (const Case& c : {Case{{2, 21, 23, 29}, 1, 2, 21, 667}, Case{{3, 2, 300}, -1, 6, 300, 1}}) {
    Tensor x = Tensor::empty(c.shape);
    Generator gen(7);
    uniform_(x, -30.0, 30.0, gen);
    Tensor g = Tensor::empty(c.shape);
    uniform_(g, -1.0, 1.0, gen);
    for (bool log : {false, true}) {
      SCOPED_TRACE(shape_str(c.shape) + (log ? " log_softmax" : " softmax"));
      Tensor xr = x.clone().detach().requires_grad_();
      Tensor y = log ? log_softmax(xr, c.dim) : softmax(xr, c.dim);
      auto ref = naive_softmax(x.to_vector(), c.N, c.C, c.P, log);
      // float32 against exact: rtol 1e-5 as above; log outputs reach −60: atol 1e-5.
      EXPECT_ALL_CLOSE(y, Tensor::from_vector(ref, c.shape, DType::F64), log ? 1e-5 : 1e-7, 1e-5);
      y.backward(g);
      auto gv = g.to_vector();
      std::vector<double> dx(ref.size());
      for (int64_t n = 0; n < c.N; ++n)
        for (int64_t p = 0; p < c.P; ++p) {
          double acc = 0;
          for (int64_t k = 0; k < c.C; ++k) {
            int64_t i = (n * c.C + k) * c.P + p;
            acc += log ? gv[i] : gv[i] * ref[i];
          }
          for (int64_t k = 0; k < c.C; ++k) {
            int64_t i = (n * c.C + k) * c.P + p;
            dx[i] = log ? gv[i] - std::exp(ref[i]) * acc : ref[i] * (gv[i] - acc);
          }
        }
      // Σ over up to 300 classes of O(1) float products: atol 1e-5.
      EXPECT_ALL_CLOSE(xr.grad(), Tensor::from_vector(dx, c.shape, DType::F64), 1e-5, 1e-5);
    }
  }
}

// The vectorisable float exp of the softmax and loss kernels against exp in double: every
// ~3e-6-relative step over the float range, special values exact. Bound: 1 ulp of the
// correctly rounded result (1 denormal ulp below FLT_MIN).
TEST(SoftmaxKernels, ExpFastWithinOneUlp) {
  using kernels::cpu::exp_fast;
  double worst = 0;
  float worst_x = 0;
  for (float x = -104.5f; x < 89.0f; x += std::max(std::abs(x) * 3e-6f, 1e-6f)) {
    const double e = std::exp(static_cast<double>(x));
    const float v = exp_fast(x), ef = static_cast<float>(e);
    if (std::isinf(ef)) {
      EXPECT_TRUE(std::isinf(v)) << x;
      continue;
    }
    const double ulp = ef < 1.17549435e-38f ? 1.401298464e-45 : std::nextafter(ef, 3e38f) - ef;
    const double err = std::abs(v - e) / ulp;
    if (err > worst) worst = err, worst_x = x;
  }
  EXPECT_LE(worst, 1.0) << "at x = " << worst_x;
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(exp_fast(-inf), 0.0f);
  EXPECT_EQ(exp_fast(inf), inf);
  EXPECT_EQ(exp_fast(89.0f), inf);
  EXPECT_EQ(exp_fast(-104.0f), 0.0f);
  EXPECT_EQ(exp_fast(0.0f), 1.0f);
  EXPECT_EQ(exp_fast(-0.0f), 1.0f);
  EXPECT_TRUE(std::isnan(exp_fast(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(std::isnan(exp_fast(-std::numeric_limits<float>::quiet_NaN())));
}

TEST(SoftmaxErrors, BadInputs) {
  Tensor x = Tensor::zeros({2, 3});
  EXPECT_THROW(softmax(x, 2), Error);
  EXPECT_THROW(log_softmax(x, -3), Error);
  EXPECT_THROW(softmax(Tensor::zeros({2, 3}, DType::I64), 1), Error);
  EXPECT_THROW(log_softmax(Tensor(), 0), Error);
}

}  // namespace
}  // namespace xgd
