// Dropout / dropout2d: forward and backward together. Kernels: kernels/cpu/dropout.* on the
// CPU, kernels/cuda/dropout.* on Device::CUDA (the registered DropoutTable; the same Philox
// stream, so both devices drop the same elements), mask maths: kernels/common/dropout.h.   dx = dy
// · mask / (1 − p), the forward's mask reused.
#include "engine/ops/dropout.h"

#include <cmath>

#include "engine/ops/op_util.h"
#include "kernels/common/dropout.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cuda/dropout.h"

namespace xgd {

using autograd::record;
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

namespace {

const kernels::cuda::DropoutTable& cuda_table(const char* op) {
  return ops::cuda_kernels<kernels::cuda::DropoutTable>(op);
}

// out = mask-applied in (one mask byte per `group` elements), on the device of `in`.
template <class T>
void apply_mask(const Tensor& in, const Tensor& mask, int64_t n_draws, int64_t group, double scale,
                Tensor& out, const char* op) {
  if (in.device() == Device::CPU)
    return kernels::cpu::dropout_apply<T>(in.data<T>(), mask.data<uint8_t>(), n_draws, group,
                                          T(scale), out.data<T>());
  cuda_table(op).of<T>().apply(in.data<T>(), mask.data<uint8_t>(), n_draws, group, T(scale),
                               out.data<T>(), ops::cuda_stream());
}

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
  const uint32_t threshold = kernels::dropout_threshold(p);
  const double scale = 1.0 / (1.0 - p);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.device() == Device::CPU) {
    kernels::cpu::dropout_mask(gen.seed(), first, n_draws, threshold, mask.data<uint8_t>());
    dispatch_float(x.dtype(), op,
                   [&]<class T>() { apply_mask<T>(x, mask, n_draws, group, scale, out, op); });
  } else if (group == 1) {  // mask and values in one pass
    dispatch_float(x.dtype(), op, [&]<class T>() {
      cuda_table(op).of<T>().forward(x.data<T>(), gen.seed(), first, n_draws, threshold, T(scale),
                                     mask.data<uint8_t>(), out.data<T>(), ops::cuda_stream());
    });
  } else {
    cuda_table(op).mask(gen.seed(), first, n_draws, threshold, mask.data<uint8_t>(),
                        ops::cuda_stream());
    dispatch_float(x.dtype(), op,
                   [&]<class T>() { apply_mask<T>(x, mask, n_draws, group, scale, out, op); });
  }
  return record(out, op, {x}, [mask, n_draws, group, scale, op](const Tensor& g, const Need&) {
    XGD_CHECK(g.device() == mask.device(), op, ": gradient ", g.str(),
              " is not on the input's device");
    Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.device());
    dispatch_float(g.dtype(), op,
                   [&]<class T>() { apply_mask<T>(g, mask, n_draws, group, scale, dx, op); });
    return Grads{dx};
  });
}

void check_input(const Tensor& x, double p, const char* op) {
  ops::check_float_input(x, op, "input");
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
