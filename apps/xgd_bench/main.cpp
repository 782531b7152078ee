#include <algorithm>
#include <chrono>
#include <cstdio>

#include "apps/xgd_bench/bench.h"
#include "engine/error.h"

namespace xgd::bench {

std::map<std::string, std::pair<std::string, BenchFn>>& registry() {
  static std::map<std::string, std::pair<std::string, BenchFn>> r;
  return r;
}

double time_median(const std::function<void()>& fn, int reps, int warmup) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto start = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace xgd::bench

int main(int argc, char** argv) {
  auto& reg = xgd::bench::registry();
  if (argc < 2 || !reg.count(argv[1])) {
    std::fprintf(stderr, "usage: xgd_bench <case> [options]\ncases:\n");
    for (auto& [name, entry] : reg)
      std::fprintf(stderr, "  %-8s %s\n", name.c_str(), entry.first.c_str());
    return 2;
  }
  try {
    return reg[argv[1]].second(std::vector<std::string>(argv + 2, argv + argc));
  } catch (const xgd::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
