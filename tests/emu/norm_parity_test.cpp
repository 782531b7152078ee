// Batch-norm CUDA kernels (kernels/cuda/norm.cu) against the CPU backend (kernels/cpu/norm.cpp)
// on the same inputs, float and double: Welford statistics (one chunk per channel and several,
// merged), eval statistics, forward with and without affine parameters, backward in training
// and eval modes with every subset of outputs, the running-stat update. Shapes: odd sizes,
// 1×1 planes, channels of one value pair, planes longer than a block; each also with a 3-block
// grid (set_max_grid_blocks). Tolerances: tests/emu/tolerance.h. Labels emu and gpu.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "engine/tensor.h"
#include "kernels/common/norm.h"
#include "kernels/cpu/norm.h"
#include "kernels/cuda/norm.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

namespace cpu = kernels::cpu;
namespace gpu = kernels::cuda;
using cpu::BatchNormGeometry;

// (N, C, HW): odd sizes; HW = 1 (ASPP's pooled branch); 2 values per channel; chunked channels
// (N·HW >= 8192 with few channels: 3 chunks); more channels than a few blocks.
const BatchNormGeometry kShapes[] = {{2, 3, 35}, {5, 7, 1}, {1, 4, 2}, {2, 1, 4200}, {2, 9, 9}};

std::string name(const BatchNormGeometry& g) {
  std::string s = "(N, C, HW) = (";
  for (int64_t v : {g.n, g.c, g.hw}) {
    s += std::to_string(v);
    s += " ";
  }
  s += ")";
  return s;
}

template <class T>
void expect_close(const std::vector<T>& got, const std::vector<T>& ref, double atol, double rtol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  Shape s{static_cast<int64_t>(ref.size())};
  EXPECT_ALL_CLOSE(Tensor::from_data(got.data(), s), Tensor::from_data(ref.data(), s), atol, rtol)
      << what;
}
template <class T>
void expect_parity(const std::string& op, bool f64, const std::vector<T>& got,
                   const std::vector<T>& ref, const std::string& what, double length = 0,
                   double max_abs = 0) {
  Tol t = parity_tolerance(op, f64, length, max_abs);
  expect_close(got, ref, t.atol, t.rtol, op + " " + what);
}
// batch_norm_backward's rule: rtol, and atol = rtol · max|reference| (see tolerance.h).
template <class T>
void expect_backward(const std::vector<T>& got, const std::vector<T>& ref,
                     const std::string& what) {
  Tol t = parity_tolerance("batch_norm_backward", std::is_same_v<T, double>);
  double m = 0;
  for (T v : ref) m = std::max(m, std::abs(double(v)));
  expect_close(got, ref, t.rtol * m, t.rtol, "batch_norm_backward " + what);
}

class NormParity : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override { gpu::set_max_grid_blocks(GetParam()); }
  void TearDown() override { gpu::set_max_grid_blocks(0); }
};

template <class T>
void stats_forward_cases() {
  constexpr bool f64 = std::is_same_v<T, double>;
  const double eps = 1e-5;
  uint64_t seed = 1;
  for (const BatchNormGeometry& g : kShapes) {
    const int64_t n = g.n * g.c * g.hw, count = g.n * g.hw;
    // An offset mean (3) over a spread of 2: the statistics are not centred at zero.
    auto x = random_vec<T>(n, 1, 5, seed++);
    std::vector<double> mean(g.c), var(g.c), invstd(g.c);
    cpu::batch_norm_stats<T>(x.data(), g, mean.data(), var.data());
    for (int64_t c = 0; c < g.c; ++c) invstd[c] = kernels::bn_invstd(var[c], eps);

    DeviceBuffer<T> dx(x);
    DeviceBuffer<double> dmean(g.c), dvar(g.c), dinv(g.c), ws(gpu::batch_norm_workspace(g));
    gpu::batch_norm_stats<T>(dx.get(), g, eps, dmean.get(), dvar.get(), dinv.get(), ws.get(),
                             nullptr);
    expect_parity("batch_norm_stats", true, dmean.to_host(), mean, "mean " + name(g), double(count),
                  5.0);
    expect_parity("batch_norm_stats", true, dvar.to_host(), var, "var " + name(g), double(count),
                  25.0);
    // invstd = (v + eps)^-1/2 moves by invstd³/2 per unit of v.
    double slope = 0;
    for (double i : invstd) slope = std::max(slope, 0.5 * i * i * i);
    expect_parity("batch_norm_stats", true, dinv.to_host(), invstd, "invstd " + name(g),
                  double(count), 25.0 * slope);

    // Forward from the same statistics (the CPU's), with and without weight and bias.
    auto w = random_vec<T>(g.c, 0.5, 1.5, seed++), b = random_vec<T>(g.c, -1, 1, seed++);
    DeviceBuffer<double> cmean(mean), cinv(invstd);
    DeviceBuffer<T> dw(w), db(b), dy(n);
    for (bool affine : {true, false}) {
      std::vector<T> ref(n);
      cpu::batch_norm_forward<T>(x.data(), ref.data(), g, mean.data(), invstd.data(),
                                 affine ? w.data() : nullptr, affine ? b.data() : nullptr);
      gpu::batch_norm_forward<T>(dx.get(), dy.get(), g, cmean.get(), cinv.get(),
                                 affine ? dw.get() : nullptr, affine ? db.get() : nullptr, nullptr);
      expect_parity("batch_norm_forward", f64, dy.to_host(), ref,
                    name(g) + (affine ? " affine" : " plain"));
    }

    // Running statistics: the update from the batch's, and eval statistics from them.
    auto rm = random_vec<T>(g.c, -1, 1, seed++), rv = random_vec<T>(g.c, 0.5, 2, seed++);
    DeviceBuffer<T> drm(rm), drv(rv);
    DeviceBuffer<double> cvar(var);
    cpu::batch_norm_update_running<T>(rm.data(), rv.data(), mean.data(), var.data(), g.c, count,
                                      0.1);
    gpu::batch_norm_update_running<T>(drm.get(), drv.get(), cmean.get(), cvar.get(), g.c, count,
                                      0.1, nullptr);
    expect_parity("batch_norm_update_running", f64, drm.to_host(), rm, "mean " + name(g));
    expect_parity("batch_norm_update_running", f64, drv.to_host(), rv, "var " + name(g));
    std::vector<double> em(g.c), ei(g.c);
    for (int64_t c = 0; c < g.c; ++c) {
      em[c] = double(rm[c]);
      ei[c] = kernels::bn_invstd(double(rv[c]), eps);
    }
    gpu::batch_norm_eval_stats<T>(drm.get(), drv.get(), g.c, eps, dmean.get(), dinv.get(), nullptr);
    expect_parity("batch_norm_eval_stats", true, dmean.to_host(), em, "mean " + name(g));
    expect_parity("batch_norm_eval_stats", true, dinv.to_host(), ei, "invstd " + name(g));
  }
}
TEST_P(NormParity, StatisticsForwardAndRunningUpdate) {
  XGD_REQUIRE_DEVICE();
  stats_forward_cases<float>();
  stats_forward_cases<double>();
}

template <class T>
void backward_cases() {
  const double eps = 1e-5;
  uint64_t seed = 100;
  for (const BatchNormGeometry& g : kShapes) {
    const int64_t n = g.n * g.c * g.hw;
    auto x = random_vec<T>(n, -2, 3, seed++), dy = random_vec<T>(n, -1, 1, seed++);
    auto w = random_vec<T>(g.c, 0.5, 1.5, seed++);
    std::vector<double> mean(g.c), var(g.c), invstd(g.c);
    cpu::batch_norm_stats<T>(x.data(), g, mean.data(), var.data());
    for (int64_t c = 0; c < g.c; ++c) invstd[c] = kernels::bn_invstd(var[c], eps);
    DeviceBuffer<T> dx(x), ddy(dy), dw(w);
    DeviceBuffer<double> cmean(mean), cinv(invstd), ws(gpu::batch_norm_workspace(g));
    for (bool training : {true, false}) {
      // Outputs wanted: all three, dx only (no weight), the parameter gradients only.
      const std::vector<int> wants = training ? std::vector<int>{7, 1, 6} : std::vector<int>{7, 1};
      for (int want : wants) {
        const bool with_w = want != 1;
        std::vector<T> rdx(n), rdw(g.c), rdb(g.c);
        cpu::batch_norm_backward<T>(x.data(), dy.data(), want & 1 ? rdx.data() : nullptr,
                                    want & 2 ? rdw.data() : nullptr,
                                    want & 4 ? rdb.data() : nullptr, g, mean.data(), invstd.data(),
                                    with_w ? w.data() : nullptr, training);
        DeviceBuffer<T> gdx(n), gdw(g.c), gdb(g.c);
        gpu::batch_norm_backward<T>(dx.get(), ddy.get(), want & 1 ? gdx.get() : nullptr,
                                    want & 2 ? gdw.get() : nullptr, want & 4 ? gdb.get() : nullptr,
                                    g, cmean.get(), cinv.get(), with_w ? dw.get() : nullptr,
                                    training, ws.get(), nullptr);
        std::string what = name(g);
        what += training ? " train want " : " eval want ";
        what += std::to_string(want);
        if (want & 1) expect_backward(gdx.to_host(), rdx, "dx " + what);
        if (want & 2) expect_backward(gdw.to_host(), rdw, "dweight " + what);
        if (want & 4) expect_backward(gdb.to_host(), rdb, "dbias " + what);
      }
    }
  }
}
TEST_P(NormParity, BackwardTrainAndEval) {
  XGD_REQUIRE_DEVICE();
  backward_cases<float>();
  backward_cases<double>();
}

TEST_P(NormParity, CounterIncrementsOnTheDevice) {
  XGD_REQUIRE_DEVICE();
  DeviceBuffer<int64_t> counter(std::vector<int64_t>{41});
  gpu::increment_counter(counter.get(), nullptr);
  EXPECT_EQ(counter.to_host(), std::vector<int64_t>{42});
}

INSTANTIATE_TEST_SUITE_P(Grid, NormParity, ::testing::Values(0u, 3u), [](const auto& info) {
  return "max_blocks_" + std::to_string(info.param);
});

}  // namespace
}  // namespace xgd::test
