// Dropout / dropout2d. PyTorch's RNG is not Philox-compatible, so the fixtures
// (tests/reference/ops_dropout.py) cover the deterministic cases only: eval mode (identity) and
// p = 1 (zeros). The random masks are checked against their definition in
// kernels/common/dropout.h: element i keeps iff uniform_from_bits(philox_word(seed, counter, i))
// >= p, counter = the generator's offset before the call.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/ops/dropout.h"
#include "kernels/common/philox.h"
#include "tests/support/fixture.h"

namespace xgd {
namespace {

using test::Fixture;

Tensor random_input(const Shape& shape, uint64_t seed) {
  Tensor t = Tensor::empty(shape);
  Generator gen(seed);
  uniform_(t, 0.5, 2.0, gen);  // never 0, so a zero output always means "dropped"
  return t;
}

// Identity and zeros are exact.
TEST(DropoutReference, EvalAndPOne) {
  for (const char* op : {"dropout", "dropout2d"}) {
    for (auto& c : test::fixture_cases(op)) {
      Fixture f = test::load_fixture(op, c);
      SCOPED_TRACE(f.path);
      Generator gen(1, 5);
      Tensor x = f["x"].clone().detach().requires_grad_();
      Tensor y = std::string(op) == "dropout"
                     ? dropout(x, f.number("p"), f.flag("training"), gen)
                     : dropout2d(x, f.number("p"), f.flag("training"), gen);
      EXPECT_ALL_CLOSE(y, f["out"], 0.0, 0.0);
      EXPECT_EQ(gen.offset(), 5u);                      // nothing random was drawn
      if (!f.flag("training")) {
        EXPECT_TRUE(y.same(x));  // the input itself, as PyTorch
      }
      y.backward(f["grad_out"]);
      EXPECT_ALL_CLOSE(x.grad(), f["grad_x"], 0.0, 0.0);
    }
  }
}

TEST(Dropout, MaskFollowsPhiloxDefinitionAndScalesExactly) {
  const double p = 0.3;
  // 22755 elements: two mask tasks of 16384 and a last counter with 3 of its 4 words used.
  Tensor x = random_input({3, 5, 37, 41}, 2).requires_grad_();
  Generator gen(1234, 77);
  Tensor y = dropout(x, p, true, gen);
  EXPECT_EQ(gen.offset(), 77u + (x.numel() + 3) / 4);  // advance(numel)
  Tensor g = random_input(x.shape(), 3);
  y.backward(g);
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  const float *px = x.data<float>(), *py = y.data<float>(), *pg = g.data<float>(),
              *pd = x.grad().data<float>();
  int64_t mismatches = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    bool keep = kernels::uniform_from_bits(kernels::philox_word(1234, 77, i)) >= p;
    // Exactly x·scale and g·scale where kept, 0 elsewhere (bitwise).
    mismatches += py[i] != (keep ? px[i] * scale : 0.0f);
    mismatches += pd[i] != (keep ? pg[i] * scale : 0.0f);
    // scale = 1/(1 − p) rounded once: within 1 ulp of x / (1 − p).
    if (keep) {
      EXPECT_NEAR(py[i], px[i] / (1.0 - p), 2.5e-7 * std::abs(py[i]));
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(Dropout, SameStateSameMaskOtherOffsetOtherMask) {
  Tensor x = random_input({2, 3, 16, 16}, 4);
  Generator a(99, 10), b(99, 10), c(99, 11), d(100, 10);
  auto ya = dropout(x, 0.5, true, a).to_vector(), yb = dropout(x, 0.5, true, b).to_vector();
  auto yc = dropout(x, 0.5, true, c).to_vector(), yd = dropout(x, 0.5, true, d).to_vector();
  EXPECT_EQ(ya, yb);
  EXPECT_NE(ya, yc);
  EXPECT_NE(ya, yd);
  // Successive calls on one generator draw fresh counters: a different mask.
  EXPECT_NE(dropout(x, 0.5, true, a).to_vector(), ya);
}

// 100k Bernoulli(1 − p) draws: the keep count's standard deviation is sqrt(n·p·(1 − p)) ≈ 145
// at p = 0.3; allow 6 sigma (false-failure odds ~1e-9, and the seeds are fixed anyway).
TEST(Dropout, KeepRateWithinStatisticalBounds) {
  Tensor x = Tensor::ones({100000});
  for (double p : {0.1, 0.3, 0.5, 0.9}) {
    Generator gen(7);
    auto y = dropout(x, p, true, gen).to_vector();
    double kept = 0;
    for (double v : y) kept += v != 0;
    const double n = static_cast<double>(y.size()), sd = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(kept, n * (1 - p), 6 * sd) << "p = " << p;
  }
}

TEST(Dropout2d, ZeroesWholeChannelsOneDrawPerChannel) {
  const double p = 0.5;
  Tensor x = random_input({4, 8, 5, 6}, 5).requires_grad_();
  Generator gen(321, 3);
  Tensor y = dropout2d(x, p, true, gen);
  EXPECT_EQ(gen.offset(), 3u + (4 * 8 + 3) / 4);  // one draw per (n, c)
  y.backward(Tensor::ones(x.shape()));
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  auto xv = x.to_vector(), yv = y.to_vector(), dv = x.grad().to_vector();
  int kept_channels = 0;
  for (int64_t nc = 0; nc < 32; ++nc) {
    bool keep = kernels::uniform_from_bits(kernels::philox_word(321, 3, nc)) >= p;
    kept_channels += keep;
    for (int64_t j = 0; j < 30; ++j) {
      const int64_t i = nc * 30 + j;
      ASSERT_EQ(yv[i], keep ? static_cast<double>(static_cast<float>(xv[i]) * scale) : 0.0) << i;
      ASSERT_EQ(dv[i], keep ? static_cast<double>(scale) : 0.0) << i;
    }
  }
  EXPECT_GT(kept_channels, 0);
  EXPECT_LT(kept_channels, 32);
}

TEST(Dropout, PZeroAndEvalReturnTheInput) {
  Tensor x = random_input({2, 3}, 6);
  Generator gen(1, 0);
  EXPECT_TRUE(dropout(x, 0.0, true, gen).same(x));
  EXPECT_TRUE(dropout(x, 0.7, false, gen).same(x));
  Tensor x4 = Tensor::ones({1, 2, 2, 2});
  EXPECT_TRUE(dropout2d(x4, 0.0, true, gen).same(x4));
  EXPECT_TRUE(dropout2d(x4, 0.4, false, gen).same(x4));
  EXPECT_EQ(gen.offset(), 0u);
}

TEST(DropoutErrors, BadInputs) {
  Tensor x = Tensor::ones({2, 3, 4, 4});
  Generator gen(1);
  EXPECT_THROW(dropout(x, -0.1, true, gen), Error);
  EXPECT_THROW(dropout(x, 1.5, true, gen), Error);
  EXPECT_THROW(dropout(x, std::nan(""), true, gen), Error);
  EXPECT_THROW(dropout2d(x, 1.01, false, gen), Error);  // p is checked in eval mode too
  EXPECT_THROW(dropout2d(Tensor::ones({2, 3, 4}), 0.5, true, gen), Error);
  EXPECT_THROW(dropout(Tensor::ones({4}, DType::I64), 0.5, true, gen), Error);
}

}  // namespace
}  // namespace xgd
