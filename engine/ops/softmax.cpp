// softmax / log_softmax: forward and backward together. Kernels: kernels/cpu/softmax.* on the
// CPU, kernels/cuda/softmax.* on Device::CUDA (the registered SoftmaxTable), per-element
// backward maths: kernels/common/softmax.h.
//   softmax      dx = y · (dy − Σ_c dy·y)
//   log_softmax  dx = dy − exp(y) · Σ_c dy
#include "engine/ops/softmax.h"

#include "engine/ops/op_util.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cuda/softmax.h"

namespace xgd {

using autograd::record;
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

namespace {

template <class T>
const kernels::cuda::SoftmaxFns<T>& cuda_fns(const char* op) {
  return ops::cuda_kernels<kernels::cuda::SoftmaxTable>(op).template of<T>();
}

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log, const char* op) {
  ops::check_float_input(x, op, "input");
  // A 0-dim tensor is one class (PyTorch: softmax = 1, log_softmax = 0).
  const int64_t d = ops::wrap_dim(dim, x.dim() == 0 ? 1 : x.dim(), op);
  int64_t outer = 1, C = x.dim() == 0 ? 1 : x.shape()[d], inner = 1;
  for (int64_t k = 0; k < d; ++k) outer *= x.shape()[k];
  for (int64_t k = d + 1; k < x.dim(); ++k) inner *= x.shape()[k];
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());  // (outer, C, inner)
  dispatch_float(x.dtype(), op, [&]<class T>() {
    if (x.device() == Device::CPU)
      return kernels::cpu::softmax_forward<T>(x.data<T>(), y.data<T>(), outer, C, inner, log);
    cuda_fns<T>(op).forward(x.data<T>(), y.data<T>(), outer, C, inner, log, ops::cuda_stream());
  });
  Tensor ys = y.detach();
  return record(y, op, {x}, [ys, outer, C, inner, log, op](const Tensor& g, const Need&) {
    Tensor dx = Tensor::empty(ys.shape(), g.dtype(), g.device());
    dispatch_float(g.dtype(), op, [&]<class T>() {
      if (g.device() == Device::CPU)
        return kernels::cpu::softmax_backward<T>(ys.data<T>(), g.data<T>(), dx.data<T>(), outer, C,
                                                 inner, log);
      cuda_fns<T>(op).backward(ys.data<T>(), g.data<T>(), dx.data<T>(), outer, C, inner, log,
                               ops::cuda_stream());
    });
    return Grads{dx};
  });
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  return softmax_impl(x, dim, false, "softmax");
}
Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_impl(x, dim, true, "log_softmax");
}

}  // namespace xgd
