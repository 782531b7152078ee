// Dense conv2d CUDA kernels (kernels/cuda/conv.cu) against the CPU backend (kernels/cpu/conv.h)
// on the same inputs, float and double: forward (+bias), backward-data, backward-weight (with
// its split workspace) and backward-bias, over 1×1, 3×3 pad 1, 7×7 stride 2 pad 3, stride 2,
// dilation 2 and 12, groups 2, batch 1 and 3, odd sizes and partial 64×64 tiles in every
// dimension. Float runs the default grid, double a 3-block grid (the kernels' grid-stride tile
// loops). Tolerances: tests/emu/tolerance.h. Labels emu and gpu.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "engine/tensor.h"
#include "kernels/cpu/conv.h"
#include "kernels/cuda/conv.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

namespace cpu = kernels::cpu;
namespace gpu = kernels::cuda;
using cpu::ConvGeom;

struct Case {
  int64_t N, C, H, W, K, k, s, p, d, groups;
  bool bias;
};

// Tiles are 64 (output channels) × 64 (pixels) × 16 (reduction step).
constexpr Case kCases[] = {
    {1, 3, 9, 11, 5, 1, 1, 0, 1, 1, false},    // 1×1, odd sizes, one partial tile
    {3, 5, 9, 7, 7, 3, 1, 1, 1, 1, true},      // 3×3 pad 1, batch 3: 189 pixels (partial tile)
    {2, 3, 19, 17, 8, 7, 2, 3, 1, 1, true},    // ResNet conv1: 7×7 stride 2 pad 3, J = 147
    {1, 6, 10, 9, 10, 3, 2, 1, 1, 1, false},   // 3×3 stride 2, even/odd input
    {2, 4, 11, 10, 6, 3, 1, 2, 2, 1, true},    // dilation 2 (pad = dilation)
    {1, 3, 27, 26, 4, 3, 1, 12, 12, 1, true},  // ASPP rate 12 (pad = dilation)
    {3, 6, 7, 9, 10, 3, 1, 1, 1, 2, true},     // groups 2
    {1, 70, 5, 6, 67, 1, 2, 0, 1, 1, false},   // 1×1 stride 2 (downsample): 67 > 64 channels
    {2, 3, 16, 16, 5, 3, 1, 1, 1, 1, true},    // N·OH·OW = 512: backward-weight in 4 splits
    {3, 2, 13, 12, 4, 3, 1, 1, 1, 1, false},   // 468: 3 splits, the last one partial
};

std::string describe(const Case& c) {
  return detail::concat("N=", c.N, " C=", c.C, " H=", c.H, " W=", c.W, " K=", c.K, " k=", c.k,
                        " s=", c.s, " p=", c.p, " d=", c.d, " g=", c.groups, " bias=", c.bias);
}

ConvGeom geom_of(const Case& c) {
  return cpu::conv_geom(c.N, c.C, c.H, c.W, c.K, c.k, c.k, c.s, c.s, c.p, c.p, c.d, c.d, c.groups);
}

template <class T>
std::vector<T> random_vec(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(u(rng));
  return v;
}
template <class T>
double max_abs(const std::vector<T>& v) {
  double m = 0;
  for (T x : v) m = std::max(m, std::fabs(double(x)));
  return m;
}

// A dot-product tolerance: L terms a·b, accumulated in T (see the conv2d rows of the table).
template <class T>
Tol dot_tol(const std::string& op, double length, double max_a, double max_b) {
  constexpr bool f64 = std::is_same_v<T, double>;
  const double to_t =
      f64 ? 1.0
          : double(std::numeric_limits<float>::epsilon()) / std::numeric_limits<double>::epsilon();
  return parity_tolerance(op, f64, length, max_a * max_b * to_t);
}

template <class T>
void expect_close(const std::vector<T>& got, const std::vector<T>& ref, const Tol& tol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  Shape s{static_cast<int64_t>(ref.size())};
  EXPECT_ALL_CLOSE(Tensor::from_data(got.data(), s), Tensor::from_data(ref.data(), s), tol.atol,
                   tol.rtol)
      << what << " (atol " << tol.atol << ", rtol " << tol.rtol << ")";
}

class ConvParity : public ::testing::Test {
 protected:
  void SetUp() override { gpu::set_max_grid_blocks(0); }
  void TearDown() override { gpu::set_max_grid_blocks(0); }
};

template <class T>
void run_case(const Case& c, uint64_t seed) {
  const ConvGeom g = geom_of(c);
  const std::string what = describe(c) + (std::is_same_v<T, double> ? " double" : " float");
  const size_t xn = g.N * g.C * g.H * g.W, wn = g.K * g.Cg() * g.KH * g.KW;
  const size_t yn = g.N * g.K * g.OH * g.OW;
  const auto x = random_vec<T>(xn, seed), w = random_vec<T>(wn, seed + 1);
  const auto b = random_vec<T>(g.K, seed + 2), dy = random_vec<T>(yn, seed + 3);
  const double mx = max_abs(x), mw = max_abs(w), mdy = max_abs(dy);
  DeviceBuffer<T> dx_(x), dw_(w), db_(b), ddy(dy);

  // forward
  std::vector<T> y_ref(yn);
  cpu::conv2d_forward<T>(g, x.data(), w.data(), c.bias ? b.data() : nullptr, y_ref.data());
  DeviceBuffer<T> y(yn);
  gpu::conv2d_forward<T>(g, dx_.get(), dw_.get(), c.bias ? db_.get() : nullptr, y.get(), nullptr);
  expect_close(y.to_host(), y_ref,
               dot_tol<T>("conv2d_forward", double(g.Cg() * g.KH * g.KW), mx, mw),
               "forward " + what);

  // backward-data
  std::vector<T> gx_ref(xn);
  cpu::conv2d_backward_data<T>(g, dy.data(), w.data(), gx_ref.data());
  DeviceBuffer<T> gx(xn);
  gpu::conv2d_backward_data<T>(g, ddy.get(), dw_.get(), gx.get(), nullptr);
  expect_close(gx.to_host(), gx_ref,
               dot_tol<T>("conv2d_backward_data", double(g.Kg() * g.KH * g.KW), mdy, mw),
               "backward_data " + what);

  // backward-weight, the workspace allocated at exactly the size asked for
  std::vector<T> gw_ref(wn);
  cpu::conv2d_backward_weight<T>(g, x.data(), dy.data(), gw_ref.data());
  const size_t ws_bytes = gpu::conv2d_backward_weight_workspace_bytes<T>(g);
  DeviceBuffer<unsigned char> ws(ws_bytes);
  DeviceBuffer<T> gw(wn);
  gpu::conv2d_backward_weight<T>(g, dx_.get(), ddy.get(), gw.get(), ws_bytes ? ws.get() : nullptr,
                                 ws_bytes, nullptr);
  const auto gw1 = gw.to_host();
  expect_close(gw1, gw_ref,
               dot_tol<T>("conv2d_backward_weight", double(g.N * g.OH * g.OW), mx, mdy),
               "backward_weight " + what + " workspace " + std::to_string(ws_bytes) + " B");
  // Deterministic: a rerun gives the same bits.
  gpu::conv2d_backward_weight<T>(g, dx_.get(), ddy.get(), gw.get(), ws_bytes ? ws.get() : nullptr,
                                 ws_bytes, nullptr);
  const auto gw2 = gw.to_host();
  EXPECT_EQ(0, std::memcmp(gw1.data(), gw2.data(), wn * sizeof(T)))
      << "backward_weight rerun differs, " << what;

  // backward-bias
  std::vector<T> gb_ref(g.K);
  cpu::conv2d_backward_bias<T>(g, dy.data(), gb_ref.data());
  DeviceBuffer<T> gb(g.K);
  gpu::conv2d_backward_bias<T>(g, ddy.get(), gb.get(), nullptr);
  expect_close(gb.to_host(), gb_ref,
               dot_tol<T>("conv2d_backward_bias", double(g.N * g.OH * g.OW), mdy, 1.0),
               "backward_bias " + what);
}

TEST_F(ConvParity, FloatDefaultGrid) {
  XGD_REQUIRE_DEVICE();
  uint64_t seed = 1;
  for (const Case& c : kCases) run_case<float>(c, seed += 10);
}

TEST_F(ConvParity, DoubleGridStride) {
  XGD_REQUIRE_DEVICE();
  gpu::set_max_grid_blocks(3);  // fewer blocks than tiles: every block loops over tiles
  uint64_t seed = 1000;
  for (const Case& c : kCases) run_case<double>(c, seed += 10);
}

// The split reduction of backward-weight really runs on the small cases (and only there needs a
// workspace), and the launcher refuses a workspace smaller than it asked for.
TEST_F(ConvParity, BackwardWeightWorkspace) {
  XGD_REQUIRE_DEVICE();
  const ConvGeom split = geom_of(kCases[8]), single = geom_of(kCases[0]);
  const size_t bytes = gpu::conv2d_backward_weight_workspace_bytes<float>(split);
  EXPECT_EQ(bytes, 4 * size_t(split.K * split.C * 9) * sizeof(float)) << "4 splits of dw";
  EXPECT_EQ(gpu::conv2d_backward_weight_workspace_bytes<float>(single), 0u);
  EXPECT_EQ(gpu::conv2d_backward_weight_workspace_bytes<double>(split), 2 * bytes);
  DeviceBuffer<float> x(split.N * split.C * split.H * split.W), dy(split.N * split.K * 256),
      dw(split.K * split.C * 9), ws(bytes / sizeof(float));
  EXPECT_THROW(gpu::conv2d_backward_weight<float>(split, x.get(), dy.get(), dw.get(), ws.get(),
                                                  bytes - 4, nullptr),
               Error);
}

}  // namespace
}  // namespace xgd::test
