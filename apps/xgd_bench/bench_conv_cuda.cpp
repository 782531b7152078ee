// xgd_bench conv --device cuda [--batch N] [--reps R] [--backward] [--only SUBSTR] [--tf32]
// Our CUDA conv2d kernels (kernels/cuda/conv.cu, as the engine runs them) against cuDNN on the
// dense conv layers of apps/xgd_bench/conv_cases.h (ResNet18-DeepLabV3+ at 512×512), float.
// The peer is cuDNN's fastest algorithm by cudnnFind* per direction, FP32 FMA math (no TF32
// tensor cores, as ours; --tf32 allows them). Times are the median of per-rep cudaEvent
// intervals on the one stream after 2 warm-up runs; --backward adds data + weight gradients
// (ours including the split-reduction pass and its workspace, cuDNN backward data + filter).
// One line per layer ending in `ratio <cuDNN time / our time>` (> 1: we are faster), then the
// totals. Depthwise layers have their own kernels and are listed as skipped here.
// Built only where CUDA and cuDNN are found (XGD_BENCH_CUDA); cuDNN is linked into xgd_bench
// only, never into the engine.
#include <string>
#include <vector>

#include "apps/xgd_bench/bench.h"
#include "engine/error.h"

#if defined(XGD_BENCH_CUDA)
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "apps/xgd_bench/conv_cases.h"
#include "apps/xgd_bench/cudnn_conv.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/runtime.h"
#endif

namespace xgd::bench {

#if !defined(XGD_BENCH_CUDA)
int run_conv_cuda(const std::vector<std::string>&) {
  XGD_FAIL(
      "xgd_bench conv --device cuda: this xgd_bench was built without the CUDA backend and "
      "cuDNN (reconfigure where nvcc and libcudnn are found; CUDNN_PATH points at cuDNN)");
}
#else
namespace {

using kernels::cpu::ConvGeom;

// Device memory of n floats (a benchmark's own buffers, outside the engine's allocator).
class Buf {
 public:
  explicit Buf(size_t n) : n_(n) {
    XGD_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), std::max<size_t>(n, 1) * 4));
  }
  ~Buf() { cudaFree(p_); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  float* get() const { return p_; }
  void fill_random(uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(n_);
    for (auto& x : v) x = u(rng);
    XGD_CUDA_CHECK(cudaMemcpy(p_, v.data(), n_ * 4, cudaMemcpyHostToDevice));
  }
  std::vector<float> to_host() const {
    std::vector<float> v(n_);
    XGD_CUDA_CHECK(cudaDeviceSynchronize());
    XGD_CUDA_CHECK(cudaMemcpy(v.data(), p_, n_ * 4, cudaMemcpyDeviceToHost));
    return v;
  }

 private:
  float* p_ = nullptr;
  size_t n_;
};

// max |a - b| / max |b|
double maxrel(const Buf& a, const Buf& b) {
  const auto x = a.to_host(), y = b.to_host();
  double diff = 0, ref = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    diff = std::max(diff, std::fabs(double(x[i]) - double(y[i])));
    ref = std::max(ref, std::fabs(double(y[i])));
  }
  return ref > 0 ? diff / ref : diff;
}

// Median of `reps` cudaEvent intervals (seconds) of fn on `stream`, after 2 warm-up runs.
template <class Fn>
double time_events(cudaStream_t stream, int reps, const Fn& fn) {
  cudaEvent_t start, stop;
  XGD_CUDA_CHECK(cudaEventCreate(&start));
  XGD_CUDA_CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < 2; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    XGD_CUDA_CHECK(cudaEventRecord(start, stream));
    fn();
    XGD_CUDA_CHECK(cudaEventRecord(stop, stream));
    XGD_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    XGD_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    t.push_back(ms * 1e-3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int run_conv_cuda(const std::vector<std::string>& args) {
  int64_t batch = 1;
  int reps_override = 0;
  bool backward = false, tf32 = false;
  std::string only;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> const std::string& {
      XGD_CHECK(i + 1 < args.size(), "xgd_bench conv --device cuda: ", args[i], " needs a value");
      return args[++i];
    };
    if (args[i] == "--batch") {
      batch = std::stoll(value());
    } else if (args[i] == "--reps") {
      reps_override = std::stoi(value());
    } else if (args[i] == "--backward") {
      backward = true;
    } else if (args[i] == "--tf32") {
      tf32 = true;
    } else if (args[i] == "--only") {
      only = value();
    } else {
      XGD_FAIL("xgd_bench conv --device cuda: unknown option ", args[i],
               " (usage: xgd_bench conv --device cuda [--batch N] [--reps R] [--backward] "
               "[--only SUBSTR] [--tf32])");
    }
  }
  XGD_CHECK(batch >= 1, "xgd_bench conv: --batch must be >= 1, got ", batch);
  std::string why;
  XGD_CHECK(cuda::device_available(&why),
            "xgd_bench conv --device cuda: no usable CUDA device: ", why);
  const cuda::DeviceInfo& info = cuda::device_info();
  cudaStream_t stream = cuda::stream();
  std::printf(
      "# device %s (sm_%d%d, %d SMs), CUDA runtime %d, cuDNN %zu, batch %lld; peer = cuDNN "
      "(cudnnFind fastest, %s); times: cudaEvent median; ratio = cuDNN time / ours\n",
      info.name.c_str(), info.cc_major, info.cc_minor, info.sm_count, info.runtime_version,
      static_cast<size_t>(cudnnGetVersion()), static_cast<long long>(batch),
      tf32 ? "TF32 allowed" : "FP32 FMA math");
  double fwd_ours = 0, fwd_peer = 0, bwd_ours = 0, bwd_peer = 0;
  const auto& fns = kernels::cuda::conv_table().f32;
  for (const ConvCase& c : kConvCases) {
    if (!only.empty() && std::string(c.name).find(only) == std::string::npos) continue;
    const ConvGeom g = kernels::cpu::conv_geom(batch, c.C, c.H, c.W, c.K, c.k, c.k, c.s, c.s, c.p,
                                               c.p, c.d, c.d, c.groups);
    char shape[64], params[64];
    std::snprintf(shape, sizeof shape, "%lldx%lldx%lldx%lld", static_cast<long long>(g.N),
                  static_cast<long long>(g.C), static_cast<long long>(g.H),
                  static_cast<long long>(g.W));
    std::snprintf(params, sizeof params, "k=%lld s=%lld d=%lld g=%lld", static_cast<long long>(c.k),
                  static_cast<long long>(c.s), static_cast<long long>(c.d),
                  static_cast<long long>(c.groups));
    if (g.is_depthwise()) {
      std::printf("conv %-29s %-16s %-20s skipped: depthwise (its own kernels)\n", c.name, shape,
                  params);
      continue;
    }
    const size_t xn = g.N * g.C * g.H * g.W, wn = g.K * g.Cg() * g.KH * g.KW;
    const size_t yn = g.N * g.K * g.OH * g.OW;
    Buf x(xn), w(wn), y(yn), y_peer(yn);
    x.fill_random(1), w.fill_random(2);
    CudnnConv peer(g, stream, CudnnAlgo::Fastest, tf32);
    const double flop = 2.0 * double(yn) * double(g.Cg() * g.KH * g.KW);
    const int reps =
        reps_override > 0 ? reps_override : static_cast<int>(std::clamp(2e11 / flop, 5.0, 50.0));
    const double t_ours = time_events(
        stream, reps, [&] { fns.forward(g, x.get(), w.get(), nullptr, y.get(), stream); });
    const double t_peer =
        time_events(stream, reps, [&] { peer.forward(x.get(), w.get(), y_peer.get()); });
    fwd_ours += t_ours, fwd_peer += t_peer;
    std::printf(
        "conv %-29s %-16s %-20s ours %8.3f ms %7.1f GFLOP/s  cudnn %8.3f ms  maxrel %.0e  "
        "ratio %.2f\n",
        c.name, shape, params, t_ours * 1e3, flop / t_ours * 1e-9, t_peer * 1e3, maxrel(y, y_peer),
        t_peer / t_ours);
    std::fflush(stdout);
    if (!backward) continue;
    Buf dy(yn), dx(xn), dw(wn), dx_peer(xn), dw_peer(wn);
    dy.fill_random(3);
    const size_t ws_bytes = fns.backward_weight_workspace_bytes(g);
    Buf ws((ws_bytes + 3) / 4);
    const double tb_ours = time_events(stream, reps, [&] {
      fns.backward_data(g, dy.get(), w.get(), dx.get(), stream);
      fns.backward_weight(g, x.get(), dy.get(), dw.get(), ws.get(), ws_bytes, stream);
    });
    const double tb_peer = time_events(stream, reps, [&] {
      peer.backward_data(dy.get(), w.get(), dx_peer.get());
      peer.backward_weight(x.get(), dy.get(), dw_peer.get());
    });
    bwd_ours += tb_ours, bwd_peer += tb_peer;
    std::printf(
        "conv_bwd %-25s %-16s %-20s ours %8.3f ms %7.1f GFLOP/s  cudnn %8.3f ms  "
        "maxrel %.0e/%.0e  ratio %.2f  (workspace %zu B; cudnn %s)\n",
        c.name, shape, params, tb_ours * 1e3, 2 * flop / tb_ours * 1e-9, tb_peer * 1e3,
        maxrel(dx, dx_peer), maxrel(dw, dw_peer), tb_peer / tb_ours, ws_bytes,
        peer.algos().c_str());
    std::fflush(stdout);
  }
  if (fwd_ours > 0)
    std::printf("total conv forward  ours %9.3f ms  cudnn %9.3f ms  ratio %.2f\n", fwd_ours * 1e3,
                fwd_peer * 1e3, fwd_peer / fwd_ours);
  if (bwd_ours > 0)
    std::printf("total conv backward ours %9.3f ms  cudnn %9.3f ms  ratio %.2f\n", bwd_ours * 1e3,
                bwd_peer * 1e3, bwd_peer / bwd_ours);
  return 0;
}
#endif

}  // namespace xgd::bench
