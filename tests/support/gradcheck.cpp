#include "tests/support/gradcheck.h"

#include <cmath>
#include <sstream>

#include "engine/autograd.h"
#include "engine/rng.h"

namespace xgd::test {

Tensor random_f64(const Shape& shape, uint64_t seed, double low, double high,
                  bool requires_grad) {
  Tensor t = Tensor::empty(shape, DType::F64);
  Generator gen(seed);
  uniform_(t, low, high, gen);
  if (requires_grad) t.requires_grad_();
  return t;
}

namespace {
double dot(const Tensor& y, const std::vector<double>& w) {
  std::vector<double> v = y.to_vector();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * w[i];
  return s;
}
}  // namespace

::testing::AssertionResult gradcheck(const Fn& f, const std::vector<Tensor>& inputs, double eps,
                                     double atol, double rtol) {
  std::vector<Tensor> wrt;
  for (const Tensor& x : inputs) {
    if (!x.defined() || !x.requires_grad()) continue;
    if (x.dtype() != DType::F64 || !x.is_leaf())
      return ::testing::AssertionFailure() << "gradcheck: inputs must be float64 leaves, got "
                                           << x.str();
    wrt.push_back(x);
  }
  if (wrt.empty()) return ::testing::AssertionFailure() << "gradcheck: no input requires grad";

  Tensor y = f(inputs);
  if (!y.requires_grad()) return ::testing::AssertionFailure() << "gradcheck: output has no graph";
  Tensor w = random_f64(y.shape(), 12345, -1.0, 1.0, false);
  std::vector<double> wv = w.to_vector();
  std::vector<Tensor> analytic = autograd::grad({y}, wrt, {w}, false, true);

  std::ostringstream errors;
  int bad = 0;
  for (size_t k = 0; k < wrt.size(); ++k) {
    Tensor x = wrt[k];
    double* px = x.data<double>();
    std::vector<double> a = analytic[k].defined() ? analytic[k].to_vector()
                                                  : std::vector<double>(x.numel(), 0.0);
    for (int64_t i = 0; i < x.numel(); ++i) {
      double saved = px[i];
      double plus, minus;
      {
        autograd::NoGradGuard no_grad;
        px[i] = saved + eps;
        plus = dot(f(inputs), wv);
        px[i] = saved - eps;
        minus = dot(f(inputs), wv);
        px[i] = saved;
      }
      double numeric = (plus - minus) / (2 * eps);
      if (!(std::abs(a[i] - numeric) <= atol + rtol * std::abs(numeric))) {
        if (bad < 5)
          errors << "\n  input " << k << " " << x.str() << " [" << i << "]: analytic " << a[i]
                 << ", numeric " << numeric;
        ++bad;
      }
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " gradient elements differ beyond atol " << atol
                                       << " + rtol " << rtol << errors.str();
}

}  // namespace xgd::test
