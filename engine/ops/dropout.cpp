// Dropout / dropout2d: forward and backward together. Kernels: kernels/cpu/dropout.*, mask
// maths: kernels/common/dropout.h.   dx = dy · mask / (1 − p), the forward's mask reused.
#include "engine/ops/dropout.h"

#include <cmath>

#include "engine/ops/op_util.h"
#include "kernels/common/dropout.h"
#include "kernels/cpu/dropout.h"

namespace xgd {

using autograd::record;
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

namespace {

// n_draws mask bytes, each covering `group` consecutive elements of x.
Tensor dropout_impl(const Tensor& x, double p, bool training, Generator& gen, int64_t n_draws,
                    int64_t group, const char* op) {
  if (!training || p == 0.0) return x;  // PyTorch returns the input itself
  if (p == 1.0) {
    // Everything dropped (PyTorch: zeros, zero gradient); nothing random, so no draws.
    Tensor out = Tensor::zeros(x.shape(), x.dtype(), x.device());
    Shape shape = x.shape();
    return record(out, op, {x}, [shape](const Tensor& g, const Need&) {
      return Grads{Tensor::zeros(shape, g.dtype(), g.device())};
    });
  }
  Tensor mask = Tensor::empty({n_draws}, DType::U8, x.device());
  const uint64_t first = gen.advance(static_cast<uint64_t>(n_draws));
  kernels::cpu::dropout_mask(gen.seed(), first, n_draws, kernels::dropout_threshold(p),
                             mask.data<uint8_t>());
  const double scale = 1.0 / (1.0 - p);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&]<class T>() {
    kernels::cpu::dropout_apply<T>(x.data<T>(), mask.data<uint8_t>(), n_draws, group, T(scale),
                                   out.data<T>());
  });
  return record(out, op, {x}, [mask, n_draws, group, scale, op](const Tensor& g, const Need&) {
    Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.device());
    dispatch_float(g.dtype(), op, [&]<class T>() {
      kernels::cpu::dropout_apply<T>(g.data<T>(), mask.data<uint8_t>(), n_draws, group, T(scale),
                                     dx.data<T>());
    });
    return Grads{dx};
  });
}

void check_input(const Tensor& x, double p, const char* op) {
  ops::check_float_input(x, op, "input");
  ops::require_cpu(x, op);
  XGD_CHECK(p >= 0.0 && p <= 1.0, op, ": p must be in [0, 1], got ", p);  // NaN fails too
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  check_input(x, p, "dropout");
  return dropout_impl(x, p, training, gen, x.numel(), 1, "dropout");
}

Tensor dropout2d(const Tensor& x, double p, bool training, Generator& gen) {
  check_input(x, p, "dropout2d");
  XGD_CHECK(x.dim() == 4, "dropout2d: input must be N×C×H×W, got ", x.str());
  const Shape& s = x.shape();
  return dropout_impl(x, p, training, gen, s[0] * s[1], s[2] * s[3], "dropout2d");
}

}  // namespace xgd
