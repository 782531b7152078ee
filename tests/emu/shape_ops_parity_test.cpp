// Shape-op CUDA kernels (kernels/cuda/shape_ops.cu: copy_rows, transpose, one_hot) against the
// CPU backend (kernels/cpu/shape_ops.cpp), and the fill/cast kernels behind Tensor::fill_ and
// Tensor::to(DType) (kernels/cuda/tensor.cu) against static_cast on the host. All exact: byte
// copies are compared with memcmp over the whole destination (bytes outside the copied block
// must be untouched), one_hot/fill/cast element for element. Every word width of the copies
// (16/8/4/2/1 bytes, chosen from the operands' alignment), the tiled and the run transpose,
// partial tiles and grid-stride loops. Label emu and gpu.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <typeinfo>

#include "kernels/cpu/shape_ops.h"
#include "kernels/cuda/shape_ops.h"
#include "kernels/cuda/tensor.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"

namespace xgd::test {
namespace {

namespace cpu = kernels::cpu;
namespace gpu = kernels::cuda;

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// Index of T in the fill/cast tables (kernels/cuda/tensor.h: the engine's DType order).
template <class T>
constexpr int dtype_index() {
  if constexpr (std::is_same_v<T, float>) return 0;
  if constexpr (std::is_same_v<T, double>) return 1;
  if constexpr (std::is_same_v<T, int64_t>) return 2;
  return 3;
}

// The parity table's budget for these ops is 0: exact equality.
void expect_exact_op(const char* op) {
  const Tol t = parity_tolerance(op, false);
  ASSERT_EQ(t.atol + t.rtol, 0.0) << op << " is compared exactly here";
}

class ShapeOpsParity : public ::testing::Test {
 protected:
  void SetUp() override { gpu::set_max_grid_blocks(0); }
  void TearDown() override { gpu::set_max_grid_blocks(0); }
};

struct RowsCase {
  int64_t src_off, src_stride, dst_off, dst_stride, rows, row_bytes;
};

void copy_rows_cases() {
  expect_exact_op("copy");
  const RowsCase cases[] = {
      {0, 0, 0, 0, 1, 4099},        // one contiguous block, odd bytes (1-byte words)
      {0, 0, 0, 0, 1, 4096},        // 16-byte words
      {16, 0, 32, 0, 1, 1000},      // 8-byte words (1000 % 16 = 8)
      {4, 0, 8, 0, 1, 1028},        // 4-byte words (float views at an element offset)
      {2, 0, 6, 0, 1, 514},         // 2-byte words
      {0, 64, 0, 64, 37, 64},       // rows == strides: merged into one block
      {0, 48, 16, 80, 33, 32},      // concat-like: rows into a wider destination, 16-byte words
      {8, 40, 0, 24, 29, 24},       // slice-like: a window of wider source rows, 8-byte words
      {4, 36, 12, 44, 300, 12},     // 4-byte words, many rows (several blocks)
      {1, 9, 3, 11, 17, 5},         // odd everything: 1-byte words
      {0, 4096, 0, 2052, 5, 2052},  // long rows
  };
  uint64_t seed = 1;
  for (const RowsCase& c : cases) {
    const int64_t src_n = c.src_off + (c.rows - 1) * c.src_stride + c.row_bytes;
    const int64_t dst_n = c.dst_off + (c.rows - 1) * c.dst_stride + c.row_bytes + 7;
    const int64_t ss = c.src_stride ? c.src_stride : c.row_bytes;
    const int64_t ds = c.dst_stride ? c.dst_stride : c.row_bytes;
    auto src = random_bytes(src_n, seed++);
    auto dst = random_bytes(dst_n, seed++);  // bytes outside the block must survive
    auto ref = dst;
    cpu::copy_rows(src.data() + c.src_off, ss, ref.data() + c.dst_off, ds, c.rows, c.row_bytes);
    DeviceBuffer<uint8_t> d_src(src), d_dst(dst);
    gpu::copy_rows(d_src.get() + c.src_off, ss, d_dst.get() + c.dst_off, ds, c.rows, c.row_bytes,
                   nullptr);
    const auto got = d_dst.to_host();
    EXPECT_EQ(0, std::memcmp(got.data(), ref.data(), ref.size()))
        << "copy_rows rows " << c.rows << " row_bytes " << c.row_bytes << " strides " << ss << "/"
        << ds << " offsets " << c.src_off << "/" << c.dst_off;
  }
}

TEST_F(ShapeOpsParity, CopyRowsEveryWordWidth) {
  XGD_REQUIRE_DEVICE();
  copy_rows_cases();
  gpu::set_max_grid_blocks(1);  // one block loops over every word
  copy_rows_cases();
}

struct TransposeCase {
  int64_t outer, A, mid, B, inner;
};

void transpose_cases() {
  expect_exact_op("copy");
  const TransposeCase cases[] = {
      {1, 33, 1, 65, 1},  // partial 32×32 tiles on both sides
      {2, 3, 5, 7, 1},    // small, with a middle dim (transpose(0, 2) of a 4-d tensor)
      {3, 40, 2, 31, 1},  // NCHW-like batches
      {1, 1, 1, 100, 1},  // A = 1
      {1, 64, 1, 32, 1},  // whole tiles
      {2, 5, 3, 4, 6},    // inner > 1: runs
      {1, 7, 1, 9, 3},    // inner > 1, odd runs
  };
  uint64_t seed = 100;
  for (int64_t elem : {1, 4, 8})
    for (const TransposeCase& c : cases) {
      const int64_t n = c.outer * c.A * c.mid * c.B * c.inner * elem;
      auto src = random_bytes(n, seed++);
      std::vector<uint8_t> ref(n);
      cpu::transpose(src.data(), ref.data(), c.outer, c.A, c.mid, c.B, c.inner, elem);
      DeviceBuffer<uint8_t> d_src(src), d_dst(n);
      gpu::transpose(d_src.get(), d_dst.get(), c.outer, c.A, c.mid, c.B, c.inner, elem, nullptr);
      const auto got = d_dst.to_host();
      EXPECT_EQ(0, std::memcmp(got.data(), ref.data(), n))
          << "transpose (" << c.outer << ", " << c.A << ", " << c.mid << ", " << c.B << ", "
          << c.inner << ") of " << elem << "-byte elements";
    }
}

TEST_F(ShapeOpsParity, TransposeTiledAndRuns) {
  XGD_REQUIRE_DEVICE();
  transpose_cases();
  gpu::set_max_grid_blocks(2);  // blocks loop over tiles / words
  transpose_cases();
}

template <class T>
void one_hot_cases() {
  expect_exact_op("one_hot");
  struct Case {
    int64_t N, P, K, ignore;
    bool with_bad;
  };
  const Case cases[] = {{2, 300, 21, 255, false},  // VOC-like, partial last block
                        {3, 7, 4, 255, true},      // bad labels: the first must be reported
                        {1, 513, 5, 2, false},     // ignore_index inside [0, K): still zero
                        {4, 1, 3, -1, true},       // one pixel per image, ignore -1
                        {1, 1, 1, 255, false}};
  uint64_t seed = 200;
  for (const Case& c : cases) {
    std::mt19937_64 rng(seed++);
    std::vector<int64_t> labels(c.N * c.P);
    for (auto& l : labels) {
      const uint64_t r = rng() % 10;
      l = r == 0 ? c.ignore : static_cast<int64_t>(rng() % c.K);
    }
    if (c.with_bad) {  // two bad labels; the smaller index is reported
      labels[labels.size() / 2] = c.K;
      labels[labels.size() - 1] = -5;
    }
    std::vector<T> ref(c.N * c.K * c.P);
    const int64_t bad = cpu::one_hot<T>(labels.data(), c.N, c.P, c.K, c.ignore, ref.data());
    DeviceBuffer<int64_t> d_labels(labels), d_bad(1);
    DeviceBuffer<T> d_out(ref.size());
    gpu::one_hot<T>(d_labels.get(), c.N, c.P, c.K, c.ignore, d_out.get(), d_bad.get(), nullptr);
    const auto got = d_out.to_host();
    const int64_t got_bad = d_bad.to_host()[0];
    const std::string what = "one_hot N " + std::to_string(c.N) + " P " + std::to_string(c.P) +
                             " K " + std::to_string(c.K);
    EXPECT_EQ(0, std::memcmp(got.data(), ref.data(), ref.size() * sizeof(T))) << what;
    if (bad < 0)
      EXPECT_GE(got_bad, c.N * c.P) << what << ": no bad label, none reported";
    else
      EXPECT_EQ(got_bad, bad) << what;
    EXPECT_EQ(bad >= 0, c.with_bad) << what;  // the case tests what it says
  }
}

TEST_F(ShapeOpsParity, OneHotWithIgnoreAndBadLabels) {
  XGD_REQUIRE_DEVICE();
  one_hot_cases<float>();
  one_hot_cases<double>();
  gpu::set_max_grid_blocks(1);
  one_hot_cases<float>();
}

// ---------------------------------------------------------------- fill and cast
template <class T>
void fill_case(int64_t n, double value) {
  DeviceBuffer<T> d(n);
  gpu::tensor_table().fill[dtype_index<T>()](d.get(), n, value, nullptr);
  const auto got = d.to_host();
  const T expected = static_cast<T>(value);  // the CPU's fill_
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(0, std::memcmp(&got[i], &expected, sizeof(T)))
        << "fill of " << n << " elements with " << value << ": element " << i;
}

TEST_F(ShapeOpsParity, FillEveryDtype) {
  XGD_REQUIRE_DEVICE();
  expect_exact_op("copy");
  for (int64_t n : {1, 255, 257, 4099}) {
    fill_case<float>(n, -1.25);
    fill_case<double>(n, 0.1);
    fill_case<int64_t>(n, -7);
    fill_case<uint8_t>(n, 255);
  }
  gpu::set_max_grid_blocks(1);
  fill_case<float>(1000, 3.5);
}

template <class S, class D>
void cast_case(int64_t n) {
  // Values whose conversion is defined in C++ (the CPU path): float -> integer only within the
  // target's range (no negatives into uint8); integer -> anything (rounding / modulo 256).
  constexpr bool d_u8 = std::is_same_v<D, uint8_t>, d_int = std::is_integral_v<D>;
  std::vector<S> pool;
  if constexpr (std::is_same_v<S, float>) {
    pool = {0.f, 1.f, 2.5f, 7.75f, 100.99f, 254.5f, 255.f, -0.f};
    if (!d_u8) pool.insert(pool.end(), {-3.7f, -1e6f, 1.5e9f, 16777217.f});
    if (!d_int) pool.insert(pool.end(), {1e-40f, 3e38f});
  } else if constexpr (std::is_same_v<S, double>) {
    pool = {0.0, 1.0, 2.5, 0.1, 254.9, 255.0};
    if (!d_u8) pool.insert(pool.end(), {-3.7, -1e6, 1e15 + 0.5, 16777217.0});
    if (!d_int) pool.insert(pool.end(), {1e30, 1e-40, 1.0 + 1e-12});
  } else if constexpr (std::is_same_v<S, int64_t>) {
    pool = {0,
            1,
            255,
            300,
            -1,
            -3,
            (int64_t(1) << 53) + 1,
            (int64_t(1) << 24) + 1,
            int64_t(9e18),
            std::numeric_limits<int64_t>::min()};
  } else {
    pool = {0, 1, 127, 128, 254, 255};
  }
  std::vector<S> src(n);
  for (int64_t i = 0; i < n; ++i) src[i] = pool[i % pool.size()];
  DeviceBuffer<S> d_src(src);
  DeviceBuffer<D> d_dst(n);
  gpu::tensor_table().cast[dtype_index<S>()][dtype_index<D>()](d_src.get(), d_dst.get(), n,
                                                               nullptr);
  const auto got = d_dst.to_host();
  for (int64_t i = 0; i < n; ++i) {
    const D expected = static_cast<D>(src[i]);  // the CPU's Tensor::to(DType)
    ASSERT_EQ(0, std::memcmp(&got[i], &expected, sizeof(D)))
        << "cast " << typeid(S).name() << " -> " << typeid(D).name() << " of element " << i;
  }
}

template <class S>
void cast_row(int64_t n) {
  if constexpr (!std::is_same_v<S, float>) cast_case<S, float>(n);
  if constexpr (!std::is_same_v<S, double>) cast_case<S, double>(n);
  if constexpr (!std::is_same_v<S, int64_t>) cast_case<S, int64_t>(n);
  if constexpr (!std::is_same_v<S, uint8_t>) cast_case<S, uint8_t>(n);
}

TEST_F(ShapeOpsParity, CastEveryDtypePair) {
  XGD_REQUIRE_DEVICE();
  expect_exact_op("cast");
  for (int64_t n : {1, 13, 1000}) {
    cast_row<float>(n);
    cast_row<double>(n);
    cast_row<int64_t>(n);
    cast_row<uint8_t>(n);
  }
  for (int s = 0; s < 4; ++s)
    EXPECT_EQ(gpu::tensor_table().cast[s][s], nullptr) << "same-dtype casts are not kernels";
  gpu::set_max_grid_blocks(1);
  cast_row<float>(1000);
}

}  // namespace
}  // namespace xgd::test
