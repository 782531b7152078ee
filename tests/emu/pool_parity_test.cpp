// Pooling CUDA kernels (kernels/cuda/pool.cu) against the CPU backend (kernels/cpu/pool.cpp):
// max_pool2d (values, argmax indices with ties and NaN, backward through overlapping windows),
// avg_pool2d (count_include_pad on and off, ceil mode), adaptive_avg_pool2d (PSPNet bins
// 1, 2, 3, 6, ASPP's global pool, non-divisible and upsampling sizes), float and double, odd
// sizes, partial blocks, grid-stride loops over few blocks. Tolerances: tests/emu/tolerance.h.
// Label emu (the kernels under the CPU execution of CUDA) and gpu (the same on a device).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "engine/tensor.h"
#include "kernels/common/pool.h"
#include "kernels/cpu/pool.h"
#include "kernels/cuda/pool.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

namespace cpu = kernels::cpu;
namespace gpu = kernels::cuda;
using cpu::Pool2dGeometry;

// Values on a grid of 1/8 in [-2, 2]: windows hold ties, so the first-maximum rule is tested.
template <class T>
std::vector<T> random_vec(size_t n, uint64_t seed, bool quantised) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-2, 2);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(quantised ? std::round(u(rng) * 8) / 8 : u(rng));
  return v;
}

template <class T>
void expect_parity(const std::string& op, const std::vector<T>& device, const std::vector<T>& host,
                   const std::string& what, double length = 0, double max_abs = 0) {
  Tol tol = parity_tolerance(op, std::is_same_v<T, double>, length, max_abs);
  Shape s{static_cast<int64_t>(host.size())};
  EXPECT_ALL_CLOSE(Tensor::from_data(device.data(), s), Tensor::from_data(host.data(), s), tol.atol,
                   tol.rtol)
      << op << " " << what;
}

struct WindowCase {
  int64_t planes, in_h, in_w, k_h, k_w, s_h, s_w, p_h, p_w;
  bool ceil_mode;
  const char* name;
};
const WindowCase kWindowCases[] = {
    {6, 33, 34, 3, 3, 2, 2, 1, 1, false, "resnet stem 3x3 s2 p1"},
    {3, 15, 17, 2, 2, 2, 2, 0, 0, false, "2x2 s2, odd sizes"},
    {4, 16, 17, 3, 3, 2, 2, 1, 1, true, "3x3 s2 p1 ceil"},
    {2, 9, 10, 3, 3, 1, 1, 1, 1, false, "3x3 s1 p1 (every input in 9 windows)"},
    {5, 11, 7, 3, 2, 2, 1, 1, 0, true, "3x2 s(2,1) p(1,0) ceil"},
    {15, 20, 23, 5, 5, 3, 3, 2, 2, true, "5x5 s3 p2 ceil, 15 planes"},
    {1, 1, 1, 1, 1, 1, 1, 0, 0, false, "1x1"},
};

Pool2dGeometry geometry(const WindowCase& c) {
  Pool2dGeometry g;
  g.planes = c.planes, g.in_h = c.in_h, g.in_w = c.in_w;
  g.k_h = c.k_h, g.k_w = c.k_w, g.s_h = c.s_h, g.s_w = c.s_w, g.p_h = c.p_h, g.p_w = c.p_w;
  g.out_h = kernels::pool_out_size(c.in_h, c.k_h, c.s_h, c.p_h, c.ceil_mode);
  g.out_w = kernels::pool_out_size(c.in_w, c.k_w, c.s_w, c.p_w, c.ceil_mode);
  return g;
}

template <class T>
void max_pool_case(const WindowCase& c, uint64_t seed) {
  const Pool2dGeometry g = geometry(c);
  const int64_t nx = g.planes * g.in_h * g.in_w, ny = g.planes * g.out_h * g.out_w;
  auto x = random_vec<T>(nx, seed, true);
  if (nx > 40) x[37] = std::numeric_limits<T>::quiet_NaN();  // propagates, index included
  auto dy = random_vec<T>(ny, seed + 1, false);
  std::vector<T> y(ny), dx(nx);
  std::vector<int64_t> idx(ny);
  cpu::max_pool2d_forward<T>(x.data(), y.data(), idx.data(), g);
  cpu::max_pool2d_backward<T>(dy.data(), idx.data(), dx.data(), g);

  DeviceBuffer<T> d_x(x), d_y(ny), d_dy(dy), d_dx(nx);
  DeviceBuffer<int64_t> d_idx(ny);
  gpu::max_pool2d_forward<T>(d_x.get(), d_y.get(), d_idx.get(), g, nullptr);
  const std::string what = std::string(c.name) + (sizeof(T) == 8 ? " f64" : " f32");
  expect_parity("max_pool2d", d_y.to_host(), y, what);
  EXPECT_EQ(d_idx.to_host(), idx) << "max_pool2d indices " << what;
  // The backward reads the CPU's indices (equal, checked above) to test it on its own.
  DeviceBuffer<int64_t> h_idx(idx);
  gpu::max_pool2d_backward<T>(d_dy.get(), h_idx.get(), d_dx.get(), g, nullptr);
  expect_parity("max_pool2d_backward", d_dx.to_host(), dx, what);
  // Without indices (no backward follows): the same values.
  DeviceBuffer<T> d_y2(ny);
  gpu::max_pool2d_forward<T>(d_x.get(), d_y2.get(), nullptr, g, nullptr);
  expect_parity("max_pool2d", d_y2.to_host(), y, what + " without indices");
}

template <class T>
void avg_pool_case(const WindowCase& c, bool include_pad, uint64_t seed) {
  const Pool2dGeometry g = geometry(c);
  const int64_t nx = g.planes * g.in_h * g.in_w, ny = g.planes * g.out_h * g.out_w;
  auto x = random_vec<T>(nx, seed, false);
  auto dy = random_vec<T>(ny, seed + 1, false);
  std::vector<T> y(ny), dx(nx);
  cpu::avg_pool2d_forward<T>(x.data(), y.data(), g, include_pad);
  cpu::avg_pool2d_backward<T>(dy.data(), dx.data(), g, include_pad);
  DeviceBuffer<T> d_x(x), d_y(ny), d_dy(dy), d_dx(nx);
  gpu::avg_pool2d_forward<T>(d_x.get(), d_y.get(), g, include_pad, nullptr);
  gpu::avg_pool2d_backward<T>(d_dy.get(), d_dx.get(), g, include_pad, nullptr);
  const std::string what = std::string(c.name) + (include_pad ? " include_pad" : " exclude_pad") +
                           (sizeof(T) == 8 ? " f64" : " f32");
  expect_parity("avg_pool2d", d_y.to_host(), y, what);
  expect_parity("avg_pool2d_backward", d_dx.to_host(), dx, what);
}

struct AdaptiveCase {
  int64_t planes, in_h, in_w, out_h, out_w;
  const char* name;
};
const AdaptiveCase kAdaptiveCases[] = {
    {6, 20, 20, 1, 1, "pspnet bin 1 / aspp global pool (warp per output)"},
    {6, 13, 13, 2, 2, "bin 2, non-divisible"},
    {6, 13, 13, 3, 3, "bin 3, non-divisible"},
    {6, 13, 13, 6, 6, "bin 6, non-divisible"},
    {4, 33, 31, 1, 1, "global pool, odd sizes"},
    {3, 40, 37, 2, 3, "large overlapping bins (warp per output)"},
    {5, 7, 5, 6, 4, "7x5 to 6x4"},
    {2, 4, 3, 6, 5, "upsampling 4x3 to 6x5 (repeated inputs)"},
    {300, 3, 3, 1, 1, "300 planes, small bins"},
};

template <class T>
void adaptive_case(const AdaptiveCase& c, uint64_t seed) {
  Pool2dGeometry g;
  g.planes = c.planes, g.in_h = c.in_h, g.in_w = c.in_w, g.out_h = c.out_h, g.out_w = c.out_w;
  const int64_t nx = g.planes * g.in_h * g.in_w, ny = g.planes * g.out_h * g.out_w;
  auto x = random_vec<T>(nx, seed, false);
  auto dy = random_vec<T>(ny, seed + 1, false);
  std::vector<T> y(ny), dx(nx);
  cpu::adaptive_avg_pool2d_forward<T>(x.data(), y.data(), g);
  cpu::adaptive_avg_pool2d_backward<T>(dy.data(), dx.data(), g);
  DeviceBuffer<T> d_x(x), d_y(ny), d_dy(dy), d_dx(nx);
  gpu::adaptive_avg_pool2d_forward<T>(d_x.get(), d_y.get(), g, nullptr);
  gpu::adaptive_avg_pool2d_backward<T>(d_dy.get(), d_dx.get(), g, nullptr);
  const std::string what = std::string(c.name) + (sizeof(T) == 8 ? " f64" : " f32");
  // Bin sums in double of at most in_h·in_w terms of magnitude <= 2, divided by the bin size.
  expect_parity("adaptive_avg_pool2d", d_y.to_host(), y, what, double(c.in_h * c.in_w), 2.0);
  expect_parity("adaptive_avg_pool2d_backward", d_dx.to_host(), dx, what);
}

class PoolParity : public ::testing::Test {
 protected:
  void SetUp() override { gpu::set_max_grid_blocks(0); }
  void TearDown() override { gpu::set_max_grid_blocks(0); }
};

TEST_F(PoolParity, MaxPool) {
  XGD_REQUIRE_DEVICE();
  uint64_t seed = 1;
  for (const WindowCase& c : kWindowCases) {
    max_pool_case<float>(c, seed);
    max_pool_case<double>(c, seed);
    seed += 10;
  }
}

TEST_F(PoolParity, AvgPool) {
  XGD_REQUIRE_DEVICE();
  uint64_t seed = 100;
  for (const WindowCase& c : kWindowCases)
    for (bool include_pad : {true, false}) {
      avg_pool_case<float>(c, include_pad, seed);
      avg_pool_case<double>(c, include_pad, seed);
      seed += 10;
    }
}

TEST_F(PoolParity, AdaptiveAvgPool) {
  XGD_REQUIRE_DEVICE();
  uint64_t seed = 200;
  for (const AdaptiveCase& c : kAdaptiveCases) {
    adaptive_case<float>(c, seed);
    adaptive_case<double>(c, seed);
    seed += 10;
  }
}

TEST_F(PoolParity, GridStrideLoopsWithFewBlocks) {
  XGD_REQUIRE_DEVICE();
  gpu::set_max_grid_blocks(2);  // 2 blocks of 256 threads (8 warps each) for every kernel
  max_pool_case<float>(kWindowCases[0], 300);
  max_pool_case<double>(kWindowCases[5], 301);
  avg_pool_case<float>(kWindowCases[5], false, 302);
  avg_pool_case<double>(kWindowCases[0], true, 303);
  adaptive_case<float>(kAdaptiveCases[0], 304);  // 6 warps' outputs over 16 warps: one pass
  adaptive_case<float>(kAdaptiveCases[5], 305);  // 18 outputs over 16 warps: a second pass
  adaptive_case<double>(kAdaptiveCases[8], 306);
}

}  // namespace
}  // namespace xgd::test
