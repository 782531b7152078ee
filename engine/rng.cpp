#include "engine/rng.h"

#include <cmath>
#include <vector>

#include "kernels/common/philox.h"

namespace xgd {

namespace {
// Fills through a float64 host buffer; initialisation is not on any hot path.
template <class Fill>
void fill_host(Tensor& t, const char* op, Fill&& fill) {
  check_defined(t, op, "tensor");
  XGD_CHECK(is_floating(t.dtype()), op, ": tensor ", t.str(), " is not floating point");
  std::vector<double> v(t.numel());
  fill(v);
  t.copy_(Tensor::from_vector(v, t.shape(), t.dtype()).to(t.device()));
}
}  // namespace

void uniform_(Tensor& t, double low, double high, Generator& gen) {
  fill_host(t, "uniform_", [&](std::vector<double>& v) {
    uint64_t first = gen.advance(v.size());
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = low + (high - low) * kernels::uniform_from_bits(
                                      kernels::philox_word(gen.seed(), first, i));
  });
}

void normal_(Tensor& t, double mean, double stddev, Generator& gen) {
  fill_host(t, "normal_", [&](std::vector<double>& v) {
    uint64_t first = gen.advance(2 * v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      double u1 = kernels::uniform_open_from_bits(kernels::philox_word(gen.seed(), first, 2 * i));
      double u2 = kernels::uniform_from_bits(kernels::philox_word(gen.seed(), first, 2 * i + 1));
      v[i] = mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    }
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
