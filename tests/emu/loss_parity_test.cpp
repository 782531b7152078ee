// Loss CUDA kernels (kernels/cuda/loss.cu) against the CPU backend (kernels/cpu/loss.cpp) on
// the same inputs, float and double: cross-entropy with ignored pixels, an all-ignored batch
// and bad labels (the device's first-bad-index status), the fused softmax–KL at tau = 1 and 2
// with large logits, mse; odd sizes, partial blocks, N×C logits (P = 1), grid-stride loops, and
// bit-identical reruns (deterministic reductions). Label emu and gpu.
// Tolerances: tests/emu/tolerance.h, plus the class sums (class_tol below).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "engine/tensor.h"
#include "kernels/cpu/loss.h"
#include "kernels/cuda/api.h"
#include "kernels/cuda/loss.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

namespace cpu = kernels::cpu;
namespace gpu = kernels::cuda;

template <class T>
double eps_of() {
  return double(std::numeric_limits<T>::epsilon());
}

// The op's per-element budget plus 2·C ulps for the class sums (both backends add C terms in
// T), relative and absolute in units of `scale`: the magnitude the per-pixel log-sum-exps carry
// their absolute error in (1 + max|logit|), times the gradient's scale for gradients.
template <class T>
Tol class_tol(const std::string& op, int64_t C, double scale) {
  const bool f64 = std::is_same_v<T, double>;
  const double k = parity_tolerance(op, f64).rtol / eps_of<T>() + 2.0 * double(C);
  return {k * eps_of<T>() * scale, k * eps_of<T>() * scale};
}

template <class T>
void expect_close(const std::vector<T>& got, const std::vector<T>& ref, Tol tol,
                  const std::string& what) {
  Shape s{static_cast<int64_t>(ref.size())};
  EXPECT_ALL_CLOSE(Tensor::from_data(got.data(), s), Tensor::from_data(ref.data(), s), tol.atol,
                   tol.rtol)
      << what;
}

template <class T>
T read1(const DeviceBuffer<T>& b) {
  return b.to_host()[0];
}

struct Geometry {
  int64_t N, C, P;
  double range;  // logits uniform in [−range, range]
  std::string str() const {
    return "(N, C, P) = (" + std::to_string(N) + ", " + std::to_string(C) + ", " +
           std::to_string(P) + ") range " + std::to_string(range);
  }
};
// One pixel, odd sizes, a block ±1 (256 threads), N×C logits (P = 1), a segmentation head's
// 21 classes, large logits (softmax saturates, exp underflows).
constexpr Geometry kGeoms[] = {{1, 1, 1, 2},   {1, 3, 1, 2},   {3, 5, 7, 3},   {2, 21, 255, 4},
                               {1, 4, 257, 2}, {13, 10, 1, 3}, {2, 6, 33, 60}, {1, 3, 5, 1000}};

// Labels in [0, C), every `ignore_every`-th pixel ignore_index (0: none).
std::vector<int64_t> labels_for(const Geometry& g, int64_t ignore_every, int64_t ignore,
                                uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> y(g.N * g.P);
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = ignore_every && i % ignore_every == 1 ? ignore : int64_t(rng() % g.C);
  return y;
}

// ---------------------------------------------------------------- cross-entropy
template <class T>
void cross_entropy_case(const Geometry& g, const std::vector<int64_t>& y, int64_t ignore,
                        uint64_t seed, const std::string& what) {
  const int64_t n = g.N * g.C * g.P, pixels = g.N * g.P;
  auto x = random_vec<T>(n, -g.range, g.range, seed);
  std::vector<T> lse(pixels), dref(n);
  double total = 0;
  int64_t count = 0;
  cpu::cross_entropy_forward<T>(x.data(), y.data(), g.N, g.C, g.P, ignore, lse.data(), &total,
                                &count);
  const double loss = count > 0 ? total / double(count) : 0.0;
  const T dloss = T(0.75);
  cpu::cross_entropy_backward<T>(x.data(), y.data(), lse.data(), g.N, g.C, g.P, ignore,
                                 T(count > 0 ? 0.75 / double(count) : 0.0), dref.data());

  DeviceBuffer<T> dx(x), dlse(pixels), dl(1), dgrad(n), dd(std::vector<T>{dloss});
  DeviceBuffer<int64_t> dy(y), dcount(1), dbad(1);
  DeviceBuffer<unsigned char> ws(gpu::loss_workspace_bytes(pixels));
  gpu::cross_entropy_forward<T>(dx.get(), dy.get(), g.N, g.C, g.P, ignore, dlse.get(), dl.get(),
                                dcount.get(), dbad.get(), ws.get(), nullptr);
  EXPECT_EQ(read1(dbad), -1) << what;
  EXPECT_EQ(read1(dcount), count) << what;
  const double scale = 1 + g.range;
  const Tol t = class_tol<T>("cross_entropy", g.C, scale);
  EXPECT_NEAR(double(read1(dl)), loss, t.atol + t.rtol * std::abs(loss)) << "loss " << what;
  expect_close(dlse.to_host(), lse, class_tol<T>("cross_entropy", g.C, scale), "lse " + what);
  gpu::cross_entropy_backward<T>(dx.get(), dy.get(), dlse.get(), g.N, g.C, g.P, ignore, dd.get(),
                                 dcount.get(), dgrad.get(), nullptr);
  const double gscale = count > 0 ? 0.75 / double(count) : 0.0;
  expect_close(dgrad.to_host(), dref, class_tol<T>("cross_entropy_backward", g.C, scale * gscale),
               "dx " + what);
}

template <class T>
void cross_entropy_cases() {
  uint64_t seed = 1;
  for (const Geometry& g : kGeoms) {
    for (int64_t every : {0, 3}) {
      auto y = labels_for(g, every, 255, seed);
      cross_entropy_case<T>(g, y, 255, seed++, g.str() + " ignore every " + std::to_string(every));
    }
    if (g.P != 7) continue;
    // An ignore_index inside [0, C) (PyTorch allows any value) and a negative one.
    auto y = labels_for(g, 2, 0, seed);
    cross_entropy_case<T>(g, y, 0, seed++, g.str() + " ignore_index 0");
    y = labels_for(g, 2, -100, seed);
    cross_entropy_case<T>(g, y, -100, seed++, g.str() + " ignore_index -100");
  }
}

class LossParity : public ::testing::Test {
 protected:
  void SetUp() override { gpu::set_max_grid_blocks(0); }
  void TearDown() override { gpu::set_max_grid_blocks(0); }
};

TEST_F(LossParity, CrossEntropyFloat) {
  XGD_REQUIRE_DEVICE();
  cross_entropy_cases<float>();
}
TEST_F(LossParity, CrossEntropyDouble) {
  XGD_REQUIRE_DEVICE();
  cross_entropy_cases<double>();
}

TEST_F(LossParity, CrossEntropyAllIgnoredIsZeroWithZeroGradient) {
  XGD_REQUIRE_DEVICE();
  const Geometry g{2, 5, 300, 3};
  std::vector<int64_t> y(g.N * g.P, 255);
  cross_entropy_case<float>(g, y, 255, 7, "all ignored");
  const int64_t n = g.N * g.C * g.P;
  DeviceBuffer<float> dx(random_vec<float>(n, -3, 3, 7)), dlse(g.N * g.P), dl(1), dgrad(n),
      dd(std::vector<float>{1.0f});
  DeviceBuffer<int64_t> dy(y), dcount(1), dbad(1);
  DeviceBuffer<unsigned char> ws(gpu::loss_workspace_bytes(g.N * g.P));
  gpu::cross_entropy_forward<float>(dx.get(), dy.get(), g.N, g.C, g.P, 255, dlse.get(), dl.get(),
                                    dcount.get(), dbad.get(), ws.get(), nullptr);
  gpu::cross_entropy_backward<float>(dx.get(), dy.get(), dlse.get(), g.N, g.C, g.P, 255, dd.get(),
                                     dcount.get(), dgrad.get(), nullptr);
  EXPECT_EQ(read1(dl), 0.0f);
  EXPECT_EQ(read1(dcount), 0);
  for (float v : dgrad.to_host()) ASSERT_EQ(v, 0.0f);
}

// The device reports the first bad label (flat index) as the CPU's first_bad_label, also when
// the bad labels sit in different blocks and in a thread's later grid-stride iterations.
TEST_F(LossParity, CrossEntropyReportsTheFirstBadLabel) {
  XGD_REQUIRE_DEVICE();
  const Geometry g{3, 4, 301, 2};
  for (unsigned blocks : {0u, 1u}) {
    gpu::set_max_grid_blocks(blocks);
    for (auto [at1, v1, at2, v2] : {std::tuple{700, int64_t(4), 9, int64_t(-1)},
                                    {600, int64_t(7), 880, int64_t(-3)},
                                    {0, int64_t(254), 902, int64_t(5)}}) {
      auto y = labels_for(g, 5, 255, 3);
      y[at1] = v1;
      y[at2] = v2;
      const int64_t want = cpu::first_bad_label(y.data(), int64_t(y.size()), g.C, 255);
      ASSERT_EQ(want, std::min(at1, at2));
      const int64_t n = g.N * g.C * g.P;
      DeviceBuffer<float> dx(random_vec<float>(n, -3, 3, 7)), dlse(g.N * g.P), dl(1);
      DeviceBuffer<int64_t> dy(y), dcount(1), dbad(1);
      DeviceBuffer<unsigned char> ws(gpu::loss_workspace_bytes(g.N * g.P));
      gpu::cross_entropy_forward<float>(dx.get(), dy.get(), g.N, g.C, g.P, 255, dlse.get(),
                                        dl.get(), dcount.get(), dbad.get(), ws.get(), nullptr);
      EXPECT_EQ(read1(dbad), want) << "blocks " << blocks << " bad at " << at1 << ", " << at2;
    }
  }
}

// ---------------------------------------------------------------- KL
template <class T>
void kl_case(const Geometry& g, double tau, uint64_t seed, bool close_student) {
  const int64_t n = g.N * g.C * g.P, pixels = g.N * g.P;
  auto t = random_vec<T>(n, -g.range, g.range, seed);
  auto s = random_vec<T>(n, -g.range, g.range, seed + 1000);
  if (close_student)  // a student near its teacher: KL near 0, where cancellation bites
    for (int64_t i = 0; i < n; ++i) s[i] = t[i] + T(0.01) * s[i] / T(g.range);
  const T inv_tau = T(1.0 / tau);
  std::vector<T> lt(pixels), ls(pixels), kl(pixels), dt(n), ds(n);
  double total = 0;
  cpu::kl_div_forward<T>(t.data(), s.data(), g.N, g.C, g.P, inv_tau, lt.data(), ls.data(),
                         kl.data(), &total);
  const double loss = tau * tau * total / double(pixels);
  const double dl = 1.25, coef = dl * tau * tau / double(pixels);
  cpu::kl_div_backward<T>(t.data(), s.data(), lt.data(), ls.data(), kl.data(), g.N, g.C, g.P,
                          inv_tau, T(coef), dt.data(), ds.data());

  DeviceBuffer<T> d_t(t), d_s(s), d_lt(pixels), d_ls(pixels), d_kl(pixels), d_loss(1), d_dt(n),
      d_ds(n), d_dl(std::vector<T>{T(dl)});
  DeviceBuffer<unsigned char> ws(gpu::loss_workspace_bytes(pixels));
  gpu::kl_div_forward<T>(d_t.get(), d_s.get(), g.N, g.C, g.P, tau, d_lt.get(), d_ls.get(),
                         d_kl.get(), d_loss.get(), ws.get(), nullptr);
  const std::string what =
      g.str() + " tau " + std::to_string(tau) + (close_student ? " close student" : "");
  // Logit magnitudes after / tau; KL terms reach 4·max|z| (A / S_t and m_t − m_s).
  const double zmax = g.range / tau, scale = 1 + 4 * zmax;
  expect_close(d_lt.to_host(), lt, class_tol<T>("kl_div", g.C, 1 + zmax), "lse_t " + what);
  expect_close(d_ls.to_host(), ls, class_tol<T>("kl_div", g.C, 1 + zmax), "lse_s " + what);
  expect_close(d_kl.to_host(), kl, class_tol<T>("kl_div", g.C, scale), "kl " + what);
  const Tol lt_tol = class_tol<T>("kl_div", g.C, tau * tau * scale);
  EXPECT_NEAR(double(read1(d_loss)), loss, lt_tol.atol + lt_tol.rtol * std::abs(loss))
      << "loss " << what;
  // Both gradients, then each alone (the other pointer null).
  const Tol gt = class_tol<T>("kl_div_backward", g.C, coef / tau * scale);
  gpu::kl_div_backward<T>(d_t.get(), d_s.get(), d_lt.get(), d_ls.get(), d_kl.get(), g.N, g.C, g.P,
                          tau, d_dl.get(), d_dt.get(), d_ds.get(), nullptr);
  expect_close(d_dt.to_host(), dt, gt, "dt " + what);
  expect_close(d_ds.to_host(), ds, gt, "ds " + what);
  DeviceBuffer<T> only(n);
  gpu::kl_div_backward<T>(d_t.get(), d_s.get(), d_lt.get(), d_ls.get(), d_kl.get(), g.N, g.C, g.P,
                          tau, d_dl.get(), nullptr, only.get(), nullptr);
  expect_close(only.to_host(), ds, gt, "ds alone " + what);
  gpu::kl_div_backward<T>(d_t.get(), d_s.get(), d_lt.get(), d_ls.get(), d_kl.get(), g.N, g.C, g.P,
                          tau, d_dl.get(), only.get(), nullptr, nullptr);
  expect_close(only.to_host(), dt, gt, "dt alone " + what);
}

template <class T>
void kl_cases() {
  uint64_t seed = 100;
  for (const Geometry& g : kGeoms)
    for (double tau : {1.0, 2.0}) {
      kl_case<T>(g, tau, seed++, false);
      if (g.range < 100 && tau == 2.0) kl_case<T>(g, tau, seed++, true);
    }
}

TEST_F(LossParity, KlDivFloat) {
  XGD_REQUIRE_DEVICE();
  kl_cases<float>();
}
TEST_F(LossParity, KlDivDouble) {
  XGD_REQUIRE_DEVICE();
  kl_cases<double>();
}

// Identical teacher and student: KL is 0 per pixel (A = 0, equal sums), as on the CPU.
TEST_F(LossParity, KlDivOfEqualLogitsIsZero) {
  XGD_REQUIRE_DEVICE();
  const Geometry g{2, 7, 45, 5};
  const int64_t n = g.N * g.C * g.P, pixels = g.N * g.P;
  DeviceBuffer<float> d_t(random_vec<float>(n, -5, 5, 3)), d_lt(pixels), d_ls(pixels), d_kl(pixels),
      d_loss(1);
  DeviceBuffer<unsigned char> ws(gpu::loss_workspace_bytes(pixels));
  gpu::kl_div_forward<float>(d_t.get(), d_t.get(), g.N, g.C, g.P, 2.0, d_lt.get(), d_ls.get(),
                             d_kl.get(), d_loss.get(), ws.get(), nullptr);
  EXPECT_EQ(read1(d_loss), 0.0f);
  for (float v : d_kl.to_host()) ASSERT_EQ(v, 0.0f);
}

// ---------------------------------------------------------------- mse
template <class T>
void mse_cases() {
  for (int64_t n : {1, 7, 257, 4099}) {
    auto a = random_vec<T>(n, -3, 3, 500 + n), b = random_vec<T>(n, -3, 3, 600 + n);
    const double sum = cpu::squared_error_sum<T>(a.data(), b.data(), n);
    const double loss = sum / double(n), dl = 0.5;
    std::vector<T> da(n), db(n);
    cpu::mse_backward<T>(a.data(), b.data(), n, T(2.0 * dl / double(n)), da.data(), db.data());
    DeviceBuffer<T> d_a(a), d_b(b), d_loss(1), d_da(n), d_db(n), d_dl(std::vector<T>{T(dl)});
    DeviceBuffer<unsigned char> ws(gpu::loss_workspace_bytes(n));
    gpu::mse_forward<T>(d_a.get(), d_b.get(), n, d_loss.get(), ws.get(), nullptr);
    const bool f64 = std::is_same_v<T, double>;
    // Terms (a − b)² ≤ 36; the final rounding to T is the row's ulp.
    const Tol t = parity_tolerance("mse", f64, double(n), 36.0);
    EXPECT_NEAR(double(read1(d_loss)), loss, t.atol / double(n) + t.rtol * loss) << "n " << n;
    gpu::mse_backward<T>(d_a.get(), d_b.get(), n, d_dl.get(), d_da.get(), d_db.get(), nullptr);
    const Tol z = parity_tolerance("mse_backward", f64);
    expect_close(d_da.to_host(), da, z, "da n " + std::to_string(n));
    expect_close(d_db.to_host(), db, z, "db n " + std::to_string(n));
    DeviceBuffer<T> only(n);
    gpu::mse_backward<T>(d_a.get(), d_b.get(), n, d_dl.get(), nullptr, only.get(), nullptr);
    expect_close(only.to_host(), db, z, "db alone n " + std::to_string(n));
  }
}
TEST_F(LossParity, Mse) {
  XGD_REQUIRE_DEVICE();
  mse_cases<float>();
  mse_cases<double>();
}

// One block for every pass: threads loop over pixels / elements, the finishing block over one
// partial; 3 blocks: partials from blocks of unequal work.
TEST_F(LossParity, GridStrideLoops) {
  XGD_REQUIRE_DEVICE();
  for (unsigned blocks : {1u, 3u}) {
    gpu::set_max_grid_blocks(blocks);
    const Geometry g{2, 21, 500, 4};
    cross_entropy_case<float>(g, labels_for(g, 4, 255, 9), 255, 9,
                              "blocks " + std::to_string(blocks));
    kl_case<float>(g, 2.0, 11, false);
    mse_cases<float>();
  }
}

// The same call twice gives the same bits (fixed-order reductions, no float atomics).
TEST_F(LossParity, RerunsAreBitIdentical) {
  XGD_REQUIRE_DEVICE();
  const Geometry g{2, 9, 700, 3};
  const int64_t n = g.N * g.C * g.P, pixels = g.N * g.P;
  auto y = labels_for(g, 3, 255, 5);
  DeviceBuffer<float> dx(random_vec<float>(n, -3, 3, 5)), ds(random_vec<float>(n, -3, 3, 6)),
      dlse(pixels), l1(1), l2(1), lt(pixels), ls(pixels), kl(pixels), k1(1), k2(1);
  DeviceBuffer<int64_t> dy(y), dcount(1), dbad(1);
  DeviceBuffer<unsigned char> ws(gpu::loss_workspace_bytes(pixels));
  for (DeviceBuffer<float>* out : {&l1, &l2})
    gpu::cross_entropy_forward<float>(dx.get(), dy.get(), g.N, g.C, g.P, 255, dlse.get(),
                                      out->get(), dcount.get(), dbad.get(), ws.get(), nullptr);
  for (DeviceBuffer<float>* out : {&k1, &k2})
    gpu::kl_div_forward<float>(dx.get(), ds.get(), g.N, g.C, g.P, 1.0, lt.get(), ls.get(), kl.get(),
                               out->get(), ws.get(), nullptr);
  EXPECT_EQ(read1(l1), read1(l2));
  EXPECT_EQ(read1(k1), read1(k2));
}

}  // namespace
}  // namespace xgd::test
