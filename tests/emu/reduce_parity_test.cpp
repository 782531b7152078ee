// Reduction CUDA kernels (kernels/cuda/reduce.cu) against the CPU backend
// (kernels/cpu/reduce.cpp) on the same inputs, float and double: inner-reduced rows (short and
// long, several reduced segments), inner-kept columns, reductions split into chunks (workspace
// partials), everything at once, nothing reduced, empty inputs, NaN and ties; each case also
// with a 3-block grid (set_max_grid_blocks) to drive the grid-stride loops. Tolerances:
// tests/emu/tolerance.h. Label emu (the kernels under the CPU execution of CUDA) and gpu.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "engine/tensor.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cuda/reduce.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

namespace cpu = kernels::cpu;
namespace gpu = kernels::cuda;

struct Case {
  Shape shape;
  std::vector<uint8_t> reduce;
};

// Shapes and reduced dims covering each kernel path (comments: the path taken).
const Case kCases[] = {
    {{37}, {1}},                   // everything, short: one column of 37
    {{2, 4500}, {1, 1}},           // everything, long rows: 3 chunks + the finishing kernel
    {{4, 70, 3}, {0, 1, 0}},       // inner kept: columns, 12 outputs
    {{2, 5, 7, 9}, {1, 0, 1, 1}},  // batch-norm-like N,H,W: rows over 2 reduced segments
    {{6, 130}, {0, 1}},            // rows, one block per output
    {{130, 6}, {1, 0}},            // columns along contiguous outputs
    {{5000, 3}, {1, 0}},           // columns, 3 outputs over 5000: 10 chunks
    {{3, 1, 4}, {0, 1, 0}},        // reducing a size-1 dim only
    {{2, 3, 4, 5}, {0, 1, 0, 1}},  // alternating kept/reduced segments
    {{4, 5}, {0, 0}},              // nothing reduced
    {{9, 65, 2}, {0, 1, 1}},       // rows of 130 (two dims merged), 9 outputs
    {{}, {}},                      // a scalar
};

// Small integers: many ties for max/min and their even split.
template <class T>
std::vector<T> tie_vec(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(static_cast<int>(rng() % 7) - 3);
  return v;
}

int64_t numel(const Shape& s) {
  return shape_numel(s);
}
int64_t kept(const Case& c) {
  int64_t n = 1;
  for (size_t d = 0; d < c.shape.size(); ++d)
    if (!c.reduce[d]) n *= c.shape[d];
  return n;
}
int64_t reduced(const Case& c) {
  return numel(c.shape) / std::max<int64_t>(kept(c), 1);
}
std::string name(const Case& c) {
  std::string r = shape_str(c.shape);
  r += " reduce {";
  for (size_t d = 0; d < c.reduce.size(); ++d) {
    if (d) r += ",";
    r += std::to_string(c.reduce[d]);
  }
  r += "}";
  return r;
}

template <class T>
void expect_parity(const std::string& op, const std::vector<T>& got, const std::vector<T>& ref,
                   const std::string& what, double length = 0, double max_abs_in = 0) {
  Tol tol = parity_tolerance(op, std::is_same_v<T, double>, length, max_abs_in);
  ASSERT_EQ(got.size(), ref.size()) << op << " " << what;
  Shape s{static_cast<int64_t>(ref.size())};
  EXPECT_ALL_CLOSE(Tensor::from_data(got.data(), s), Tensor::from_data(ref.data(), s), tol.atol,
                   tol.rtol)
      << op << " " << what;
}

int64_t workspace_of(const Case& c) {
  return gpu::reduce_workspace(c.shape.data(), int(c.shape.size()), c.reduce.data());
}

class ReduceParity : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override { gpu::set_max_grid_blocks(GetParam()); }
  void TearDown() override { gpu::set_max_grid_blocks(0); }
};

template <class T>
void sum_cases() {
  uint64_t seed = 1;
  for (const Case& c : kCases) {
    const int nd = int(c.shape.size());
    auto x = random_vec<T>(numel(c.shape), -2, 2, seed++);
    for (double scale : {1.0, 1.0 / double(std::max<int64_t>(reduced(c), 1))}) {
      std::vector<T> ref(kept(c));
      cpu::reduce_sum<T>(x.data(), c.shape.data(), nd, c.reduce.data(), scale, ref.data());
      DeviceBuffer<T> dx(x), out(ref.size());
      DeviceBuffer<double> ws(workspace_of(c));
      gpu::reduce_sum<T>(dx.get(), c.shape.data(), nd, c.reduce.data(), scale, out.get(), ws.get(),
                         nullptr);
      expect_parity("reduce_sum", out.to_host(), ref, name(c), double(reduced(c)), 2.0);
    }
  }
  // Empty: a sum over nothing is 0, a mean NaN (0 · inf); an empty output is left alone.
  for (const Case& c : {Case{{0, 3}, {1, 0}}, Case{{3, 0}, {1, 0}}}) {
    for (double scale : {1.0, std::numeric_limits<double>::infinity()}) {
      std::vector<T> ref(kept(c));
      cpu::reduce_sum<T>(nullptr, c.shape.data(), 2, c.reduce.data(), scale, ref.data());
      DeviceBuffer<T> out(ref.size());
      DeviceBuffer<double> ws(workspace_of(c));
      gpu::reduce_sum<T>(nullptr, c.shape.data(), 2, c.reduce.data(), scale, out.get(), ws.get(),
                         nullptr);
      if (!ref.empty()) expect_parity("reduce_sum", out.to_host(), ref, name(c) + " (empty)");
    }
  }
}
TEST_P(ReduceParity, Sum) {
  XGD_REQUIRE_DEVICE();
  sum_cases<float>();
  sum_cases<double>();
}

template <class T>
void extreme_cases() {
  uint64_t seed = 100;
  for (const Case& c : kCases) {
    const int nd = int(c.shape.size());
    for (int variant = 0; variant < 2; ++variant) {
      // 0: continuous values; 1: ties with a NaN (propagates to its output; its ties share)
      auto x = variant == 0 ? random_vec<T>(numel(c.shape), -5, 5, seed++)
                            : tie_vec<T>(numel(c.shape), seed++);
      if (variant == 1 && x.size() > 2) x[x.size() / 2] = std::numeric_limits<T>::quiet_NaN();
      for (bool is_max : {true, false}) {
        if (variant == 0 && !is_max) continue;  // continuous values: max covers the paths
        std::vector<T> ref(kept(c));
        cpu::reduce_extreme<T>(is_max, x.data(), c.shape.data(), nd, c.reduce.data(), ref.data());
        DeviceBuffer<T> dx(x), out(ref.size());
        DeviceBuffer<double> ws(workspace_of(c));
        gpu::reduce_extreme<T>(is_max, dx.get(), c.shape.data(), nd, c.reduce.data(), out.get(),
                               ws.get(), nullptr);
        std::string what = name(c);
        what += is_max ? " max v" : " min v";
        what += std::to_string(variant);
        auto m = out.to_host();
        expect_parity("reduce_extreme", m, ref, what);

        // Backward: the gradient split among the ties of each extreme.
        auto g = random_vec<T>(ref.size(), -1, 1, seed++);
        std::vector<T> dref(x.size());
        cpu::extreme_backward_even<T>(x.data(), ref.data(), g.data(), c.shape.data(), nd,
                                      c.reduce.data(), dref.data());
        DeviceBuffer<T> dm(ref), dg(g), ddx(x.size());
        gpu::extreme_backward_even<T>(dx.get(), dm.get(), dg.get(), c.shape.data(), nd,
                                      c.reduce.data(), ddx.get(), ws.get(), nullptr);
        expect_parity("extreme_backward_even", ddx.to_host(), dref, what);
      }
    }
  }
}
TEST_P(ReduceParity, MaxMinAndEvenBackward) {
  XGD_REQUIRE_DEVICE();
  extreme_cases<float>();
  extreme_cases<double>();
}

template <class T>
void arg_cases() {
  struct Split {
    int64_t outer, R, inner;
  };
  const Split splits[] = {{7, 1, 1},  {5, 37, 1},   {1, 1000, 1},
                          {4, 9, 13}, {2, 21, 150}, {70, 3, 1}};
  uint64_t seed = 200;
  for (const Split& s : splits) {
    const int64_t n = s.outer * s.R * s.inner, k = s.outer * s.inner;
    for (int variant = 0; variant < 2; ++variant) {
      // 0: continuous values; 1: ties (the first wins) and NaNs (the first NaN wins)
      auto x = variant == 0 ? random_vec<T>(n, -5, 5, seed++) : tie_vec<T>(n, seed++);
      if (variant == 1)
        for (int64_t i = n / 3; i < n; i += 17) x[i] = std::numeric_limits<T>::quiet_NaN();
      for (bool is_max : {true, false}) {
        std::vector<T> vref(k);
        std::vector<int64_t> iref(k);
        cpu::arg_extreme<T>(is_max, x.data(), s.outer, s.R, s.inner, vref.data(), iref.data());
        DeviceBuffer<T> dx(x), vals(k);
        DeviceBuffer<int64_t> idx(k);
        gpu::arg_extreme<T>(is_max, dx.get(), s.outer, s.R, s.inner, vals.get(), idx.get(),
                            nullptr);
        std::string what = "(";
        for (int64_t v : {s.outer, s.R, s.inner}) {
          what += std::to_string(v);
          what += " ";
        }
        what += is_max ? ") max v" : ") min v";
        what += std::to_string(variant);
        expect_parity("arg_extreme", vals.to_host(), vref, what);
        EXPECT_EQ(idx.to_host(), iref) << "arg_extreme index " << what;
        // Without values (argmax).
        DeviceBuffer<int64_t> idx2(k);
        gpu::arg_extreme<T>(is_max, dx.get(), s.outer, s.R, s.inner, nullptr, idx2.get(), nullptr);
        EXPECT_EQ(idx2.to_host(), iref) << "arg_extreme index only " << what;

        auto g = random_vec<T>(k, -1, 1, seed++);
        std::vector<T> dref(n);
        cpu::scatter_index_backward<T>(g.data(), iref.data(), s.outer, s.R, s.inner, dref.data());
        DeviceBuffer<T> dg(g), ddx(n);
        gpu::scatter_index_backward<T>(dg.get(), idx.get(), s.outer, s.R, s.inner, ddx.get(),
                                       nullptr);
        expect_parity("scatter_index_backward", ddx.to_host(), dref, what);
      }
    }
  }
}
TEST_P(ReduceParity, ArgExtremeAndScatterBackward) {
  XGD_REQUIRE_DEVICE();
  arg_cases<float>();
  arg_cases<double>();
}

template <class T>
void expand_cases() {
  uint64_t seed = 300;
  for (const Case& c : kCases) {
    const int nd = int(c.shape.size());
    auto g = random_vec<T>(kept(c), -2, 2, seed++);
    const T scale = T(1) / T(std::max<int64_t>(reduced(c), 1));
    std::vector<T> ref(numel(c.shape));
    cpu::expand_reduced<T>(g.data(), c.shape.data(), nd, c.reduce.data(), scale, ref.data());
    DeviceBuffer<T> dg(g), dx(ref.size());
    gpu::expand_reduced<T>(dg.get(), c.shape.data(), nd, c.reduce.data(), scale, dx.get(), nullptr);
    expect_parity("expand_reduced", dx.to_host(), ref, name(c));
  }
}
TEST_P(ReduceParity, ExpandReduced) {
  XGD_REQUIRE_DEVICE();
  expand_cases<float>();
  expand_cases<double>();
}

// 0: the default grid; 3: three blocks, every kernel's grid-stride loop runs.
INSTANTIATE_TEST_SUITE_P(Grid, ReduceParity, ::testing::Values(0u, 3u), [](const auto& info) {
  return "max_blocks_" + std::to_string(info.param);
});

}  // namespace
}  // namespace xgd::test
