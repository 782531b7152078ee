#include "models/fill.h"

#include <cmath>
#include <vector>

namespace xgd::models {

namespace {
uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}
uint64_t splitmix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
std::string join(const std::string& prefix, const char* name) {
  return prefix.empty() ? std::string(name) : prefix + "." + name;
}
}  // namespace

void fill_uniform_by_name(Tensor& t, const std::string& name, double lo, double hi) {
  XGD_CHECK(t.defined() && is_floating(t.dtype()) && t.device() == Device::CPU,
            "fill_uniform_by_name: '", name, "' must be a float CPU tensor, got ",
            t.defined() ? t.str() : "undefined");
  const uint64_t key = fnv1a64(name);
  const int64_t n = t.numel();
  std::vector<float> v(static_cast<size_t>(n));  // (numel,) row-major
  const double span = hi - lo;
  for (int64_t i = 0; i < n; ++i) {
    uint64_t word = splitmix64(key + static_cast<uint64_t>(i + 1) * 0x9E3779B97F4A7C15ull);
    double u = static_cast<double>(word >> 40) * 0x1p-24;
    double prod = span * u;  // separate statements; -ffp-contract=off keeps them unfused
    v[static_cast<size_t>(i)] = static_cast<float>(lo + prod);
  }
  dispatch_float(t.dtype(), "fill_uniform_by_name", [&]<class T>() {
    T* out = t.data<T>();
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(v[static_cast<size_t>(i)]);
  });
}

void fill_deterministic(nn::Module& root) {
  for (auto& [name, m] : root.named_modules()) {
    if (auto* conv = dynamic_cast<nn::Conv2d*>(m)) {
      double fan = static_cast<double>(fan_in(conv->weight));
      double bound = std::sqrt(6.0 / fan);
      fill_uniform_by_name(conv->weight, join(name, "weight"), -bound, bound);
      if (conv->bias.defined()) {
        double b = 1.0 / std::sqrt(fan);
        fill_uniform_by_name(conv->bias, join(name, "bias"), -b, b);
      }
    } else if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(m)) {
      fill_uniform_by_name(bn->weight, join(name, "weight"), 0.5, 1.0);
      fill_uniform_by_name(bn->bias, join(name, "bias"), -0.1, 0.1);
      fill_uniform_by_name(bn->running_mean, join(name, "running_mean"), -0.1, 0.1);
      fill_uniform_by_name(bn->running_var, join(name, "running_var"), 0.5, 1.5);
    } else {
      XGD_CHECK(m->local_parameters().empty(), "fill_deterministic: no rule for module '", name,
                "' (", m->type_name(), ") which owns parameters");
    }
  }
}

}  // namespace xgd::models
