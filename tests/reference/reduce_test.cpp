// Reductions against PyTorch (fixtures from tests/reference/ops_reduce.py), layout paths
// against a naive double reference, and bad inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "engine/ops/reduce.h"
#include "engine/rng.h"
#include "tests/support/fixture.h"

namespace xgd {
namespace {

using test::Fixture;
using DimsOp = std::function<Tensor(const Tensor&, const std::vector<int64_t>&, bool)>;
using AllOp = std::function<Tensor(const Tensor&)>;

// Runs the fixture's reduction (all elements, or its dims/keepdim), backward with grad_out.
void check_case(const Fixture& f, const AllOp& all, const DimsOp& dims, double atol, double rtol,
                double atol_grad) {
  SCOPED_TRACE(f.path);
  Tensor x = f["x"].clone().detach().requires_grad_();
  Tensor out = f.metadata.count("all") ? all(x) : dims(x, f.ints("dims"), f.flag("keepdim"));
  EXPECT_ALL_CLOSE(out, f["out"], atol, rtol);
  out.backward(f["grad_out"]);
  EXPECT_ALL_CLOSE(x.grad(), f["grad_x"], atol_grad, 1e-6);
}

// float32: our sums accumulate in double, PyTorch's in float; its error is at most about
// count · eps32 · mean|x| (|x| ~ N(0, 1)), so atol = count · 1e-7 (count ≤ 630 here), rtol 1e-6.
// float64: 1e-12. Gradients are g (sum) or g / count (mean): one rounding, atol 1e-7.
double sum_atol(const Fixture& f, bool mean) {
  if (f["x"].dtype() == DType::F64) return 1e-12;
  const Tensor x = f["x"], out = f["out"];
  const double count = static_cast<double>(x.numel()) / static_cast<double>(out.numel());
  return (mean ? 1.0 : count) * 1e-7 + 1e-7;
}

TEST(ReduceReference, SumMean) {
  for (auto& c : test::fixture_cases("sum")) {
    Fixture f = test::load_fixture("sum", c);
    check_case(
        f, [](auto& x) { return sum(x); }, [](auto& x, auto& d, bool k) { return sum(x, d, k); },
        sum_atol(f, false), 1e-6, 1e-7);
  }
  for (auto& c : test::fixture_cases("mean")) {
    Fixture f = test::load_fixture("mean", c);
    check_case(
        f, [](auto& x) { return mean(x); }, [](auto& x, auto& d, bool k) { return mean(x, d, k); },
        sum_atol(f, true), 1e-6, 1e-9);
  }
}

// max/min select an element: values exact. Gradients are g or g / ties: one rounding
// (rtol 1e-6). The tie cases check PyTorch's rules: split evenly for max() and amax over
// several dims, the first index for max(dim).
TEST(ReduceReference, MaxMinTies) {
  for (const char* op : {"max", "min"}) {
    const bool is_max = std::string(op) == "max";
    for (auto& c : test::fixture_cases(op)) {
      Fixture f = test::load_fixture(op, c);
      check_case(
          f, [&](auto& x) { return is_max ? max(x) : min(x); },
          [&](auto& x, auto& d, bool k) { return is_max ? max(x, d, k) : min(x, d, k); }, 0.0, 0.0,
          0.0);
    }
  }
}

TEST(ReduceReference, Argmax) {
  for (auto& c : test::fixture_cases("argmax")) {
    Fixture f = test::load_fixture("argmax", c);
    SCOPED_TRACE(f.path);
    Tensor out = argmax(f["x"], f.ints("dim")[0], f.flag("keepdim"));
    EXPECT_EQ(out.dtype(), DType::I64);
    EXPECT_FALSE(out.requires_grad());
    EXPECT_ALL_CLOSE(out, f["out"], 0.0, 0.0);  // indices: exact
  }
}

// ---------------------------------------------------------------- layouts beyond the fixtures
Tensor random_tensor(const Shape& shape, uint64_t seed, DType dtype = DType::F32) {
  Tensor t = Tensor::empty(shape, dtype);
  Generator gen(seed);
  uniform_(t, -2.0, 2.0, gen);
  return t;
}

// Naive reduction in double over the dims flagged in `red`, for shapes of rank 4.
std::vector<double> naive(const Tensor& x, const std::vector<int>& red, int kind /*0 sum,1 max*/) {
  auto s = x.shape();
  auto v = x.to_vector();
  Shape os;
  for (int d = 0; d < 4; ++d) os.push_back(red[d] ? 1 : s[d]);
  std::vector<double> out(shape_numel(os), kind == 0 ? 0.0 : -1e300);
  for (int64_t a = 0; a < s[0]; ++a)
    for (int64_t b = 0; b < s[1]; ++b)
      for (int64_t c = 0; c < s[2]; ++c)
        for (int64_t d = 0; d < s[3]; ++d) {
          int64_t o =
              (((red[0] ? 0 : a) * os[1] + (red[1] ? 0 : b)) * os[2] + (red[2] ? 0 : c)) * os[3] +
              (red[3] ? 0 : d);
          double e = v[((a * s[1] + b) * s[2] + c) * s[3] + d];
          out[o] = kind == 0 ? out[o] + e : std::max(out[o], e);
        }
  return out;
}

// Shapes whose rows exceed the kernels' chunk (16384) and whose inner extent exceeds the
// accumulation block (512), so every pass of kernels/cpu/reduce.cpp runs more than one task.
TEST(ReduceLayout, BlockedPathsMatchNaive) {
  Tensor x = random_tensor({2, 3, 131, 129}, 5);  // rows of 16899 > 16384
  struct Case {
    std::vector<int64_t> dims;
    std::vector<int> red;
  };
  for (const Case& c :
       {Case{{2, 3}, {0, 0, 1, 1}}, Case{{1}, {0, 1, 0, 0}}, Case{{0, 2, 3}, {1, 0, 1, 1}},
        Case{{0}, {1, 0, 0, 0}}, Case{{0, 1, 2, 3}, {1, 1, 1, 1}}, Case{{1, 3}, {0, 1, 0, 1}}}) {
    SCOPED_TRACE(::testing::PrintToString(c.dims));
    Tensor s = sum(x, c.dims, true);
    // Exact double sums of float inputs, rounded once to float: rtol 1e-7 (+ tiny atol near 0).
    EXPECT_ALL_CLOSE(s, Tensor::from_vector(naive(x, c.red, 0), s.shape(), DType::F64), 1e-6, 1e-7);
    Tensor m = max(x, c.dims, true);
    EXPECT_ALL_CLOSE(m, Tensor::from_vector(naive(x, c.red, 1), m.shape(), DType::F64), 0, 0);
  }
  // argmax / max(dim) over dim 1 with inner 131·129 > 512: index of the first maximum.
  Tensor idx = argmax(x, 1, false);
  auto xv = x.to_vector();
  auto iv = idx.to_vector();
  const int64_t inner = 131 * 129;
  int bad = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = 0;
      for (int64_t c = 1; c < 3; ++c)
        if (xv[(n * 3 + c) * inner + i] > xv[(n * 3 + best) * inner + i]) best = c;
      bad += iv[n * inner + i] != best;
    }
  EXPECT_EQ(bad, 0);
}

// A mean over 4×21×256×512 logits (11M floats) of one value: a float accumulator stalls at
// 2^24 ulps and drifts by percents; the double accumulation keeps it within 1 float ulp.
TEST(ReduceLayout, LargeMeanStaysAccurate) {
  const float v = 0.1f;
  Tensor x = Tensor::full({4, 21, 256, 512}, v);
  EXPECT_NEAR(mean(x).item(), static_cast<double>(v), 1e-8);
  EXPECT_NEAR(sum(x, {0, 2, 3}).to_vector()[7] / (4.0 * 256 * 512), static_cast<double>(v), 1e-8);
  EXPECT_NEAR(mean(x, {1}).to_vector()[12345], static_cast<double>(v), 1e-8);
}

TEST(ReduceSemantics, EdgeCases) {
  // Empty dims list reduces everything (PyTorch's sum(x, dim=[])); keepdim keeps ones.
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(sum(x, {}).shape(), Shape{});
  EXPECT_EQ(sum(x, {}, true).shape(), (Shape{1, 1}));
  EXPECT_DOUBLE_EQ(sum(x, {}).item(), 21.0);
  // 0-dim input: dim 0 / -1 accepted (PyTorch), the value passes through.
  Tensor s = Tensor::scalar(2.5);
  EXPECT_DOUBLE_EQ(sum(s, {0}).item(), 2.5);
  EXPECT_DOUBLE_EQ(max(s, {-1}).item(), 2.5);
  EXPECT_EQ(argmax(s, 0).item(), 0.0);
  // Empty reductions: sum 0, mean NaN (PyTorch), max an error.
  Tensor e = Tensor::empty({0, 3});
  EXPECT_EQ(sum(e, {0}).to_vector(), (std::vector<double>{0, 0, 0}));
  EXPECT_TRUE(std::isnan(mean(e).item()));
  EXPECT_THROW(max(e), Error);
  EXPECT_EQ(max(e, {1}).shape(), Shape{0});  // reduces 3 elements per (empty) row: fine
  // NaN propagates through max (PyTorch) and argmax points at the first NaN.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor xn = Tensor::from_vector({1, nan, 3, nan}, {4});
  EXPECT_TRUE(std::isnan(max(xn).item()));
  EXPECT_TRUE(std::isnan(min(xn, {0}).item()));
  EXPECT_EQ(argmax(xn, 0).item(), 1.0);
  // The same through the blocked paths: dim 1 with pixels contiguous, and a 40-element row
  // (more than the 16 lanes of the row kernel) with its NaN late.
  Tensor xb = Tensor::from_vector({1, 5, 2, nan, 3, 9, nan, 0}, {1, 4, 2});
  EXPECT_EQ(argmax(xb, 1).to_vector(), (std::vector<double>{3, 1}));  // the first NaN per pixel
  auto mb = max(xb, {1}).to_vector();
  EXPECT_TRUE(std::isnan(mb[0]) && std::isnan(mb[1]));
  std::vector<double> row(40, 1.0);
  row[37] = nan;
  EXPECT_TRUE(std::isnan(max(Tensor::from_vector(row, {40})).item()));
  EXPECT_TRUE(std::isnan(min(Tensor::from_vector(row, {2, 20}), {0, 1}).item()));
  row[37] = -4.0;
  EXPECT_EQ(min(Tensor::from_vector(row, {40})).item(), -4.0);
}

TEST(ReduceErrors, BadInputs) {
  Tensor x = Tensor::zeros({2, 3, 4});
  EXPECT_THROW(sum(x, {3}), Error);
  EXPECT_THROW(mean(x, {-4}), Error);
  EXPECT_THROW(max(x, {1, -2}), Error);  // the same dim twice
  EXPECT_THROW(argmax(x, 5), Error);
  EXPECT_THROW(sum(Tensor::zeros({2}, DType::I64)), Error);
  EXPECT_THROW(sum(Tensor()), Error);
  EXPECT_THROW(argmax(Tensor::empty({2, 0}), 1), Error);
  try {
    sum(x, {1, 1});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sum: dim 1 appears more than once"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace xgd
