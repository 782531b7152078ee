// Grad-CAM weighting CUDA kernels (kernels/cuda/cam.cu) against the CPU kernels
// (kernels/cpu/cam.cpp), float and double: odd map sizes, rows shorter and longer than a block,
// images split into several chunks (minmax), grid-stride loops (set_max_grid_blocks), ties and
// constant images. Tolerances: tests/emu/tolerance.h. Label emu and gpu.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "engine/tensor.h"
#include "kernels/common/cam.h"
#include "kernels/cpu/cam.h"
#include "kernels/cuda/cam.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

namespace cpu = kernels::cpu;
namespace gpu = kernels::cuda;

template <class T>
double max_abs(const std::vector<T>& v) {
  double m = 0;
  for (T x : v) m = std::max(m, std::abs(static_cast<double>(x)));
  return m;
}

template <class T>
void upload(DeviceBuffer<T>& d, const std::vector<T>& v) {
  XGD_CUDA_CHECK(cudaMemcpy(d.get(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
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

// (N, C, h, w): rows of 1 and 7×9 pixels (less than a block), 17×19 and 70×70 (one or
// several block strides), N·P past one 256-block for the per-pixel kernels.
struct MapShape {
  int64_t N, C, h, w;
  std::string str() const {
    return std::to_string(N) + "x" + std::to_string(C) + "x" + std::to_string(h) + "x" +
           std::to_string(w);
  }
};
constexpr MapShape kShapes[] = {
    {1, 1, 1, 1}, {2, 3, 7, 9}, {3, 5, 17, 19}, {1, 4, 70, 70}, {2, 33, 5, 3}};

class CamParity : public ::testing::Test {
 protected:
  void SetUp() override { gpu::set_max_grid_blocks(0); }
  void TearDown() override { gpu::set_max_grid_blocks(0); }
};

template <class T>
void channel_weight_cases() {
  uint64_t seed = 1;
  for (const MapShape& s : kShapes) {
    const int64_t rows = s.N * s.C, P = s.h * s.w;
    auto a = random_vec<T>(rows * P, -0.5, 2, seed++);
    auto g = random_vec<T>(rows * P, -1, 1, seed++);
    for (size_t i = 5; i < g.size(); i += 11) g[i] = T(0);  // GradCAM++'s 0/1e-6 case
    DeviceBuffer<T> da(a), dg(g), dw(rows);

    std::vector<T> ref(rows);
    cpu::cam_channel_mean<T>(g.data(), rows, P, ref.data());
    gpu::cam_channel_mean<T>(dg.get(), rows, P, dw.get(), nullptr);
    // mean = Σ/P: the sum's error bound scaled by 1/P.
    expect_parity("cam_channel_mean", dw.to_host(), ref, s.str(), P, max_abs(g) / double(P));

    cpu::gradcampp_weights<T>(a.data(), g.data(), rows, P, ref.data());
    gpu::gradcampp_weights<T>(da.get(), dg.get(), rows, P, dw.get(), nullptr);
    // The reduction's atol is 2·P·eps·max_abs. Two sums: the terms' (max_abs = the largest
    // term), and Σ A inside every term: in double its summation-order error (relative, at most
    // 2·P·eps·Σ|a| / |Σ A|, the classic bound for two orders) moves the row's terms by as much
    // relatively (|∂ln term/∂ln Σ A| <= 1 without cancellation), i.e. the weight by up to
    // 2·P·eps · Σ|a|/|Σ A| · Σ|term|. In float Σ A is rounded to float: that is in the ulps.
    double max_eff = 0;
    for (int64_t r = 0; r < rows; ++r) {
      double sa = 0, sabs = 0, term_max = 0, term_sum = 0;
      for (int64_t p = 0; p < P; ++p) {
        sa += a[r * P + p];
        sabs += std::abs(double(a[r * P + p]));
      }
      for (int64_t p = 0; p < P; ++p) {
        const double t = std::abs(double(kernels::gradcampp_term(g[r * P + p], T(sa))));
        term_max = std::max(term_max, t);
        term_sum += t;
      }
      max_eff = std::max(max_eff, term_max + sabs / std::abs(sa) * term_sum);
    }
    expect_parity("gradcampp_weights", dw.to_host(), ref, s.str(), P, max_eff);
  }
}

TEST_F(CamParity, ChannelWeights) {
  XGD_REQUIRE_DEVICE();
  channel_weight_cases<float>();
  channel_weight_cases<double>();
}

TEST_F(CamParity, ChannelWeightsGridStride) {
  XGD_REQUIRE_DEVICE();
  gpu::set_max_grid_blocks(2);  // up to 66 rows over 2 blocks
  channel_weight_cases<float>();
}

template <class T>
void weighted_sum_cases() {
  uint64_t seed = 50;
  for (const MapShape& s : kShapes)
    for (bool pixel : {false, true}) {
      const int64_t P = s.h * s.w, a_n = s.N * s.C * P;
      auto a = random_vec<T>(a_n, -1, 1, seed++);
      auto w = random_vec<T>(pixel ? a_n : s.N * s.C, -1, 1, seed++);
      auto dm = random_vec<T>(s.N * P, -1, 1, seed++);
      DeviceBuffer<T> da(a), dw(w), ddm(dm), dmap(s.N * P), dgrad(a_n);
      const std::string what = s.str() + (pixel ? " pixel weights" : " channel weights");

      std::vector<T> m(s.N * P), grad(a_n);
      cpu::cam_weighted_sum_relu<T>(a.data(), w.data(), s.N, s.C, P, pixel, m.data());
      gpu::cam_weighted_sum_relu<T>(da.get(), dw.get(), s.N, s.C, P, pixel, dmap.get(), nullptr);
      expect_parity("cam_weighted_sum_relu", dmap.to_host(), m, what);
      ASSERT_TRUE(std::count(m.begin(), m.end(), T(0)) > 0 || m.size() < 4)
          << "no pixel clipped by the ReLU: the backward's mask is untested, " << what;

      // Backward from the CPU's map on both sides: the kernels under test are the backward's.
      upload(dmap, m);
      cpu::cam_weighted_sum_relu_backward<T>(m.data(), dm.data(), w.data(), s.N, s.C, P, pixel,
                                             grad.data());
      gpu::cam_weighted_sum_relu_backward<T>(dmap.get(), ddm.get(), dw.get(), s.N, s.C, P, pixel,
                                             dgrad.get(), nullptr);
      expect_parity("cam_weighted_sum_relu_backward", dgrad.to_host(), grad, what);
    }
}

TEST_F(CamParity, WeightedSumRelu) {
  XGD_REQUIRE_DEVICE();
  weighted_sum_cases<float>();
  weighted_sum_cases<double>();
}

TEST_F(CamParity, WeightedSumReluGridStride) {
  XGD_REQUIRE_DEVICE();
  gpu::set_max_grid_blocks(3);
  weighted_sum_cases<float>();
}

// Images (N, P): one pixel, odd, one chunk, several chunks (4096 pixels each) with a short last
// one, plus ties (the first arg-extremum must win across chunks) and a constant image.
template <class T>
void minmax_cases() {
  struct Case {
    int64_t N, P;
    const char* pattern;  // "random", "ties", "constant"
  };
  const Case cases[] = {{1, 1, "random"},   {3, 7, "random"},    {2, 300, "random"},
                        {2, 4096, "ties"},  {3, 9001, "random"}, {2, 9001, "ties"},
                        {2, 17, "constant"}};
  const T eps = T(1e-7);
  uint64_t seed = 200;
  for (const Case& c : cases) {
    const int64_t n = c.N * c.P;
    auto x = random_vec<T>(n, -1, 3, seed++);
    const std::string pattern = c.pattern;
    if (pattern == "ties") {
      // Each image's min and max appear 3 times, in different chunks when there are several.
      for (int64_t i = 0; i < c.N; ++i)
        for (int64_t k : {int64_t(1), c.P / 2, c.P - 2}) {
          x[i * c.P + k] = T(-2);
          x[i * c.P + (k + 1) % c.P] = T(4);
        }
    } else if (pattern == "constant") {
      std::fill(x.begin(), x.end(), T(0.25));
    }
    auto dy = random_vec<T>(n, -1, 1, seed++);
    DeviceBuffer<T> dx_in(x), ddy(dy), dout(n), dgrad(n);
    const int64_t ws_n = gpu::minmax_workspace_elems(c.N, c.P);
    DeviceBuffer<T> ws_val(ws_n);
    DeviceBuffer<int64_t> ws_idx(ws_n), dindex(2 * c.N);
    DeviceBuffer<double> ws(ws_n);
    const std::string what = std::to_string(c.N) + "x" + std::to_string(c.P) + " " + pattern;

    std::vector<T> out(n), grad(n);
    std::vector<int64_t> index(2 * c.N);
    cpu::minmax_normalise<T>(x.data(), c.N, c.P, eps, out.data(), index.data());
    gpu::minmax_normalise<T>(dx_in.get(), c.N, c.P, eps, dout.get(), dindex.get(), ws_val.get(),
                             ws_idx.get(), nullptr);
    expect_parity("minmax_normalise", dout.to_host(), out, what);
    EXPECT_EQ(dindex.to_host(), index) << "arg-extrema, " << what;
    if (pattern == "ties")
      for (int64_t i = 0; i < c.N; ++i) {
        EXPECT_EQ(index[2 * i], 1) << "first argmin, " << what;
        EXPECT_EQ(index[2 * i + 1], 2) << "first argmax, " << what;
      }

    cpu::minmax_normalise_backward<T>(x.data(), index.data(), dy.data(), c.N, c.P, eps,
                                      grad.data());
    gpu::minmax_normalise_backward<T>(dx_in.get(), dindex.get(), ddy.get(), c.N, c.P, eps,
                                      dgrad.get(), ws.get(), nullptr);
    // Σ dy and Σ dy·y (y in [0, 1]) are the reductions, then divided by D = max − min + eps.
    double den = 1e300;
    for (int64_t i = 0; i < c.N; ++i) {
      const T* xi = x.data() + i * c.P;
      den = std::min(
          den, double(kernels::minmax_denominator(xi[index[2 * i]], xi[index[2 * i + 1]], eps)));
    }
    expect_parity("minmax_normalise_backward", dgrad.to_host(), grad, what, c.P,
                  2 * max_abs(dy) / den);
  }
}

TEST_F(CamParity, MinmaxNormalise) {
  XGD_REQUIRE_DEVICE();
  minmax_cases<float>();
  minmax_cases<double>();
}

TEST_F(CamParity, MinmaxNormaliseGridStride) {
  XGD_REQUIRE_DEVICE();
  gpu::set_max_grid_blocks(1);  // images looped over gridDim.y = 1
  minmax_cases<float>();
}

}  // namespace
}  // namespace xgd::test
