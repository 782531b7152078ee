// conv2d CPU kernels (kernels/cpu/conv*.cpp) against a naive direct convolution in double,
// over a parameter grid kernel × stride × pad × dilation × groups (incl. depthwise with channel
// multiplier 1 and 2), every path that fits each point (pointwise GEMM, im2col + GEMM with one
// and with many row tiles, direct depthwise), both thread placements, float and double.
//
// Tolerance: a sum of L products computed in precision eps differs from the exact sum by at
// most ~L·eps·Σ|terms| (the standard recursive-summation bound); each element is checked
// against (L + 2)·eps·Σ|terms| computed alongside the naive reference, plus 1e-300 so exact
// zeros (taps entirely in padding) compare exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops/conv.h"
#include "engine/rng.h"
#include "kernels/cpu/conv.h"

namespace xgd::kernels::cpu {
namespace {

using Vec = std::vector<double>;

struct Ref {
  Vec y, y_abs, dx, dx_abs, dw, dw_abs, db, db_abs;
  int64_t Ly = 0, Ldx = 0, Ldw = 0;  // reduction lengths (upper bounds)
};

// Naive direct convolution and its adjoints in double, with the Σ|terms| of every element.
Ref naive(const ConvGeom& g, const Vec& x, const Vec& w, const Vec& b, const Vec& dy) {
  Ref r;
  const int64_t Cg = g.Cg(), Kg = g.Kg();
  r.y.assign(g.N * g.K * g.OH * g.OW, 0.0);
  r.y_abs = r.y;
  r.dx.assign(x.size(), 0.0);
  r.dx_abs = r.dx;
  r.dw.assign(w.size(), 0.0);
  r.dw_abs = r.dw;
  r.db.assign(g.K, 0.0);
  r.db_abs = r.db;
  r.Ly = Cg * g.KH * g.KW + 1;
  r.Ldx = Kg * g.KH * g.KW;
  r.Ldw = g.N * g.OH * g.OW;
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t k = 0; k < g.K; ++k)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t yi = ((n * g.K + k) * g.OH + oh) * g.OW + ow;
          double s = b.empty() ? 0.0 : b[k], sa = std::abs(s);
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < g.KH; ++kh)
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                const int64_t ih = oh * g.sh - g.ph + kh * g.dh, iw = ow * g.sw - g.pw + kw * g.dw;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                const int64_t ci = (k / Kg) * Cg + c;
                const int64_t xi = ((n * g.C + ci) * g.H + ih) * g.W + iw;
                const int64_t wi = ((k * Cg + c) * g.KH + kh) * g.KW + kw;
                s += w[wi] * x[xi];
                sa += std::abs(w[wi] * x[xi]);
                r.dx[xi] += w[wi] * dy[yi];
                r.dx_abs[xi] += std::abs(w[wi] * dy[yi]);
                r.dw[wi] += x[xi] * dy[yi];
                r.dw_abs[wi] += std::abs(x[xi] * dy[yi]);
              }
          r.y[yi] = s;
          r.y_abs[yi] = sa;
          r.db[k] += dy[yi];
          r.db_abs[k] += std::abs(dy[yi]);
        }
  return r;
}

template <class T>
::testing::AssertionResult close(const char* what, const std::vector<T>& got, const Vec& ref,
                                 const Vec& abs_sum, int64_t L) {
  const double eps = std::numeric_limits<T>::epsilon();
  int bad = 0;
  std::ostringstream msg;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double tol = (L + 2) * eps * abs_sum[i] + 1e-300;
    if (!(std::abs(double(got[i]) - ref[i]) <= tol)) {
      if (bad++ < 4)
        msg << what << "[" << i << "]: expected " << ref[i] << " got " << double(got[i]) << " (tol "
            << tol << ")\n";
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " mismatches of " << ref.size() << "\n"
                                       << msg.str();
}

Vec random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Vec v(n);
  for (auto& e : v) e = u(rng);
  return v;
}

template <class T>
std::vector<T> cast(const Vec& v) {
  return std::vector<T>(v.begin(), v.end());
}

// Runs forward and the three gradients through `opt`, checks them against the naive result.
// The outputs are pre-filled with NaN so an element a kernel forgets to write fails.
template <class T>
void check_kernels(const ConvGeom& g, const ConvOptions& opt, bool with_bias, uint32_t seed) {
  Vec x = random_vec(g.N * g.C * g.H * g.W, seed),
      w = random_vec(g.K * g.Cg() * g.KH * g.KW, seed + 1);
  Vec b = with_bias ? random_vec(g.K, seed + 2) : Vec();
  Vec dy = random_vec(g.N * g.K * g.OH * g.OW, seed + 3);
  Ref r = naive(g, x, w, b, dy);
  auto xt = cast<T>(x), wt = cast<T>(w), bt = cast<T>(b), dyt = cast<T>(dy);
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> y(r.y.size(), nan), dx(x.size(), nan), dw(w.size(), nan), db(g.K, nan);
  conv2d_forward<T>(g, xt.data(), wt.data(), with_bias ? bt.data() : nullptr, y.data(), opt);
  conv2d_backward_data<T>(g, dyt.data(), wt.data(), dx.data(), opt);
  conv2d_backward_weight<T>(g, xt.data(), dyt.data(), dw.data(), opt);
  conv2d_backward_bias<T>(g, dyt.data(), db.data());
  EXPECT_TRUE(close("y", y, r.y, r.y_abs, r.Ly));
  EXPECT_TRUE(close("dx", dx, r.dx, r.dx_abs, r.Ldx));
  EXPECT_TRUE(close("dw", dw, r.dw, r.dw_abs, r.Ldw));
  EXPECT_TRUE(close("db", db, r.db, r.db_abs, r.Ldw));
}

std::string describe(const ConvGeom& g, const ConvOptions& o) {
  std::ostringstream s;
  s << "N" << g.N << " C" << g.C << " " << g.H << "x" << g.W << " K" << g.K << " k" << g.KH << "x"
    << g.KW << " s" << g.sh << "," << g.sw << " p" << g.ph << "," << g.pw << " d" << g.dh << ","
    << g.dw << " g" << g.groups << " algo" << int(o.algo) << " threads" << int(o.threads)
    << " budget" << o.col_budget_bytes;
  return s.str();
}

// Every path that fits g, each with inner and outer threading; im2col also with one output
// row per tile (budget 1 byte) so tiles, their offsets and col2im overlap are exercised.
std::vector<ConvOptions> paths_for(const ConvGeom& g) {
  std::vector<ConvOptions> out;
  for (auto th : {ConvThreads::Inner, ConvThreads::Outer}) {
    out.push_back({ConvAlgo::Im2col, th, 0});
    out.push_back({ConvAlgo::Im2col, th, 1});
    if (g.is_pointwise()) out.push_back({ConvAlgo::Pointwise, th, 0});
    if (g.is_depthwise()) out.push_back({ConvAlgo::Depthwise, th, 0});
  }
  out.push_back({});  // Auto
  return out;
}

TEST(ConvKernels, GridAgainstNaive) {
  struct K {
    int64_t kh, kw;
  };
  struct P {
    int64_t h, w;
  };
  int points = 0;
  uint32_t seed = 1;
  for (K k : {K{1, 1}, K{3, 3}, K{2, 3}, K{5, 5}})
    for (int64_t s : {1, 2, 3})
      for (P p : {P{0, 0}, P{1, 1}, P{2, 1}})
        for (int64_t d : {1, 2})
          for (int groups_kind = 0; groups_kind < 4; ++groups_kind) {
            // groups: 1, 2, depthwise ×1, depthwise ×2 (C = 4 input channels)
            const int64_t C = 4, groups = groups_kind == 0 ? 1 : groups_kind == 1 ? 2 : C;
            const int64_t K_out = groups_kind == 3 ? 2 * C : groups_kind == 2 ? C : 6;
            const int64_t N = 1 + points % 3;
            ConvGeom g = conv_geom(N, C, 9, 8, K_out, k.kh, k.kw, s, s == 3 ? 1 : s, p.h, p.w, d,
                                   d == 2 && k.kw > 1 ? 3 : d, groups);
            if (g.OH <= 0 || g.OW <= 0) continue;
            ++points;
            for (const ConvOptions& o : paths_for(g)) {
              SCOPED_TRACE(describe(g, o));
              check_kernels<double>(g, o, points % 2 == 0, seed);
              check_kernels<float>(g, o, points % 2 == 1, seed);
              seed += 4;
            }
          }
  EXPECT_GE(points, 250);  // the grid really ran (a skipped loop would pass vacuously)
}

// ASPP-style dilations 12 and 24 on maps smaller than the dilation: most taps read padding.
TEST(ConvKernels, LargeDilationDepthwiseAndDense) {
  for (int64_t d : {12, 24})
    for (int64_t groups : {1, 5}) {
      ConvGeom g = conv_geom(2, 5, 13, 11, groups == 1 ? 3 : 5, 3, 3, 1, 1, d, d, d, d, groups);
      ASSERT_EQ(g.OH, 13);
      ASSERT_EQ(g.OW, 11);
      for (const ConvOptions& o : paths_for(g)) {
        SCOPED_TRACE(describe(g, o));
        check_kernels<double>(g, o, true, 7);
        check_kernels<float>(g, o, false, 9);
      }
    }
}

// Rows wide enough for the depthwise 3×3 vector paths (16 floats / 8 doubles per vector, an
// overlapping last vector, scalar or per-tap borders), with multiplier 1 and 2.
TEST(ConvKernels, DepthwiseWideRows) {
  int cases = 0;
  for (int64_t W : {17, 40, 53})
    for (int64_t m : {1, 2})
      for (int64_t s : {1, 2})
        for (int64_t d : {1, 2, 5})
          for (int64_t p : {int64_t(0), d}) {
            ConvGeom g = conv_geom(2, 3, 6, W, 3 * m, 3, 3, s, s, p, p, d, d, 3);
            ConvOptions o{ConvAlgo::Depthwise, ConvThreads::Auto, 0};
            SCOPED_TRACE(describe(g, o));
            check_kernels<double>(g, o, true, 21 + cases);
            check_kernels<float>(g, o, false, 23 + cases);
            ++cases;
          }
  EXPECT_EQ(cases, 72);
}

// Wider images: several default-size im2col tiles and pointwise column tiles per image.
TEST(ConvKernels, MultiTileImages) {
  ConvGeom g3 = conv_geom(3, 24, 40, 37, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1);
  ConvGeom g1 = conv_geom(1, 16, 33, 35, 12, 1, 1, 1, 1, 0, 0, 1, 1, 1);
  ConvGeom gs = conv_geom(2, 8, 31, 29, 8, 1, 1, 2, 2, 0, 0, 1, 1, 1);
  for (const ConvGeom& g : {g3, g1, gs})
    for (auto th : {ConvThreads::Inner, ConvThreads::Outer, ConvThreads::Auto})
      for (int64_t budget : {int64_t(0), int64_t(4096)}) {
        ConvOptions o{ConvAlgo::Auto, th, budget};
        SCOPED_TRACE(describe(g, o));
        check_kernels<float>(g, o, true, 11);
      }
}

// An empty batch: the output is empty and the weight/bias gradients are empty sums (zeros).
TEST(ConvKernels, EmptyBatch) {
  for (int64_t groups : {1, 4}) {
    ConvGeom g = conv_geom(0, 4, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, groups);
    std::vector<float> dw(4 * g.Cg() * 9, 1.0f), db(4, 1.0f);
    conv2d_backward_weight<float>(g, nullptr, nullptr, dw.data());
    conv2d_backward_bias<float>(g, nullptr, db.data());
    for (float v : dw) EXPECT_EQ(v, 0.0f);
    for (float v : db) EXPECT_EQ(v, 0.0f);
  }
}

TEST(ConvKernels, OutputSizeMatchesPyTorch) {
  // floor((in + 2p - d(k-1) - 1) / s) + 1, values checked with torch.nn.functional.conv2d.
  EXPECT_EQ(conv_geom(1, 1, 512, 512, 1, 7, 7, 2, 2, 3, 3, 1, 1, 1).OH, 256);
  EXPECT_EQ(conv_geom(1, 1, 7, 9, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1).OW, 5);
  EXPECT_EQ(conv_geom(1, 1, 10, 10, 1, 3, 3, 3, 3, 0, 0, 2, 2, 1).OH, 2);
  EXPECT_EQ(conv_geom(1, 1, 32, 32, 1, 3, 3, 1, 1, 36, 36, 36, 36, 1).OH, 32);
  EXPECT_LE(conv_geom(1, 1, 4, 4, 1, 7, 7, 1, 1, 1, 1, 1, 1, 1).OH, 0);
}

}  // namespace
}  // namespace xgd::kernels::cpu

// ---------------------------------------------------------------- op-level input validation
namespace xgd {
namespace {

// Expects conv2d to throw xgd::Error whose message names conv2d and contains `part`.
void expect_conv_error(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p,
                       const std::string& part) {
  try {
    conv2d(x, w, b, p);
    ADD_FAILURE() << "no error; expected one mentioning '" << part << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("conv2d"), std::string::npos) << msg;
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  }
}

TEST(Conv2dOp, RejectsBadInputs) {
  Tensor x = Tensor::zeros({2, 4, 7, 9}), w = Tensor::zeros({6, 4, 3, 3}), b = Tensor::zeros({6});
  Conv2dParams ok;
  EXPECT_NO_THROW(conv2d(x, w, b, ok));
  // Channel mismatch, groups not dividing C_in or C_out, weight in-channels vs groups.
  expect_conv_error(x, Tensor::zeros({6, 3, 3, 3}), b, ok, "[6, 3, 3, 3]");
  expect_conv_error(x, Tensor::zeros({6, 1, 3, 3}), b, {{1, 1}, {0, 0}, {1, 1}, 3},
                    "does not divide the 4 input channels");
  expect_conv_error(x, Tensor::zeros({5, 2, 3, 3}), Tensor(), {{1, 1}, {0, 0}, {1, 1}, 2},
                    "does not divide the 5 output channels");
  expect_conv_error(x, Tensor::zeros({6, 4, 3, 3}), b, {{1, 1}, {0, 0}, {1, 1}, 2}, "expects 8");
  // Kernel larger than the padded input (also through dilation).
  expect_conv_error(x, Tensor::zeros({6, 4, 9, 3}), b, ok, "larger than the padded input 7x9");
  expect_conv_error(x, Tensor::zeros({6, 4, 3, 3}), b, {{1, 1}, {0, 0}, {4, 1}, 1}, "dilated 9x3");
  EXPECT_NO_THROW(conv2d(x, Tensor::zeros({6, 4, 9, 3}), b, {{1, 1}, {1, 0}, {1, 1}, 1}));
  // Ranks, dtypes, devices of the operands, bias shape.
  expect_conv_error(Tensor::zeros({4, 7, 9}), w, b, ok, "input (N, C, H, W) must have 4 dims");
  expect_conv_error(x, Tensor::zeros({6, 36}), b, ok, "weight");
  expect_conv_error(x.to(DType::F64), w, b, ok, "dtypes differ");
  expect_conv_error(Tensor::zeros({2, 4, 7, 9}, DType::I64), w, b, ok, "float32 or float64");
  expect_conv_error(x, w, Tensor::zeros({5}), ok, "bias float32[5] cpu must have shape [6]");
  expect_conv_error(x, w, Tensor::zeros({6, 1}), ok, "must have shape [6]");
  expect_conv_error(x, w, Tensor::zeros({6}, DType::F64), ok, "dtypes differ");
  expect_conv_error(Tensor(), w, b, ok, "input is undefined");
  // Non-positive stride/dilation/groups, negative padding.
  expect_conv_error(x, w, b, {{0, 1}, {0, 0}, {1, 1}, 1}, "stride must be positive");
  expect_conv_error(x, w, b, {{1, -2}, {0, 0}, {1, 1}, 1}, "stride must be positive");
  expect_conv_error(x, w, b, {{1, 1}, {0, 0}, {1, 0}, 1}, "dilation must be positive");
  expect_conv_error(x, w, b, {{1, 1}, {-1, 0}, {1, 1}, 1}, "padding must be non-negative");
  expect_conv_error(x, w, b, {{1, 1}, {0, 0}, {1, 1}, 0}, "groups must be positive");
  // Empty channel/kernel dims.
  expect_conv_error(Tensor::zeros({2, 4, 0, 9}), w, b, ok, "empty");
  expect_conv_error(x, Tensor::zeros({0, 4, 3, 3}), Tensor(), ok, "empty");
}

TEST(Conv2dOp, ShapesAndGraph) {
  // ResNet conv1 geometry and a depthwise ASPP branch keep PyTorch's output sizes.
  Tensor y = conv2d(Tensor::zeros({1, 3, 33, 31}), Tensor::zeros({8, 3, 7, 7}), Tensor(),
                    {{2, 2}, {3, 3}, {1, 1}, 1});
  EXPECT_EQ(y.shape(), Shape({1, 8, 17, 16}));
  Tensor z = conv2d(Tensor::zeros({2, 4, 9, 9}), Tensor::zeros({8, 1, 3, 3}), Tensor(),
                    {{1, 1}, {12, 12}, {12, 12}, 4});
  EXPECT_EQ(z.shape(), Shape({2, 8, 9, 9}));
  EXPECT_FALSE(z.requires_grad());  // nothing required grad: no node recorded
  // An empty batch gives an empty output and zero weight/bias gradients (PyTorch agrees).
  Tensor w = Tensor::ones({3, 2, 3, 3}).requires_grad_(), b = Tensor::ones({3}).requires_grad_();
  Tensor e = conv2d(Tensor::zeros({0, 2, 5, 5}), w, b, {{1, 1}, {1, 1}, {1, 1}, 1});
  EXPECT_EQ(e.shape(), Shape({0, 3, 5, 5}));
  e.backward(Tensor::zeros({0, 3, 5, 5}));
  for (double v : w.grad().to_vector()) EXPECT_EQ(v, 0.0);
  for (double v : b.grad().to_vector()) EXPECT_EQ(v, 0.0);
}

TEST(Conv2dOp, GradientsAreBitwiseReproducible) {
  // Training must be reproducible (bit-identical --resume): the per-thread partial sums of
  // the weight gradient must not depend on thread timing.
  Tensor x = Tensor::empty({6, 8, 17, 19}), w0 = Tensor::empty({16, 8, 3, 3});
  Generator gen(11);
  uniform_(x, -1, 1, gen);
  uniform_(w0, -1, 1, gen);
  std::vector<double> first;
  for (int rep = 0; rep < 6; ++rep) {
    Tensor w = w0.clone().requires_grad_();
    Tensor y = conv2d(x, w, Tensor(), {{1, 1}, {1, 1}, {1, 1}, 1});
    y.backward(Tensor::ones(y.shape()));
    std::vector<double> g = w.grad().to_vector();
    if (rep == 0) first = g;
    ASSERT_EQ(g, first) << "weight gradient differs on repetition " << rep;
  }
}

}  // namespace
}  // namespace xgd
