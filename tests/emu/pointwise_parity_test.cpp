// Pointwise CUDA kernels (kernels/cuda/pointwise.cu) against the CPU backend
// (kernels/cpu/pointwise.cpp) on the same inputs, float and double, over odd sizes, partial
// blocks, grid-stride loops and broadcast patterns. Tolerances: tests/emu/tolerance.h.
// Label emu (the kernels under the CPU execution of CUDA) and gpu (the same on a device).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "engine/tensor.h"
#include "kernels/common/pointwise.h"
#include "kernels/cpu/pointwise.h"
#include "kernels/cuda/pointwise.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

namespace cpu = kernels::cpu;
namespace gpu = kernels::cuda;
using cpu::BinaryOp;
using cpu::UnaryOp;

// Sizes: one element, odd, one block minus/exactly/plus one (256-thread blocks), several blocks.
constexpr int64_t kSizes[] = {1, 7, 255, 256, 257, 1000, 4099};

// Sets every 13th element to one of `specials` (exact bounds, zeros), in turn.
template <class T>
void sprinkle(std::vector<T>& v, std::initializer_list<double> specials) {
  size_t k = 0;
  for (size_t i = 3; i < v.size(); i += 13)
    v[i] = static_cast<T>(specials.begin()[k++ % specials.size()]);
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

// Runs a device launcher f(in pointers..., out pointer) on copies of the inputs.
template <class T, class F>
std::vector<T> on_device(size_t out_n, const std::vector<const std::vector<T>*>& ins, F f) {
  std::vector<std::unique_ptr<DeviceBuffer<T>>> bufs;
  for (auto* v : ins) bufs.push_back(std::make_unique<DeviceBuffer<T>>(*v));
  DeviceBuffer<T> out(out_n);
  std::vector<const T*> ptrs;
  for (auto& b : bufs) ptrs.push_back(b->get());
  f(ptrs, out.get());
  return out.to_host();
}

// Broadcast mapping as engine/ops/pointwise.cpp builds it (shapes aligned from the right).
cpu::Broadcast make_broadcast(const Shape& out, const Shape& a, const Shape& b) {
  cpu::Broadcast bc;
  bc.ndim = static_cast<int>(out.size());
  int64_t sa = 1, sb = 1;
  for (int d = bc.ndim - 1; d >= 0; --d) {
    int ia = d - int(out.size() - a.size()), ib = d - int(out.size() - b.size());
    int64_t da = ia < 0 ? 1 : a[ia], db = ib < 0 ? 1 : b[ib];
    bc.shape[d] = out[d];
    bc.a_stride[d] = da == 1 ? 0 : sa;
    bc.b_stride[d] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
  }
  return bc;
}
Shape broadcast(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    out[i] = da == 1 ? db : da;
  }
  return out;
}

class PointwiseParity : public ::testing::Test {
 protected:
  void SetUp() override { gpu::set_max_grid_blocks(0); }
  void TearDown() override { gpu::set_max_grid_blocks(0); }
};

template <class T>
void binary_cases() {
  const std::pair<Shape, Shape> cases[] = {{{3, 5, 7}, {3, 5, 7}},
                                           {{2, 3, 4, 5}, {1, 3, 1, 1}},
                                           {{4, 1, 6}, {1, 5, 1}},
                                           {{7}, {}},
                                           {{}, {3, 1, 1}},
                                           {{2, 1, 33}, {5, 1}},
                                           {{2, 3, 17, 19}, {3, 1, 19}},
                                           {{1, 1}, {1, 1}},
                                           {{0, 3}, {1, 3}},
                                           {{6, 300}, {300}},
                                           {{300, 1}, {1, 300}}};
  const std::pair<BinaryOp, const char*> ops[] = {{BinaryOp::Add, "add"},
                                                  {BinaryOp::Sub, "sub"},
                                                  {BinaryOp::Mul, "mul"},
                                                  {BinaryOp::Div, "div"}};
  uint64_t seed = 1;
  for (auto& [sa, sb] : cases) {
    Shape so = broadcast(sa, sb);
    cpu::Broadcast bc = make_broadcast(so, sa, sb);
    auto a = random_vec<T>(shape_numel(sa), -3, 3, seed++);
    auto b = random_vec<T>(shape_numel(sb), 0.5, 2, seed++);
    for (size_t i = 0; i < b.size(); i += 2) b[i] = -b[i];  // both signs, away from 0
    for (auto [op, name] : ops) {
      std::vector<T> ref(shape_numel(so));
      cpu::binary<T>(op, a.data(), b.data(), ref.data(), bc);
      auto got = on_device<T>(ref.size(), {&a, &b}, [&](auto& in, T* out) {
        gpu::binary<T>(op, in[0], in[1], out, bc, nullptr);
      });
      expect_parity(name, got, ref, shape_str(sa) + " with " + shape_str(sb));
    }
  }
}
TEST_F(PointwiseParity, BinaryBroadcast) {
  XGD_REQUIRE_DEVICE();
  binary_cases<float>();
  binary_cases<double>();
}

template <class T>
void unary_cases() {
  struct Case {
    UnaryOp op;
    const char* name;
    double lo, hi;
    std::initializer_list<double> specials;
  };
  const double inf = std::numeric_limits<double>::infinity();
  const Case cases[] = {{UnaryOp::Neg, "neg", -5, 5, {0.0}},
                        {UnaryOp::Exp, "exp", -10, 10, {0.0, -inf, 100.0}},
                        {UnaryOp::Log, "log", 0.01, 100, {0.0, -1.0, 1.0}},
                        {UnaryOp::Sqrt, "sqrt", 0, 50, {0.0, -1.0, 4.0}},
                        {UnaryOp::Abs, "abs", -5, 5, {0.0, -0.0}},
                        {UnaryOp::Relu, "relu", -5, 5, {0.0}},
                        {UnaryOp::Relu6, "relu6", -3, 9, {0.0, 6.0}}};
  for (const Case& c : cases)
    for (int64_t n : kSizes) {
      auto a = random_vec<T>(n, c.lo, c.hi, 100 + n);
      sprinkle(a, c.specials);
      std::vector<T> ref(n);
      cpu::unary<T>(c.op, a.data(), ref.data(), n);
      auto got = on_device<T>(
          n, {&a}, [&](auto& in, T* out) { gpu::unary<T>(c.op, in[0], out, n, nullptr); });
      expect_parity(c.name, got, ref, "n " + std::to_string(n));
    }
}
TEST_F(PointwiseParity, Unary) {
  XGD_REQUIRE_DEVICE();
  unary_cases<float>();
  unary_cases<double>();
}

template <class T>
void scalar_cases() {
  for (int64_t n : kSizes) {
    auto a = random_vec<T>(n, -4, 4, 200 + n);
    sprinkle(a, {0.0, 1.0});
    for (auto [scale, shift] : {std::pair{1.0, 0.75}, {-1.5, 0.0}, {-1.0, 2.0}, {0.1, -3.0}}) {
      std::vector<T> ref(n);
      cpu::scalar_affine<T>(a.data(), ref.data(), n, T(scale), T(shift));
      auto got = on_device<T>(n, {&a}, [&](auto& in, T* out) {
        gpu::scalar_affine<T>(in[0], out, n, T(scale), T(shift), nullptr);
      });
      expect_parity("scalar_affine", got, ref, "n " + std::to_string(n));
    }
    std::vector<T> ref(n);
    cpu::scalar_rdiv<T>(T(2.5), a.data(), ref.data(), n);
    auto got = on_device<T>(
        n, {&a}, [&](auto& in, T* out) { gpu::scalar_rdiv<T>(T(2.5), in[0], out, n, nullptr); });
    expect_parity("scalar_rdiv", got, ref, "n " + std::to_string(n));
  }
}
TEST_F(PointwiseParity, ScalarAffineAndRdiv) {
  XGD_REQUIRE_DEVICE();
  scalar_cases<float>();
  scalar_cases<double>();
}

template <class T>
void pow_clamp_cases() {
  const double inf = std::numeric_limits<double>::infinity();
  for (int64_t n : kSizes) {
    auto pos = random_vec<T>(n, 0.1, 4, 300 + n);
    auto any = random_vec<T>(n, -3, 3, 400 + n);
    auto dy = random_vec<T>(n, -1, 1, 500 + n);
    sprinkle(any, {0.0, -0.5, 0.5, 0.25});
    // Integer exponents on any base, fractional ones on positive bases.
    for (auto [e, base] :
         {std::pair{2.0, &any}, {3.0, &any}, {0.0, &any}, {1.0, &any}, {0.5, &pos}, {-1.5, &pos}}) {
      const std::vector<T>& x = *base;
      std::vector<T> ref(n), dref(n);
      cpu::pow_scalar<T>(x.data(), T(e), ref.data(), n);
      cpu::pow_backward<T>(x.data(), T(e), dy.data(), dref.data(), n);
      auto got = on_device<T>(
          n, {&x}, [&](auto& in, T* out) { gpu::pow_scalar<T>(in[0], T(e), out, n, nullptr); });
      auto dgot = on_device<T>(n, {&x, &dy}, [&](auto& in, T* out) {
        gpu::pow_backward<T>(in[0], T(e), in[1], out, n, nullptr);
      });
      const std::string what = "e " + std::to_string(e) + " n " + std::to_string(n);
      expect_parity("pow", got, ref, what);
      expect_parity("pow_backward", dgot, dref, what);
    }
    for (auto [lo, hi] : {std::pair{-0.5, 0.5}, {-inf, 0.0}, {0.0, inf}, {0.25, 0.25}}) {
      std::vector<T> ref(n), dref(n);
      cpu::clamp<T>(any.data(), T(lo), T(hi), ref.data(), n);
      cpu::clamp_backward<T>(any.data(), T(lo), T(hi), dy.data(), dref.data(), n);
      auto got = on_device<T>(n, {&any}, [&](auto& in, T* out) {
        gpu::clamp<T>(in[0], T(lo), T(hi), out, n, nullptr);
      });
      auto dgot = on_device<T>(n, {&any, &dy}, [&](auto& in, T* out) {
        gpu::clamp_backward<T>(in[0], T(lo), T(hi), in[1], out, n, nullptr);
      });
      const std::string what =
          "[" + std::to_string(lo) + ", " + std::to_string(hi) + "] n " + std::to_string(n);
      expect_parity("clamp", got, ref, what);
      expect_parity("clamp_backward", dgot, dref, what);
    }
  }
}
TEST_F(PointwiseParity, PowAndClampWithBackward) {
  XGD_REQUIRE_DEVICE();
  pow_clamp_cases<float>();
  pow_clamp_cases<double>();
}

template <class T>
void activation_backward_cases() {
  for (int64_t n : kSizes) {
    auto x = random_vec<T>(n, -3, 9, 600 + n);
    sprinkle(x, {0.0, 6.0, -0.0});
    auto dy = random_vec<T>(n, -1, 1, 700 + n);
    std::vector<T> y(n), ref(n);
    cpu::unary<T>(UnaryOp::Relu, x.data(), y.data(), n);
    cpu::relu_backward<T>(y.data(), dy.data(), ref.data(), n);
    auto got = on_device<T>(n, {&y, &dy}, [&](auto& in, T* out) {
      gpu::relu_backward<T>(in[0], in[1], out, n, nullptr);
    });
    expect_parity("relu_backward", got, ref, "n " + std::to_string(n));

    cpu::relu6_backward<T>(x.data(), dy.data(), ref.data(), n);
    got = on_device<T>(n, {&x, &dy}, [&](auto& in, T* out) {
      gpu::relu6_backward<T>(in[0], in[1], out, n, nullptr);
    });
    expect_parity("relu6_backward", got, ref, "n " + std::to_string(n));

    for (int64_t i = 0; i < n; ++i) ref[i] = dy[i] * kernels::sign(x[i]);  // the engine's CPU path
    got = on_device<T>(n, {&x, &dy}, [&](auto& in, T* out) {
      gpu::abs_backward<T>(in[0], in[1], out, n, nullptr);
    });
    expect_parity("abs_backward", got, ref, "n " + std::to_string(n));
  }
}
TEST_F(PointwiseParity, ActivationBackward) {
  XGD_REQUIRE_DEVICE();
  activation_backward_cases<float>();
  activation_backward_cases<double>();
}

TEST_F(PointwiseParity, GridStrideLoopsWithFewBlocks) {
  XGD_REQUIRE_DEVICE();
  // 2 blocks of 256 threads for 1000..4099 elements: every thread loops 2-9 times.
  gpu::set_max_grid_blocks(2);
  for (int64_t n : {1000, 4099}) {
    auto a = random_vec<float>(n, -3, 3, 800 + n);
    auto b = random_vec<float>(n, 0.5, 2, 900 + n);
    std::vector<float> ref(n);
    cpu::unary<float>(UnaryOp::Exp, a.data(), ref.data(), n);
    auto got = on_device<float>(n, {&a}, [&](auto& in, float* out) {
      gpu::unary<float>(UnaryOp::Exp, in[0], out, n, nullptr);
    });
    expect_parity("exp", got, ref, "2 blocks, n " + std::to_string(n));
    // Broadcast kernel: (n/ 1) rows against a row vector of 1, via shapes (n, 1) and (1, 1)...
    Shape sa{n, 1}, sb{1, 1}, so{n, 1};
    cpu::Broadcast bc = make_broadcast(so, sa, Shape{1});
    std::vector<float> bb = {b[0]};
    cpu::binary<float>(BinaryOp::Mul, a.data(), bb.data(), ref.data(), bc);
    got = on_device<float>(n, {&a, &bb}, [&](auto& in, float* out) {
      gpu::binary<float>(BinaryOp::Mul, in[0], in[1], out, bc, nullptr);
    });
    expect_parity("mul", got, ref, "2 blocks, scalar broadcast, n " + std::to_string(n));
    // ... and a true 2-D broadcast (n/4 + 1 rows, 4 columns) against a column.
    const int64_t rows = n / 4 + 1;
    Shape s2a{rows, 4}, s2b{rows, 1};
    auto a2 = random_vec<float>(rows * 4, -3, 3, 1000 + n);
    auto b2 = random_vec<float>(rows, 0.5, 2, 1100 + n);
    cpu::Broadcast bc2 = make_broadcast(s2a, s2a, s2b);
    std::vector<float> ref2(rows * 4);
    cpu::binary<float>(BinaryOp::Sub, a2.data(), b2.data(), ref2.data(), bc2);
    got = on_device<float>(rows * 4, {&a2, &b2}, [&](auto& in, float* out) {
      gpu::binary<float>(BinaryOp::Sub, in[0], in[1], out, bc2, nullptr);
    });
    expect_parity("sub", got, ref2, "2 blocks, column broadcast, n " + std::to_string(n));
  }
}

// The 16-byte pack path (aligned, n >= 4 floats / 2 doubles) with its n % pack tail, and the
// element path for operands that are not 16-byte aligned (views at an element offset).
template <class T>
void alignment_cases() {
  for (int64_t n : {1, 2, 3, 4, 5, 7, 1001, 1026}) {
    for (int offset : {0, 1}) {
      auto a = random_vec<T>(n, -3, 3, 1300 + n), b = random_vec<T>(n, 0.5, 2, 1400 + n);
      std::vector<T> pa(offset, T(0)), pb(offset, T(0));
      pa.insert(pa.end(), a.begin(), a.end());
      pb.insert(pb.end(), b.begin(), b.end());
      DeviceBuffer<T> da(pa), db(pb), dout(n + offset);
      gpu::unary<T>(UnaryOp::Exp, da.get() + offset, dout.get() + offset, n, nullptr);
      auto got = dout.to_host();
      std::vector<T> ref(n);
      cpu::unary<T>(UnaryOp::Exp, a.data(), ref.data(), n);
      const std::string what = "n " + std::to_string(n) + " offset " + std::to_string(offset);
      expect_parity("exp", std::vector<T>(got.begin() + offset, got.end()), ref, what);
      cpu::Broadcast same = make_broadcast({n}, {n}, {n});
      gpu::binary<T>(BinaryOp::Div, da.get() + offset, db.get() + offset, dout.get() + offset, same,
                     nullptr);
      got = dout.to_host();
      cpu::binary<T>(BinaryOp::Div, a.data(), b.data(), ref.data(), same);
      expect_parity("div", std::vector<T>(got.begin() + offset, got.end()), ref, what);
    }
  }
}
TEST_F(PointwiseParity, AlignedPacksTailsAndMisalignedViews) {
  XGD_REQUIRE_DEVICE();
  alignment_cases<float>();
  alignment_cases<double>();
  gpu::set_max_grid_blocks(1);  // one block loops over the packs
  alignment_cases<float>();
}

template <class T>
void sum_to_cases() {
  // (input, output): bias-gradient patterns, inner dim reduced (rows kernel for >= 64 terms),
  // inner dim kept (column kernel), everything reduced, nothing reduced, empty input.
  const std::pair<Shape, Shape> cases[] = {{{2, 3, 4, 5}, {1, 3, 1, 1}},
                                           {{2, 64, 9, 9}, {64, 1, 1}},
                                           {{300}, {1}},
                                           {{5, 1000}, {5, 1}},
                                           {{1000, 3}, {3}},
                                           {{7, 1, 130}, {1, 1}},
                                           {{4, 70, 33}, {1, 70, 1}},
                                           {{3, 5, 7, 2}, {5, 1, 2}},
                                           {{1, 4, 1, 6}, {4, 1, 6}},
                                           {{0, 3}, {1, 3}},
                                           {{33, 65}, {33, 1}},
                                           {{9, 2, 200}, {2, 1}}};
  uint64_t seed = 1;
  for (auto& [si, so] : cases) {
    const int64_t n_in = shape_numel(si), n_out = shape_numel(so);
    auto g = random_vec<T>(n_in, -2, 2, 1200 + seed++);
    Shape padded(si.size() - so.size(), 1);
    padded.insert(padded.end(), so.begin(), so.end());
    std::vector<T> ref(n_out);
    cpu::sum_to<T>(g.data(), si.data(), int(si.size()), padded.data(), ref.data());
    auto got = on_device<T>(n_out, {&g}, [&](auto& in, T* out) {
      gpu::sum_to<T>(in[0], si.data(), int(si.size()), padded.data(), out, nullptr);
    });
    const double length = n_out ? double(n_in) / double(n_out) : 0;
    expect_parity("sum_to", got, ref, shape_str(si) + " to " + shape_str(so), length, 2.0);
  }
}
TEST_F(PointwiseParity, SumTo) {
  XGD_REQUIRE_DEVICE();
  sum_to_cases<float>();
  sum_to_cases<double>();
  gpu::set_max_grid_blocks(2);  // blocks loop over several outputs / output tiles
  sum_to_cases<float>();
}

}  // namespace
}  // namespace xgd::test
