// Losses against PyTorch (fixtures from tests/reference/ops_loss.py), the blocked kernel paths
// against a naive double reference, and bad inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/ops/loss.h"
#include "engine/rng.h"
#include "tests/support/fixture.h"

namespace xgd {
namespace {

using test::Fixture;

// Tolerances (float32). Loss: a mean of per-pixel log-sum-exps (libm ≤ 2 ulp, ~|x| ≤ 120 with
// the ±40 logits) accumulated in double here and in float by PyTorch: rtol 1e-5, atol 1e-5.
// Gradients: (softmax − onehot) / count, one exp and one division per element: atol 1e-7
// (≈ eps32 · |g| with count ≥ 20), rtol 1e-5. float64: rtol 1e-12.
TEST(LossReference, CrossEntropy) {
  for (auto& c : test::fixture_cases("cross_entropy")) {
    Fixture f = test::load_fixture("cross_entropy", c);
    SCOPED_TRACE(f.path);
    const bool f64 = f["logits"].dtype() == DType::F64;
    Tensor x = f["logits"].clone().detach().requires_grad_();
    Tensor loss = cross_entropy(x, f["labels"], static_cast<int64_t>(f.number("ignore_index")));
    EXPECT_EQ(loss.shape(), Shape{});
    EXPECT_ALL_CLOSE(loss, f["out"], f64 ? 1e-14 : 1e-5, f64 ? 1e-12 : 1e-5);
    loss.backward(f["grad_out"]);
    EXPECT_ALL_CLOSE(x.grad(), f["grad_logits"], f64 ? 1e-15 : 1e-7, f64 ? 1e-12 : 1e-5);
  }
  // The all-ignored fixture documents the deliberate difference from PyTorch (NaN there).
  EXPECT_TRUE(test::load_fixture("cross_entropy", "all_ignored").flag("torch_gives_nan"));
}

// KL: per-pixel Σ_c p_t (log p_t − log p_s) of O(1) terms with log-probabilities to ~−30,
// both engines rounding in float32: atol 1e-5 on the loss (τ² = 16 scales it: rtol 1e-5).
// Gradients: τ/pixels · (p_s − p_t) etc., ~1e-3 in size: atol 1e-8, rtol 1e-4 (the teacher's
// p_t·(lt − ls − KL) subtracts nearby O(1) numbers).
TEST(LossReference, KlDiv) {
  for (auto& c : test::fixture_cases("kl_div")) {
    Fixture f = test::load_fixture("kl_div", c);
    SCOPED_TRACE(f.path);
    const bool f64 = f["teacher"].dtype() == DType::F64;
    Tensor t = f["teacher"].clone().detach().requires_grad_();
    Tensor s = f["student"].clone().detach().requires_grad_();
    Tensor loss = kl_div(t, s, f.number("tau"));
    EXPECT_ALL_CLOSE(loss, f["out"], f64 ? 1e-13 : 1e-5, f64 ? 1e-12 : 1e-5);
    loss.backward(f["grad_out"]);
    EXPECT_ALL_CLOSE(t.grad(), f["grad_teacher"], f64 ? 1e-15 : 1e-8, f64 ? 1e-10 : 1e-4);
    EXPECT_ALL_CLOSE(s.grad(), f["grad_student"], f64 ? 1e-15 : 1e-8, f64 ? 1e-10 : 1e-4);
  }
}

// τ² scaling: kl_div(t, s, 4) = 16 · kl_div(t/4, s/4, 1). x/4 is exact in float32, so both
// calls see the same softened logits and agree to rounding of the final scaling: rtol 1e-6.
TEST(LossReference, KlTauSquaredScaling) {
  Fixture f = test::load_fixture("kl_div", "tau4");
  Tensor t = f["teacher"], s = f["student"];
  auto quarter = [](const Tensor& x) {
    auto v = x.to_vector();
    for (auto& e : v) e /= 4;
    return Tensor::from_vector(v, x.shape());
  };
  const double at4 = kl_div(t, s, 4.0).item();
  EXPECT_NEAR(at4, 16.0 * kl_div(quarter(t), quarter(s), 1.0).item(), 1e-6 * std::abs(at4));
  EXPECT_GT(std::abs(at4 - kl_div(t, s, 1.0).item()), 0.1);  // τ matters
}

// mse: Σ (a − b)² over 210 elements, double accumulation here: rtol 1e-6; gradients
// 2(a − b)/n·g: one rounding each, rtol 1e-6.
TEST(LossReference, Mse) {
  for (auto& c : test::fixture_cases("mse")) {
    Fixture f = test::load_fixture("mse", c);
    SCOPED_TRACE(f.path);
    const bool f64 = f["a"].dtype() == DType::F64;
    Tensor a = f["a"].clone().detach().requires_grad_();
    Tensor b = f["b"].clone().detach().requires_grad_();
    Tensor loss = mse(a, b);
    EXPECT_ALL_CLOSE(loss, f["out"], f64 ? 1e-14 : 1e-7, f64 ? 1e-12 : 1e-6);
    loss.backward(f["grad_out"]);
    EXPECT_ALL_CLOSE(a.grad(), f["grad_a"], f64 ? 1e-15 : 1e-8, f64 ? 1e-12 : 1e-6);
    EXPECT_ALL_CLOSE(b.grad(), f["grad_b"], f64 ? 1e-15 : 1e-8, f64 ? 1e-12 : 1e-6);
  }
}

// ---------------------------------------------------------------- blocked paths, big shapes
// 2×6×19×31 = 589 pixels per image (two full 256-pixel blocks and a ragged tail), ~20% ignored,
// against double formulas. float32 vs exact: per-pixel lse to ~eps32·|x| (|x| ≤ 8): atol 1e-5.
TEST(LossLayout, CrossEntropyAndKlMatchNaive) {
  const int64_t N = 2, C = 6, P = 19 * 31;
  const Shape shape{N, C, 19, 31};
  Tensor x = Tensor::empty(shape), s = Tensor::empty(shape);
  Generator gen(3);
  uniform_(x, -8.0, 8.0, gen);
  uniform_(s, -8.0, 8.0, gen);
  Tensor u = Tensor::empty({N, 19, 31});
  uniform_(u, 0.0, 1.0, gen);
  std::vector<double> yv;
  for (double v : u.to_vector())  // ~20% ignored, the rest spread over the classes
    yv.push_back(v < 0.2 ? 255.0 : static_cast<double>(static_cast<int64_t>(v * 1000) % C));
  Tensor y = Tensor::from_vector(yv, {N, 19, 31}, DType::I64);
  auto xv = x.to_vector(), sv = s.to_vector();
  auto lse = [&](const std::vector<double>& v, int64_t n, int64_t p, double inv_tau) {
    double m = -1e300, z = 0;
    for (int64_t c = 0; c < C; ++c) m = std::max(m, v[(n * C + c) * P + p] * inv_tau);
    for (int64_t c = 0; c < C; ++c) z += std::exp(v[(n * C + c) * P + p] * inv_tau - m);
    return m + std::log(z);
  };
  // Cross-entropy.
  double total = 0;
  int64_t count = 0;
  std::vector<double> dx(xv.size(), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t p = 0; p < P; ++p) {
      int64_t label = static_cast<int64_t>(yv[n * P + p]);
      if (label == 255) continue;
      total += lse(xv, n, p, 1.0) - xv[(n * C + label) * P + p];
      ++count;
    }
  for (int64_t n = 0; n < N; ++n)
    for (int64_t p = 0; p < P; ++p) {
      int64_t label = static_cast<int64_t>(yv[n * P + p]);
      if (label == 255) continue;
      double l = lse(xv, n, p, 1.0);
      for (int64_t c = 0; c < C; ++c)
        dx[(n * C + c) * P + p] = (std::exp(xv[(n * C + c) * P + p] - l) - (c == label)) / count;
    }
  Tensor xr = x.clone().detach().requires_grad_();
  Tensor ce = cross_entropy(xr, y);
  EXPECT_NEAR(ce.item(), total / count, 1e-5);
  ce.backward();
  EXPECT_ALL_CLOSE(xr.grad(), Tensor::from_vector(dx, shape, DType::F64), 1e-8, 1e-5);

  // KL at τ = 2.
  const double tau = 2.0;
  double kl_total = 0;
  std::vector<double> dt(xv.size()), ds(xv.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t p = 0; p < P; ++p) {
      double lt = lse(xv, n, p, 1 / tau), ls = lse(sv, n, p, 1 / tau), kl = 0;
      for (int64_t c = 0; c < C; ++c) {
        int64_t i = (n * C + c) * P + p;
        double a = xv[i] / tau - lt, b = sv[i] / tau - ls;
        kl += std::exp(a) * (a - b);
      }
      kl_total += kl;
      for (int64_t c = 0; c < C; ++c) {
        int64_t i = (n * C + c) * P + p;
        double a = xv[i] / tau - lt, b = sv[i] / tau - ls, k = tau / (N * P);
        ds[i] = k * (std::exp(b) - std::exp(a));
        dt[i] = k * std::exp(a) * (a - b - kl);
      }
    }
  Tensor tr = x.clone().detach().requires_grad_(), sr = s.clone().detach().requires_grad_();
  Tensor kl = kl_div(tr, sr, tau);
  EXPECT_NEAR(kl.item(), tau * tau * kl_total / (N * P), 1e-5);
  kl.backward();
  EXPECT_ALL_CLOSE(tr.grad(), Tensor::from_vector(dt, shape, DType::F64), 1e-8, 1e-4);
  EXPECT_ALL_CLOSE(sr.grad(), Tensor::from_vector(ds, shape, DType::F64), 1e-8, 1e-4);
}

TEST(LossSemantics, AllIgnoredIsZeroWithZeroGradient) {
  Tensor x = Tensor::ones({2, 3, 2, 2}).requires_grad_();
  Tensor y = Tensor::full({2, 2, 2}, 7, DType::I64);
  Tensor loss = cross_entropy(x, y, 7);
  EXPECT_EQ(loss.item(), 0.0);
  loss.backward();
  for (double v : x.grad().to_vector()) EXPECT_EQ(v, 0.0);
}

TEST(LossErrors, CrossEntropyBadInputs) {
  Tensor x = Tensor::zeros({2, 3, 4, 5});
  Tensor y = Tensor::zeros({2, 4, 5}, DType::I64);
  // A label outside [0, C): the message names the value and its (n, h, w) position.
  Tensor bad = y.clone();
  bad.data<int64_t>()[1 * 20 + 2 * 5 + 3] = 3;
  try {
    cross_entropy(x, bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("label 3 at (n, h, w) = (1, 2, 3)"), std::string::npos) << m;
  }
  bad.data<int64_t>()[1 * 20 + 2 * 5 + 3] = -1;
  EXPECT_THROW(cross_entropy(x, bad), Error);
  Tensor nc_bad = Tensor::from_vector({0, 5}, {2}, DType::I64);
  try {
    cross_entropy(Tensor::zeros({2, 3}), nc_bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label 5 at (n) = (1)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cross_entropy(x, Tensor::zeros({2, 4, 5}, DType::F32)), Error);  // not int64
  EXPECT_THROW(cross_entropy(x, Tensor::zeros({2, 4, 6}, DType::I64)), Error);  // shape
  EXPECT_THROW(cross_entropy(x, Tensor::zeros({2, 3, 4, 5}, DType::I64)), Error);
  EXPECT_THROW(cross_entropy(Tensor::zeros({3}), Tensor::zeros({}, DType::I64)), Error);
  EXPECT_THROW(cross_entropy(Tensor::zeros({2, 3}, DType::I64), Tensor::zeros({2}, DType::I64)),
               Error);
}

TEST(LossErrors, KlAndMseBadInputs) {
  Tensor t = Tensor::zeros({2, 3, 4, 5});
  EXPECT_THROW(kl_div(t, Tensor::zeros({2, 3, 4, 6}), 1.0), Error);  // shape mismatch
  EXPECT_THROW(kl_div(t, Tensor::zeros({2, 3, 4, 5}, DType::F64), 1.0), Error);
  EXPECT_THROW(kl_div(t, t, 0.0), Error);
  EXPECT_THROW(kl_div(t, t, -2.0), Error);
  EXPECT_THROW(kl_div(t, t, std::nan("")), Error);
  EXPECT_THROW(kl_div(Tensor::zeros({4}), Tensor::zeros({4}), 1.0), Error);  // no class dim
  EXPECT_THROW(mse(t, Tensor::zeros({2, 3, 4, 1})), Error);                  // no broadcasting
  EXPECT_THROW(mse(t, Tensor::zeros({2, 3, 4, 5}, DType::F64)), Error);
}

}  // namespace
}  // namespace xgd
