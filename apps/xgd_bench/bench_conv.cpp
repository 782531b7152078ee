// xgd_bench conv [--threads N] [--batch N] [--reps R] [--backward] [--mode auto|inner|outer]
//                [--budget BYTES] [--only SUBSTR] [--clock wall|cpu]
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
#include "engine/error.h"
#include "kernels/cpu/conv.h"

#ifdef XGD_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace xgd::bench {
namespace {

using kernels::cpu::ConvGeom;

struct ConvCase {
  const char* name;
  int64_t C, H, W, K, k, s, p, d, groups;
};

// (name, C_in, H, W, C_out, kernel, stride, pad, dilation, groups) at batch N = --batch.
const std::vector<ConvCase> kCases = {
    {"resnet18.conv1", 3, 512, 512, 64, 7, 2, 3, 1, 1},
    {"resnet18.layer1.conv", 64, 128, 128, 64, 3, 1, 1, 1, 1},
    {"resnet18.layer2.0.conv1", 64, 128, 128, 128, 3, 2, 1, 1, 1},
    {"resnet18.layer2.0.downsample", 64, 128, 128, 128, 1, 2, 0, 1, 1},
    {"resnet18.layer2.conv", 128, 64, 64, 128, 3, 1, 1, 1, 1},
    {"resnet18.layer3.0.conv1", 128, 64, 64, 256, 3, 2, 1, 1, 1},
    {"resnet18.layer3.0.downsample", 128, 64, 64, 256, 1, 2, 0, 1, 1},
    {"resnet18.layer3.conv", 256, 32, 32, 256, 3, 1, 1, 1, 1},
    {"resnet18.layer4.0.conv1", 256, 32, 32, 512, 3, 2, 1, 1, 1},
    {"resnet18.layer4.0.downsample", 256, 32, 32, 512, 1, 2, 0, 1, 1},
    {"resnet18.layer4.conv", 512, 16, 16, 512, 3, 1, 1, 1, 1},
    {"aspp.1x1", 512, 32, 32, 256, 1, 1, 0, 1, 1},
    {"aspp.sep.dw_d12", 512, 32, 32, 512, 3, 1, 12, 12, 512},
    {"aspp.sep.dw_d24", 512, 32, 32, 512, 3, 1, 24, 24, 512},
    {"aspp.sep.dw_d36", 512, 32, 32, 512, 3, 1, 36, 36, 512},
    {"aspp.sep.pw", 512, 32, 32, 256, 1, 1, 0, 1, 1},
    {"aspp.project", 1280, 32, 32, 256, 1, 1, 0, 1, 1},
    {"decoder.sep.dw", 304, 128, 128, 304, 3, 1, 1, 1, 304},
    {"decoder.sep.pw", 304, 128, 128, 256, 1, 1, 0, 1, 1},
    // MobileNetV2 at 512: a stride-2 and a stride-1 depthwise 3×3 of the expanded blocks.
    {"mobilenetv2.features.2.dw_s2", 96, 256, 256, 96, 3, 2, 1, 1, 96},
    {"mobilenetv2.features.4.dw", 144, 128, 128, 144, 3, 1, 1, 1, 144},
};

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

int run(const std::vector<std::string>& args) {
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
               "[--mode auto|inner|outer] [--budget BYTES] [--only SUBSTR] [--clock wall|cpu])");
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
  for (const ConvCase& c : kCases) {
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
                   "[--backward] [--mode M] [--budget B] [--reps R] [--only S] [--clock wall|cpu]",
                   xgd::bench::run);
