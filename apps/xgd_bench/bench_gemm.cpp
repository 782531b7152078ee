// xgd_bench gemm [--threads N] [--isa auto|avx512|avx2|generic] [--reps R] [--case M,N,K,ta,tb]
// Our SGEMM (kernels/cpu/gemm.cpp, the production kernel) against OpenBLAS cblas_sgemm, both on
// the same row-major problems with the same thread count, median of several reps. One line per
// case ending in `ratio <ours/openblas>` (DESIGN.md §4).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "apps/xgd_bench/bench.h"
#include "engine/error.h"
#include "kernels/cpu/gemm.h"

#ifdef XGD_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace xgd::bench {
namespace {

struct GemmCase {
  int64_t M, N, K;
  bool ta, tb;
};

// Square sizes, the im2col conv forward shapes of the segmentation nets (M = C_out,
// N = H·W, K = C_in·3·3) and their backward products: dcol = Wᵀ·dY (ta) and dW = dY·colᵀ (tb).
const std::vector<GemmCase> kCases = {
    {256, 256, 256, false, false},    {512, 512, 512, false, false},
    {1024, 1024, 1024, false, false}, {1024, 1024, 1024, true, false},
    {1024, 1024, 1024, false, true},  {2048, 2048, 2048, false, false},
    {64, 16384, 576, false, false},   {576, 16384, 64, true, false},
    {64, 576, 16384, false, true},    {256, 1024, 2304, false, false},
    {2304, 1024, 256, true, false},   {256, 2304, 1024, false, true},
    {512, 256, 4608, false, false},   {4608, 256, 512, true, false},
    {512, 4608, 256, false, true},
};

std::vector<float> random_matrix(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

int run(const std::vector<std::string>& args) {
  int threads = omp_get_max_threads(), reps_override = 0;
  kernels::cpu::GemmIsa isa = kernels::cpu::GemmIsa::Auto;
  std::vector<GemmCase> cases = kCases;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> const std::string& {
      XGD_CHECK(i + 1 < args.size(), "xgd_bench gemm: ", args[i], " needs a value");
      return args[++i];
    };
    if (args[i] == "--threads") {
      threads = std::stoi(value());
    } else if (args[i] == "--reps") {
      reps_override = std::stoi(value());
    } else if (args[i] == "--case") {
      long long m, n, k;
      int ta, tb;
      const std::string& v = value();
      XGD_CHECK(std::sscanf(v.c_str(), "%lld,%lld,%lld,%d,%d", &m, &n, &k, &ta, &tb) == 5 &&
                    m > 0 && n > 0 && k > 0,
                "xgd_bench gemm: --case wants M,N,K,ta,tb (positive sizes), got ", v);
      cases = {{m, n, k, ta != 0, tb != 0}};
    } else if (args[i] == "--isa") {
      const std::string& v = value();
      if (v == "auto")
        isa = kernels::cpu::GemmIsa::Auto;
      else if (v == "avx512")
        isa = kernels::cpu::GemmIsa::Avx512;
      else if (v == "avx2")
        isa = kernels::cpu::GemmIsa::Avx2;
      else if (v == "generic")
        isa = kernels::cpu::GemmIsa::Generic;
      else
        XGD_FAIL("xgd_bench gemm: unknown --isa ", v, " (auto|avx512|avx2|generic)");
    } else {
      XGD_FAIL("xgd_bench gemm: unknown option ", args[i],
               " (usage: xgd_bench gemm [--threads N] [--isa I] [--reps R] [--case M,N,K,ta,tb])");
    }
  }
  XGD_CHECK(threads >= 1, "xgd_bench gemm: --threads must be >= 1, got ", threads);
#ifndef XGD_HAVE_OPENBLAS
  XGD_FAIL(
      "xgd_bench gemm: built without OpenBLAS, so there is no peer to compare with "
      "(apt-get install libopenblas-dev and reconfigure)");
#else
  kernels::cpu::set_sgemm_isa(isa);
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
  if (!std::getenv("OPENBLAS_CORETYPE"))
    std::printf(
        "warning: OPENBLAS_CORETYPE is not set: Debian's OpenBLAS may run its SSE3 "
        "kernels on this CPU; run with OPENBLAS_CORETYPE=SkylakeX for a fair peer\n");
  std::printf("# threads %d, our micro-kernel %s, openblas core %s\n", threads,
              kernels::cpu::gemm_isa_name(kernels::cpu::sgemm_isa()), openblas_get_corename());
  for (const GemmCase& c : cases) {
    // Stored shapes: A (M, K) or (K, M) when ta; B (K, N) or (N, K) when tb.
    const int64_t lda = c.ta ? c.M : c.K, ldb = c.tb ? c.K : c.N, ldc = c.N;
    std::vector<float> A = random_matrix(c.M * c.K, 1), B = random_matrix(c.K * c.N, 2);
    std::vector<float> ours(static_cast<size_t>(c.M * c.N)), peer(ours.size());
    const double flop = 2.0 * double(c.M) * double(c.N) * double(c.K);
    // ~0.25 s of our kernel per case at ~100 GFLOP/s, between 3 and 50 reps.
    const int reps =
        reps_override > 0 ? reps_override : static_cast<int>(std::clamp(2.5e10 / flop, 3.0, 50.0));
    double t_ours = time_median(
        [&] {
          kernels::cpu::gemm<float>(c.ta, c.tb, c.M, c.N, c.K, 1.0f, A.data(), lda, B.data(), ldb,
                                    0.0f, ours.data(), ldc);
        },
        reps);
    double t_peer = time_median(
        [&] {
          cblas_sgemm(CblasRowMajor, c.ta ? CblasTrans : CblasNoTrans,
                      c.tb ? CblasTrans : CblasNoTrans, static_cast<int>(c.M),
                      static_cast<int>(c.N), static_cast<int>(c.K), 1.0f, A.data(),
                      static_cast<int>(lda), B.data(), static_cast<int>(ldb), 0.0f, peer.data(),
                      static_cast<int>(ldc));
        },
        reps);
    // Normwise relative difference: max |ours - openblas| / max |openblas|.
    double max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < ours.size(); ++i) {
      max_diff = std::max(max_diff, std::fabs(double(ours[i]) - double(peer[i])));
      max_ref = std::max(max_ref, std::fabs(double(peer[i])));
    }
    const double g_ours = flop / t_ours * 1e-9, g_peer = flop / t_peer * 1e-9;
    std::printf(
        "gemm M=%lld N=%lld K=%lld ta=%d tb=%d  ours %.1f  openblas %.1f  maxrel %.1e  "
        "ratio %.2f\n",
        static_cast<long long>(c.M), static_cast<long long>(c.N), static_cast<long long>(c.K),
        int(c.ta), int(c.tb), g_ours, g_peer, max_ref > 0 ? max_diff / max_ref : max_diff,
        g_ours / g_peer);
    std::fflush(stdout);
  }
  return 0;
#endif
}

}  // namespace
}  // namespace xgd::bench

XGD_REGISTER_BENCH(gemm, "SGEMM vs OpenBLAS cblas_sgemm [--threads N] [--isa I] [--reps R]",
                   xgd::bench::run);
