// xgd_bench conv [--threads N] [--batch N] [--reps R] [--backward] [--mode auto|inner|outer]
//                [--budget BYTES] [--only SUBSTR] [--clock wall|cpu] [--device cpu|cuda]
// --device cuda runs our CUDA kernels against cuDNN instead (bench_conv_cuda.cpp).
// Our conv2d kernels (kernels/cpu/conv*.cpp, the production code) against a peer measured in
// the same run with the same thread count:
//   dense: whole-image im2col + OpenBLAS cblas_sgemm per group (Caffe / PyTorch's slow path);
//          a 1×1 stride-1 conv is a plain cblas_sgemm on the image, no im2col;
//   depthwise: per-channel im2col + cblas_sgemm (M = channel multiplier, K = KH·KW);
//   --backward adds data + weight gradients: dcol = Wᵀ·dY then col2im, im2col then dW = dY·colᵀ
//   (per channel for depthwise).
// Shapes: torchvision ResNet18 at 1×3×512×512, the smp DeepLabV3+ ASPP at 32×32 on 512 ch,
// the decoder's separable 3×3 at 128×128 and two MobileNetV2 depthwise layers. GFLOP/s count
// 2·MACs of the nominal kernel (for the dilated depthwise branches most taps read padding).
// One line per shape ending in `ratio <peer time / our time>` (> 1: we are faster).
// --clock cpu times process CPU seconds (min of reps) instead of wall time (median): with
// --threads 1 on a machine shared with other jobs it is immune to preemption; with more
// threads it also counts OpenMP/OpenBLAS spin-waiting, so report wall time there.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "apps/xgd_bench/bench.h"
#include "apps/xgd_bench/conv_cases.h"
#include "engine/error.h"
#include "kernels/cpu/conv.h"

#ifdef XGD_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace xgd::bench {
namespace {

using kernels::cpu::ConvGeom;

std::vector<float> random_vec(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

// max |a - b| / max |b|
double maxrel(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(double(a[i]) - double(b[i])));
    ref = std::max(ref, std::fabs(double(b[i])));
  }
  return ref > 0 ? diff / ref : diff;
}

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Wall: the shared median (bench.h). CPU: min over reps of the process CPU time.
double time_fn(const std::function<void()>& fn, int reps, bool cpu_clock) {
  if (!cpu_clock) return time_median(fn, reps);
  fn();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const double t0 = cpu_seconds();
    fn();
    best = std::min(best, cpu_seconds() - t0);
  }
  return best;
}

#ifdef XGD_HAVE_OPENBLAS
// The peer: whole-image im2col (our im2col kernel, also used by PyTorch-style slow paths) and
// cblas_sgemm per group; depthwise runs one im2col + sgemm per channel.
struct Peer {
  const ConvGeom& g;
  std::vector<float> col;  // (C·KH·KW, OH·OW) of one image, or (KH·KW, OH·OW) per channel

  explicit Peer(const ConvGeom& geom) : g(geom) {
    col.resize(static_cast<size_t>((g.is_depthwise() ? 1 : g.C) * g.KH * g.KW * g.OH * g.OW));
  }
  int64_t CgKK() const { return g.Cg() * g.KH * g.KW; }
  int64_t OHW() const { return g.OH * g.OW; }

  void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
             const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                int(M), int(N), int(K), 1.0f, A, int(lda), B, int(ldb), beta, C, int(ldc));
  }

  void forward(const float* x, const float* w, float* y) {
    const int64_t Kg = g.Kg(), HW = g.H * g.W;
    for (int64_t n = 0; n < g.N; ++n) {
      const float* xn = x + n * g.C * HW;
      float* yn = y + n * g.K * OHW();
      if (g.is_depthwise()) {
        for (int64_t c = 0; c < g.C; ++c) {
          kernels::cpu::im2col(g, xn, c, 1, 0, g.OH, col.data());
          sgemm(false, false, Kg, OHW(), CgKK(), w + c * Kg * CgKK(), CgKK(), col.data(), OHW(),
                0.0f, yn + c * Kg * OHW(), OHW());
        }
      } else if (g.is_pointwise()) {
        for (int64_t grp = 0; grp < g.groups; ++grp)
          sgemm(false, false, Kg, HW, g.Cg(), w + grp * Kg * g.Cg(), g.Cg(), xn + grp * g.Cg() * HW,
                HW, 0.0f, yn + grp * Kg * HW, HW);
      } else {
        kernels::cpu::im2col(g, xn, 0, g.C, 0, g.OH, col.data());
        for (int64_t grp = 0; grp < g.groups; ++grp)
          sgemm(false, false, Kg, OHW(), CgKK(), w + grp * Kg * CgKK(), CgKK(),
                col.data() + grp * CgKK() * OHW(), OHW(), 0.0f, yn + grp * Kg * OHW(), OHW());
      }
    }
  }

  // dx = col2im(Wᵀ·dY), dW = Σ_n dY·colᵀ (per group, or per channel for depthwise).
  void backward(const float* x, const float* w, const float* dy, float* dx, float* dw) {
    const int64_t Kg = g.Kg(), HW = g.H * g.W;
    std::fill(dx, dx + g.N * g.C * HW, 0.0f);
    const int64_t blocks = g.is_depthwise() ? g.C : 1;  // im2col blocks per image
    const int64_t nc = g.is_depthwise() ? 1 : g.C;
    for (int64_t n = 0; n < g.N; ++n) {
      const float* xn = x + n * g.C * HW;
      const float* dyn = dy + n * g.K * OHW();
      float* dxn = dx + n * g.C * HW;
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t c0 = blk * nc, grp0 = g.is_depthwise() ? blk : 0;
        const int64_t ngrp = g.is_depthwise() ? 1 : g.groups;
        if (g.is_pointwise()) {
          for (int64_t grp = 0; grp < g.groups; ++grp) {
            sgemm(true, false, g.Cg(), HW, Kg, w + grp * Kg * g.Cg(), g.Cg(), dyn + grp * Kg * HW,
                  HW, 0.0f, dxn + grp * g.Cg() * HW, HW);
            sgemm(false, true, Kg, g.Cg(), HW, dyn + grp * Kg * HW, HW, xn + grp * g.Cg() * HW, HW,
                  n ? 1.0f : 0.0f, dw + grp * Kg * g.Cg(), g.Cg());
          }
          continue;
        }
        for (int64_t k = 0; k < ngrp; ++k) {
          const int64_t grp = grp0 + k;
          sgemm(true, false, CgKK(), OHW(), Kg, w + grp * Kg * CgKK(), CgKK(),
                dyn + grp * Kg * OHW(), OHW(), 0.0f, col.data() + k * CgKK() * OHW(), OHW());
        }
        kernels::cpu::col2im_add(g, col.data(), c0, nc, 0, g.OH, dxn);
        kernels::cpu::im2col(g, xn, c0, nc, 0, g.OH, col.data());
        for (int64_t k = 0; k < ngrp; ++k) {
          const int64_t grp = grp0 + k;
          sgemm(false, true, Kg, CgKK(), OHW(), dyn + grp * Kg * OHW(), OHW(),
                col.data() + k * CgKK() * OHW(), OHW(), n ? 1.0f : 0.0f, dw + grp * Kg * CgKK(),
                CgKK());
        }
      }
    }
  }
};
#endif

int run_cpu(const std::vector<std::string>& args);

// --device cpu (the default) or cuda, then the device's own options.
int run(const std::vector<std::string>& all) {
  std::vector<std::string> args;
  std::string device = "cpu";
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] != "--device") {
      args.push_back(all[i]);
      continue;
    }
    XGD_CHECK(i + 1 < all.size(), "xgd_bench conv: --device needs a value (cpu|cuda)");
    device = all[++i];
  }
  XGD_CHECK(device == "cpu" || device == "cuda", "xgd_bench conv: unknown --device ", device,
            " (cpu|cuda)");
  return device == "cuda" ? run_conv_cuda(args) : run_cpu(args);
}

int run_cpu(const std::vector<std::string>& args) {
  int threads = omp_get_max_threads(), reps_override = 0;
  int64_t batch = 1;
  bool backward = false, cpu_clock = false;
  std::string only;
  kernels::cpu::ConvOptions opt;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> const std::string& {
      XGD_CHECK(i + 1 < args.size(), "xgd_bench conv: ", args[i], " needs a value");
      return args[++i];
    };
    if (args[i] == "--threads") {
      threads = std::stoi(value());
    } else if (args[i] == "--batch") {
      batch = std::stoll(value());
    } else if (args[i] == "--reps") {
      reps_override = std::stoi(value());
    } else if (args[i] == "--backward") {
      backward = true;
    } else if (args[i] == "--budget") {
      opt.col_budget_bytes = std::stoll(value());
    } else if (args[i] == "--clock") {
      const std::string& v = value();
      XGD_CHECK(v == "wall" || v == "cpu", "xgd_bench conv: unknown --clock ", v, " (wall|cpu)");
      cpu_clock = v == "cpu";
    } else if (args[i] == "--only") {
      only = value();
    } else if (args[i] == "--mode") {
      const std::string& v = value();
      if (v == "auto")
        opt.threads = kernels::cpu::ConvThreads::Auto;
      else if (v == "inner")
        opt.threads = kernels::cpu::ConvThreads::Inner;
      else if (v == "outer")
        opt.threads = kernels::cpu::ConvThreads::Outer;
      else
        XGD_FAIL("xgd_bench conv: unknown --mode ", v, " (auto|inner|outer)");
    } else {
      XGD_FAIL("xgd_bench conv: unknown option ", args[i],
               " (usage: xgd_bench conv [--threads N] [--batch N] [--reps R] [--backward] "
               "[--mode auto|inner|outer] [--budget BYTES] [--only SUBSTR] [--clock wall|cpu] "
               "[--device cpu|cuda])");
    }
  }
  XGD_CHECK(threads >= 1, "xgd_bench conv: --threads must be >= 1, got ", threads);
  XGD_CHECK(batch >= 1, "xgd_bench conv: --batch must be >= 1, got ", batch);
#ifndef XGD_HAVE_OPENBLAS
  XGD_FAIL(
      "xgd_bench conv: built without OpenBLAS, so there is no peer to compare with "
      "(apt-get install libopenblas-dev and reconfigure)");
#else
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
  if (!std::getenv("OPENBLAS_CORETYPE"))
    std::printf(
        "warning: OPENBLAS_CORETYPE is not set: Debian's OpenBLAS may run its SSE3 "
        "kernels on this CPU; run with OPENBLAS_CORETYPE=SkylakeX for a fair peer\n");
  std::printf(
      "# threads %d, batch %lld, clock %s, openblas core %s; peer = im2col + cblas_sgemm "
      "(1x1/s1: sgemm; depthwise: per-channel im2col + sgemm)\n",
      threads, static_cast<long long>(batch), cpu_clock ? "cpu (min)" : "wall (median)",
      openblas_get_corename());
  for (const ConvCase& c : kConvCases) {
    if (!only.empty() && std::string(c.name).find(only) == std::string::npos) continue;
    const ConvGeom g = kernels::cpu::conv_geom(batch, c.C, c.H, c.W, c.K, c.k, c.k, c.s, c.s, c.p,
                                               c.p, c.d, c.d, c.groups);
    const int64_t xn = g.N * g.C * g.H * g.W, wn = g.K * g.Cg() * g.KH * g.KW;
    const int64_t yn = g.N * g.K * g.OH * g.OW;
    std::vector<float> x = random_vec(xn, 1), w = random_vec(wn, 2), dy = random_vec(yn, 3);
    std::vector<float> y(yn), y_peer(yn);
    const double flop = 2.0 * double(yn) * double(g.Cg() * g.KH * g.KW);
    const int reps =
        reps_override > 0 ? reps_override : static_cast<int>(std::clamp(4e9 / flop, 3.0, 30.0));
    Peer peer(g);
    const double t_ours = time_fn(
        [&] { kernels::cpu::conv2d_forward<float>(g, x.data(), w.data(), nullptr, y.data(), opt); },
        reps, cpu_clock);
    const double t_peer =
        time_fn([&] { peer.forward(x.data(), w.data(), y_peer.data()); }, reps, cpu_clock);
    char shape[64], params[64];
    std::snprintf(shape, sizeof shape, "%lldx%lldx%lldx%lld", static_cast<long long>(g.N),
                  static_cast<long long>(g.C), static_cast<long long>(g.H),
                  static_cast<long long>(g.W));
    std::snprintf(params, sizeof params, "k=%lld s=%lld d=%lld g=%lld", static_cast<long long>(c.k),
                  static_cast<long long>(c.s), static_cast<long long>(c.d),
                  static_cast<long long>(c.groups));
    std::printf(
        "conv %-29s %-16s %-20s ours %8.3f ms %6.1f GFLOP/s  peer %8.3f ms  maxrel %.0e  "
        "ratio %.2f\n",
        c.name, shape, params, t_ours * 1e3, flop / t_ours * 1e-9, t_peer * 1e3, maxrel(y, y_peer),
        t_peer / t_ours);
    std::fflush(stdout);
    if (!backward) continue;
    std::vector<float> dx(xn), dw(wn), dx_peer(xn), dw_peer(wn);
    const double tb_ours = time_fn(
        [&] {
          kernels::cpu::conv2d_backward_data<float>(g, dy.data(), w.data(), dx.data(), opt);
          kernels::cpu::conv2d_backward_weight<float>(g, x.data(), dy.data(), dw.data(), opt);
        },
        reps, cpu_clock);
    const double tb_peer = time_fn(
        [&] { peer.backward(x.data(), w.data(), dy.data(), dx_peer.data(), dw_peer.data()); }, reps,
        cpu_clock);
    std::printf(
        "conv_bwd %-25s %-16s %-20s ours %8.3f ms %6.1f GFLOP/s  peer %8.3f ms  "
        "maxrel %.0e/%.0e  ratio %.2f\n",
        c.name, shape, params, tb_ours * 1e3, 2 * flop / tb_ours * 1e-9, tb_peer * 1e3,
        maxrel(dx, dx_peer), maxrel(dw, dw_peer), tb_peer / tb_ours);
    std::fflush(stdout);
  }
  return 0;
#endif
}

}  // namespace
}  // namespace xgd::bench

XGD_REGISTER_BENCH(conv,
                   "conv2d kernels vs im2col + OpenBLAS sgemm [--threads N] [--batch N] "
                   "[--backward] [--mode M] [--budget B] [--reps R] [--only S] [--clock wall|cpu]; "
                   "--device cuda: ours vs cuDNN [--batch N] [--reps R] [--backward] [--only S] "
                   "[--tf32]",
                   xgd::bench::run);
