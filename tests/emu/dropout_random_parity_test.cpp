// Dropout and random-fill CUDA kernels (kernels/cuda/dropout.cu, random.cu) against the CPU
// backend on the same Philox stream: the masks, the dropped values and the uniform fills are
// bit-identical (tolerance.h: dropout, uniform_fill = 0 ulps); normal fills are within
// normal_fill's budget (the device's double log / cos). Several seeds, counter offsets past
// 2^32 (the 64-bit counter), sizes that end inside a Philox counter, grid-stride loops.
// Label emu and gpu.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>
#include <string>

#include "engine/tensor.h"
#include "kernels/common/dropout.h"
#include "kernels/common/philox.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cuda/api.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/random.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

namespace cpu = kernels::cpu;
namespace gpu = kernels::cuda;

// Element-wise equality of the bits (NaN, ±0 included), reporting the first few differences.
template <class T>
::testing::AssertionResult same_bits(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "sizes differ";
  int bad = 0;
  std::ostringstream msg;
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &want[i], sizeof(T)) != 0 && bad++ < 5)
      msg << " [" << i << "] " << +got[i] << " != " << +want[i];
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << got.size() << " differ:" << msg.str();
}

// Sizes: one element, inside the first counter, ends mid-counter, a block of counters ±1
// (256 threads × 4 elements), several blocks.
constexpr int64_t kSizes[] = {1, 3, 5, 1023, 1025, 4099};
struct Stream {
  uint64_t seed, first;
};
constexpr Stream kStreams[] = {{0, 0}, {42, 7}, {0x9E3779B97F4A7C15ull, (1ull << 32) + 3}};

class DropoutRandomParity : public ::testing::Test {
 protected:
  void SetUp() override { gpu::set_max_grid_blocks(0); }
  void TearDown() override { gpu::set_max_grid_blocks(0); }
};

template <class T>
void dropout_cases() {
  for (int64_t n : kSizes)
    for (const Stream& st : kStreams)
      for (double p : {0.1, 0.9}) {
        const std::string what = "n " + std::to_string(n) + " seed " + std::to_string(st.seed) +
                                 " first " + std::to_string(st.first) + " p " + std::to_string(p);
        const uint32_t threshold = kernels::dropout_threshold(p);
        const T scale = T(1.0 / (1.0 - p));
        auto x = random_vec<T>(n, -2, 2, n);
        std::vector<uint8_t> mask(n);
        std::vector<T> ref(n);
        cpu::dropout_mask(st.seed, st.first, n, threshold, mask.data());
        cpu::dropout_apply<T>(x.data(), mask.data(), n, 1, scale, ref.data());

        DeviceBuffer<uint8_t> dmask(n), fmask(n);
        gpu::dropout_mask(st.seed, st.first, n, threshold, dmask.get(), nullptr);
        EXPECT_TRUE(same_bits(dmask.to_host(), mask)) << "mask " << what;
        DeviceBuffer<T> dx(x), out(n), back(n);
        gpu::dropout_forward<T>(dx.get(), st.seed, st.first, n, threshold, scale, fmask.get(),
                                out.get(), nullptr);
        EXPECT_TRUE(same_bits(fmask.to_host(), mask)) << "fused mask " << what;
        EXPECT_TRUE(same_bits(out.to_host(), ref)) << "fused values " << what;
        gpu::dropout_apply<T>(dx.get(), dmask.get(), n, 1, scale, back.get(), nullptr);
        EXPECT_TRUE(same_bits(back.to_host(), ref)) << "apply " << what;
      }
}
TEST_F(DropoutRandomParity, DropoutMaskAndValuesAreBitIdentical) {
  XGD_REQUIRE_DEVICE();
  dropout_cases<float>();
  dropout_cases<double>();
}

// dropout2d: one mask byte per (n, c) plane of `group` = H·W elements; special values too
// (a dropped inf is NaN, as x · 0).
template <class T>
void dropout2d_cases() {
  for (auto [planes, group] : {std::pair<int64_t, int64_t>{6, 1}, {7, 9}, {3, 257}, {30, 35}}) {
    auto x = random_vec<T>(planes * group, -2, 2, planes + group);
    x[0] = std::numeric_limits<T>::infinity();
    x[x.size() / 2] = -T(0);
    std::vector<uint8_t> mask(planes);
    cpu::dropout_mask(5, 11, planes, kernels::dropout_threshold(0.5), mask.data());
    std::vector<T> ref(x.size());
    cpu::dropout_apply<T>(x.data(), mask.data(), planes, group, T(2), ref.data());
    DeviceBuffer<T> dx(x), out(x.size());
    DeviceBuffer<uint8_t> dmask(mask);
    gpu::dropout_apply<T>(dx.get(), dmask.get(), planes, group, T(2), out.get(), nullptr);
    EXPECT_TRUE(same_bits(out.to_host(), ref)) << "planes " << planes << " group " << group;
  }
}
TEST_F(DropoutRandomParity, Dropout2dPlanesAreBitIdentical) {
  XGD_REQUIRE_DEVICE();
  dropout2d_cases<float>();
  dropout2d_cases<double>();
}

// The CPU fill of engine/rng.cpp: element i from kernels/common/philox.h.
template <class T>
std::vector<T> cpu_uniform(int64_t n, const Stream& st, double lo, double hi) {
  std::vector<T> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] =
        static_cast<T>(kernels::fill_uniform(kernels::philox_word(st.seed, st.first, i), lo, hi));
  return v;
}
template <class T>
std::vector<T> cpu_normal(int64_t n, const Stream& st, double mean, double sd) {
  std::vector<T> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = static_cast<T>(kernels::fill_normal(kernels::philox_word(st.seed, st.first, 2 * i),
                                               kernels::philox_word(st.seed, st.first, 2 * i + 1),
                                               mean, sd));
  return v;
}

template <class T>
void fill_cases() {
  const bool f64 = std::is_same_v<T, double>;
  for (int64_t n : kSizes)
    for (const Stream& st : kStreams) {
      const std::string what = "n " + std::to_string(n) + " seed " + std::to_string(st.seed) +
                               " first " + std::to_string(st.first);
      for (auto [lo, hi] : {std::pair{0.0, 1.0}, {-0.125, 0.125}, {-3.7, 11.3}}) {
        DeviceBuffer<T> out(n);
        gpu::uniform_fill<T>(out.get(), n, st.seed, st.first, lo, hi, nullptr);
        EXPECT_TRUE(same_bits(out.to_host(), cpu_uniform<T>(n, st, lo, hi)))
            << "uniform [" << lo << ", " << hi << ") " << what;
      }
      for (auto [mean, sd] : {std::pair{0.0, 1.0}, {0.5, 0.02}}) {
        DeviceBuffer<T> out(n);
        gpu::normal_fill<T>(out.get(), n, st.seed, st.first, mean, sd, nullptr);
        const auto ref = cpu_normal<T>(n, st, mean, sd);
        // Relative to the value; absolute in units of stddev·√(−2 ln u1) ≤ 5.8·sd for the
        // cancellation of mean + sd·…: the device's double error is relative to that term.
        const Tol t = parity_tolerance("normal_fill", f64);
        Shape s{n};
        EXPECT_ALL_CLOSE(Tensor::from_data(out.to_host().data(), s),
                         Tensor::from_data(ref.data(), s), t.rtol * 5.8 * sd, t.rtol)
            << "normal (" << mean << ", " << sd << ") " << what;
      }
    }
}
TEST_F(DropoutRandomParity, FillsMatchTheCpuStream) {
  XGD_REQUIRE_DEVICE();
  fill_cases<float>();
  fill_cases<double>();
}

TEST_F(DropoutRandomParity, GridStrideLoopsWithOneBlock) {
  XGD_REQUIRE_DEVICE();
  gpu::set_max_grid_blocks(1);  // 256 threads loop over up to 1025 counters
  dropout_cases<float>();
  fill_cases<float>();
}

// The stream is what the tests compare against: a different seed or counter changes it.
TEST_F(DropoutRandomParity, StreamsDifferBySeedAndCounter) {
  XGD_REQUIRE_DEVICE();
  const int64_t n = 64;
  DeviceBuffer<float> a(n), b(n), c(n);
  gpu::uniform_fill<float>(a.get(), n, 1, 0, 0, 1, nullptr);
  gpu::uniform_fill<float>(b.get(), n, 2, 0, 0, 1, nullptr);
  gpu::uniform_fill<float>(c.get(), n, 1, 1, 0, 1, nullptr);
  EXPECT_FALSE(same_bits(a.to_host(), b.to_host()));
  EXPECT_FALSE(same_bits(a.to_host(), c.to_host()));
  // Counter 1 is the second group of 4 words of counter 0's stream.
  auto ha = a.to_host(), hc = c.to_host();
  EXPECT_TRUE(same_bits(std::vector<float>(ha.begin() + 4, ha.end()),
                        std::vector<float>(hc.begin(), hc.end() - 4)));
}

}  // namespace
}  // namespace xgd::test
