// Fills from the Philox stream. The per-element maths is kernels/common/philox.h's
// (fill_uniform, fill_normal) on both devices: a CPU tensor is filled here, a CUDA tensor by
// the kernels of kernels/cuda/random.* (the registered RandomTable) directly in device memory,
// with the same numbers for the same generator state.
#include "engine/rng.h"

#include <cmath>

#include "engine/ops/op_util.h"
#include "kernels/common/philox.h"
#include "kernels/cuda/random.h"

namespace xgd {

namespace {
void check_fillable(const Tensor& t, const char* op) {
  check_defined(t, op, "tensor");
  XGD_CHECK(is_floating(t.dtype()), op, ": tensor ", t.str(), " is not floating point");
}
template <class T>
const kernels::cuda::RandomFns<T>& cuda_fns(const char* op) {
  return ops::cuda_kernels<kernels::cuda::RandomTable>(op).template of<T>();
}
}  // namespace

void uniform_(Tensor& t, double low, double high, Generator& gen) {
  const char* op = "uniform_";
  check_fillable(t, op);
  const int64_t n = t.numel();
  const uint64_t first = gen.advance(static_cast<uint64_t>(n));
  dispatch_float(t.dtype(), op, [&]<class T>() {
    T* out = t.data<T>();
    if (t.device() == Device::CUDA)
      return cuda_fns<T>(op).uniform(out, n, gen.seed(), first, low, high, ops::cuda_stream());
    for (int64_t i = 0; i < n; ++i)
      out[i] = static_cast<T>(
          kernels::fill_uniform(kernels::philox_word(gen.seed(), first, i), low, high));
  });
}

void normal_(Tensor& t, double mean, double stddev, Generator& gen) {
  const char* op = "normal_";
  check_fillable(t, op);
  const int64_t n = t.numel();
  const uint64_t first = gen.advance(2 * static_cast<uint64_t>(n));
  dispatch_float(t.dtype(), op, [&]<class T>() {
    T* out = t.data<T>();
    if (t.device() == Device::CUDA)
      return cuda_fns<T>(op).normal(out, n, gen.seed(), first, mean, stddev, ops::cuda_stream());
    for (int64_t i = 0; i < n; ++i)
      out[i] = static_cast<T>(
          kernels::fill_normal(kernels::philox_word(gen.seed(), first, 2 * i),
                               kernels::philox_word(gen.seed(), first, 2 * i + 1), mean, stddev));
  });
}

int64_t fan_in(const Tensor& w) {
  XGD_CHECK(w.dim() >= 2, "fan_in: weight ", w.str(), " needs at least 2 dims");
  return w.size(1) * (w.numel() / (w.size(0) * w.size(1)));
}
int64_t fan_out(const Tensor& w) {
  XGD_CHECK(w.dim() >= 2, "fan_out: weight ", w.str(), " needs at least 2 dims");
  return w.size(0) * (w.numel() / (w.size(0) * w.size(1)));
}

void kaiming_uniform_(Tensor& w, double a, bool use_fan_in, Generator& gen) {
  double fan = static_cast<double>(use_fan_in ? fan_in(w) : fan_out(w));
  double gain = std::sqrt(2.0 / (1.0 + a * a));
  double bound = gain * std::sqrt(3.0 / fan);
  uniform_(w, -bound, bound, gen);
}

void kaiming_normal_(Tensor& w, bool use_fan_in, Generator& gen) {
  double fan = static_cast<double>(use_fan_in ? fan_in(w) : fan_out(w));
  normal_(w, 0.0, std::sqrt(2.0 / fan), gen);
}

}  // namespace xgd
