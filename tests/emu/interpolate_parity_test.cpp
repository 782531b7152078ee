// Bilinear CUDA kernels (kernels/cuda/interpolate.cu) against the CPU backend
// (kernels/cpu/interpolate.cpp), float and double: sizes and scale factors 2/4/8/0.5 and
// non-integer ones, both align_corners, odd sizes, single-pixel dims, copied dims (in == out),
// partial blocks and grid-stride loops. Both directions are bit-exact (tolerance.h): the same
// unfused products and sums in the same order. Also the index-range helper of the gathered
// backward (kernels/common/interpolate.h) against a brute-force scan.
// Label emu (the kernels under the CPU execution of CUDA) and gpu (the same on a device).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "engine/tensor.h"
#include "kernels/common/interpolate.h"
#include "kernels/cpu/interpolate.h"
#include "kernels/cuda/interpolate.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

namespace cpu = kernels::cpu;
namespace gpu = kernels::cuda;
using cpu::ResizeGeometry;

template <class T>
std::vector<T> random_vec(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-2, 2);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(u(rng));
  return v;
}

template <class T>
void expect_parity(const std::string& op, const std::vector<T>& device, const std::vector<T>& host,
                   const std::string& what) {
  Tol tol = parity_tolerance(op, std::is_same_v<T, double>);
  Shape s{static_cast<int64_t>(host.size())};
  EXPECT_ALL_CLOSE(Tensor::from_data(device.data(), s), Tensor::from_data(host.data(), s), tol.atol,
                   tol.rtol)
      << op << " " << what;
}

// A resize case: by size (scale <= 0) or by scale factor (output floor(in·scale), as the
// engine's interpolate_bilinear_scale).
struct Case {
  int64_t planes, in_h, in_w;
  int64_t out_h, out_w;  // used when scale_h <= 0
  double scale_h, scale_w;
};

ResizeGeometry geometry(const Case& c, bool align_corners) {
  ResizeGeometry g;
  g.planes = c.planes;
  g.in_h = c.in_h;
  g.in_w = c.in_w;
  g.align_corners = align_corners;
  if (c.scale_h > 0) {
    g.out_h = static_cast<int64_t>(std::floor(double(c.in_h) * c.scale_h));
    g.out_w = static_cast<int64_t>(std::floor(double(c.in_w) * c.scale_w));
    g.scale_h = c.scale_h;
    g.scale_w = c.scale_w;
  } else {
    g.out_h = c.out_h;
    g.out_w = c.out_w;
  }
  return g;
}

std::string describe(const ResizeGeometry& g) {
  return "P " + std::to_string(g.planes) + " [" + std::to_string(g.in_h) + ", " +
         std::to_string(g.in_w) + "] -> [" + std::to_string(g.out_h) + ", " +
         std::to_string(g.out_w) + "] scale [" + std::to_string(g.scale_h) + ", " +
         std::to_string(g.scale_w) + "] align_corners " + std::to_string(g.align_corners);
}

const Case kCases[] = {
    {3, 5, 7, 20, 28, 0, 0},      // ×4 by size, odd input
    {2, 9, 13, 0, 0, 8, 8},       // ×8 by scale (DeepLabV3+ head)
    {2, 11, 6, 0, 0, 4, 4},       // ×4 by scale (decoder)
    {1, 7, 9, 0, 0, 2, 2},        // ×2
    {2, 17, 23, 0, 0, 0.5, 0.5},  // ×0.5 by scale, odd input (labels/saliency)
    {1, 33, 31, 9, 10, 0, 0},     // downsampling by size, uneven ratio
    {2, 5, 6, 5, 13, 0, 0},       // H copied (in == out), W upsampled
    {1, 3, 8, 0, 0, 1.3, 0.7},    // non-integer scales; floor(3·1.3) = 3: H copied
    {1, 4, 5, 1, 1, 0, 0},        // one output pixel (align_corners scale 0)
    {2, 1, 1, 3, 4, 0, 0},        // one input pixel
    {1, 1, 9, 4, 3, 0, 0},        // one input row, downsampled W
    {1, 6, 10, 0, 0, 2.5, 1.75},  // fractional up-scales
    {1, 3, 3, 7, 7, 0, 0},        // 3/7 rounds so that src(3) < 1: the range needs its correction
};

template <class T>
void resize_cases() {
  uint64_t seed = 1;
  for (const Case& c : kCases)
    for (bool align : {false, true}) {
      const ResizeGeometry g = geometry(c, align);
      const int64_t n_in = g.planes * g.in_h * g.in_w, n_out = g.planes * g.out_h * g.out_w;
      auto x = random_vec<T>(n_in, seed++);
      auto dy = random_vec<T>(n_out, seed++);
      std::vector<T> y(n_out), dx(n_in);
      cpu::bilinear_forward<T>(x.data(), y.data(), g);
      cpu::bilinear_backward<T>(dy.data(), dx.data(), g);
      DeviceBuffer<T> dx_in(x), d_y(n_out), d_dy(dy), d_dx(n_in);
      gpu::bilinear_forward<T>(dx_in.get(), d_y.get(), g, nullptr);
      gpu::bilinear_backward<T>(d_dy.get(), d_dx.get(), g, nullptr);
      expect_parity("bilinear_forward", d_y.to_host(), y, describe(g));
      expect_parity("bilinear_backward", d_dx.to_host(), dx, describe(g));
    }
}

class InterpolateParity : public ::testing::Test {
 protected:
  void SetUp() override { gpu::set_max_grid_blocks(0); }
  void TearDown() override { gpu::set_max_grid_blocks(0); }
};

TEST_F(InterpolateParity, ForwardAndBackwardBitExact) {
  XGD_REQUIRE_DEVICE();
  resize_cases<float>();
  resize_cases<double>();
}

TEST_F(InterpolateParity, GridStrideLoopsWithFewBlocks) {
  XGD_REQUIRE_DEVICE();
  // 2 blocks of 256 threads for 1170..7488 outputs: every thread loops several times.
  gpu::set_max_grid_blocks(2);
  for (const Case& c : {kCases[1], kCases[4]}) {
    const ResizeGeometry g = geometry(c, false);
    const int64_t n_in = g.planes * g.in_h * g.in_w, n_out = g.planes * g.out_h * g.out_w;
    auto x = random_vec<float>(n_in, 50), dy = random_vec<float>(n_out, 51);
    std::vector<float> y(n_out), dx(n_in);
    cpu::bilinear_forward<float>(x.data(), y.data(), g);
    cpu::bilinear_backward<float>(dy.data(), dx.data(), g);
    DeviceBuffer<float> d_x(x), d_y(n_out), d_dy(dy), d_dx(n_in);
    gpu::bilinear_forward<float>(d_x.get(), d_y.get(), g, nullptr);
    gpu::bilinear_backward<float>(d_dy.get(), d_dx.get(), g, nullptr);
    expect_parity("bilinear_forward", d_y.to_host(), y, "2 blocks, " + describe(g));
    expect_parity("bilinear_backward", d_dx.to_host(), dx, "2 blocks, " + describe(g));
  }
}

TEST_F(InterpolateParity, BackwardIsDeterministic) {
  XGD_REQUIRE_DEVICE();
  // A gather without atomics: two runs give the same bits (on a GPU too).
  const ResizeGeometry g = geometry(kCases[0], false);
  const int64_t n_in = g.planes * g.in_h * g.in_w, n_out = g.planes * g.out_h * g.out_w;
  DeviceBuffer<float> d_dy(random_vec<float>(n_out, 60)), d_dx(n_in);
  gpu::bilinear_backward<float>(d_dy.get(), d_dx.get(), g, nullptr);
  const auto first = d_dx.to_host();
  gpu::bilinear_backward<float>(d_dy.get(), d_dx.get(), g, nullptr);
  const auto second = d_dx.to_host();
  EXPECT_EQ(0, std::memcmp(first.data(), second.data(), first.size() * sizeof(float)));
}

// linear_first_at_least(t) is the first o with i0(o) >= t, for every (in, out, scale) tried;
// host code, so it runs in both builds without a device.
template <class T>
void range_cases() {
  for (bool align : {false, true})
    for (int64_t in : {1, 2, 3, 5, 8, 13, 64, 97})
      for (int64_t out : {1, 2, 3, 4, 7, 16, 25, 64, 129, 512, 776})
        for (double factor : {0.0, 0.5, 2.0, 4.0, 8.0, 1.3, 0.37}) {
          if (factor > 0 && static_cast<int64_t>(std::floor(double(in) * factor)) != out) continue;
          const T scale = kernels::linear_scale<T>(in, out, align, factor);
          std::vector<int64_t> i0(out);
          for (int64_t o = 0; o < out; ++o)
            i0[o] = kernels::linear_tap<T>(o, in, out, scale, align).i0;
          for (int64_t t = -1; t <= in + 1; ++t) {
            int64_t expected = 0;
            while (expected < out && i0[expected] < t) ++expected;
            ASSERT_EQ(kernels::linear_first_at_least<T>(t, in, out, scale, align), expected)
                << "target " << t << " in " << in << " out " << out << " factor " << factor
                << " align_corners " << align;
          }
        }
}

TEST(InterpolateIndexRange, FirstOutputReadingAnInputMatchesBruteForce) {
  range_cases<float>();
  range_cases<double>();
}

}  // namespace
}  // namespace xgd::test
