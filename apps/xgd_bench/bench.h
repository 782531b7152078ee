// xgd_bench: one line per case ending in `ratio <ours/peer>`, the peer measured in the same run
// (DESIGN.md §4). Each bench_<name>.cpp registers its subcommand with XGD_REGISTER_BENCH.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace xgd::bench {

using BenchFn = std::function<int(const std::vector<std::string>& args)>;
std::map<std::string, std::pair<std::string, BenchFn>>& registry();

struct Registrar {
  Registrar(const std::string& name, const std::string& help, BenchFn fn) {
    registry()[name] = {help, std::move(fn)};
  }
};

// Median wall time in seconds of `reps` runs of fn after `warmup` runs.
double time_median(const std::function<void()>& fn, int reps, int warmup = 1);

// `xgd_bench conv --device cuda`: our CUDA conv kernels against cuDNN (bench_conv_cuda.cpp; an
// error naming the missing pieces in a build without CUDA or cuDNN).
int run_conv_cuda(const std::vector<std::string>& args);

}  // namespace xgd::bench

#define XGD_REGISTER_BENCH(name, help, fn) \
  static ::xgd::bench::Registrar xgd_bench_registrar_##name(#name, help, fn)
