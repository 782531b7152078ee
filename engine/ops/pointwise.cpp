// Pointwise ops: forward and backward together. Kernels: kernels/cpu/pointwise.* on the CPU,
// kernels/cuda/pointwise.* on Device::CUDA (through the table the CUDA backend registers, see
// ops::cuda_kernels), per-element maths: kernels/common/pointwise.h.
#include "engine/ops/pointwise.h"

#include <cmath>

#include "engine/ops/op_util.h"
#include "kernels/common/pointwise.h"
#include "kernels/cpu/pointwise.h"
#include "kernels/cuda/pointwise.h"

namespace xgd {

using autograd::record;
using kernels::cpu::BinaryOp;
using kernels::cpu::UnaryOp;
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

Shape broadcast_shape(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    XGD_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
              " cannot be broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

// The CUDA launchers for element type T (error naming the op when no backend registered them).
template <class T>
const kernels::cuda::PointwiseFns<T>& cuda_fns(const char* op) {
  return ops::cuda_kernels<kernels::cuda::PointwiseTable>(op).template of<T>();
}
bool on_cpu(const Tensor& t) {
  return t.device() == Device::CPU;
}

kernels::cpu::Broadcast make_broadcast(const Shape& out, const Shape& a, const Shape& b,
                                       const char* op) {
  kernels::cpu::Broadcast bc;
  XGD_CHECK(out.size() <= static_cast<size_t>(kernels::cpu::kMaxDims), op, ": more than ",
            kernels::cpu::kMaxDims, " dims");
  bc.ndim = static_cast<int>(out.size());
  int64_t sa = 1, sb = 1;
  for (int d = bc.ndim - 1; d >= 0; --d) {
    size_t ia = d - (out.size() - a.size()), ib = d - (out.size() - b.size());
    int64_t da = d < static_cast<int>(out.size() - a.size()) ? 1 : a[ia];
    int64_t db = d < static_cast<int>(out.size() - b.size()) ? 1 : b[ib];
    bc.shape[d] = out[d];
    bc.a_stride[d] = da == 1 ? 0 : sa;
    bc.b_stride[d] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
  }
  return bc;
}

Tensor binary_forward(BinaryOp kind, const Tensor& a, const Tensor& b, const char* op) {
  ops::check_float_input(a, op, "a");
  ops::check_float_input(b, op, "b");
  check_same_device_dtype(a, b, op);
  Shape shape = broadcast_shape(a.shape(), b.shape(), op);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  auto bc = make_broadcast(shape, a.shape(), b.shape(), op);
  dispatch_float(a.dtype(), op, [&]<class T>() {
    if (on_cpu(a))
      return kernels::cpu::binary<T>(kind, a.data<T>(), b.data<T>(), out.data<T>(), bc);
    cuda_fns<T>(op).binary(kind, a.data<T>(), b.data<T>(), out.data<T>(), bc, ops::cuda_stream());
  });
  return out;
}

Tensor unary_forward(UnaryOp kind, const Tensor& a, const char* op) {
  ops::check_float_input(a, op, "input");
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_float(a.dtype(), op, [&]<class T>() {
    if (on_cpu(a)) return kernels::cpu::unary<T>(kind, a.data<T>(), out.data<T>(), a.numel());
    cuda_fns<T>(op).unary(kind, a.data<T>(), out.data<T>(), a.numel(), ops::cuda_stream());
  });
  return out;
}

}  // namespace

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  ops::check_float_input(g, "sum_to", "input");
  XGD_CHECK(broadcast_shape(shape, g.shape(), "sum_to") == g.shape(), "sum_to: ",
            shape_str(shape), " does not broadcast to ", g.str());
  Shape padded(g.dim() - shape.size(), 1);
  padded.insert(padded.end(), shape.begin(), shape.end());
  Tensor out = Tensor::empty(shape, g.dtype(), g.device());
  XGD_CHECK(g.dim() <= kernels::cpu::kMaxDims, "sum_to: more than ", kernels::cpu::kMaxDims,
            " dims in ", g.str());
  dispatch_float(g.dtype(), "sum_to", [&]<class T>() {
    const int nd = static_cast<int>(g.dim());
    if (on_cpu(g))
      return kernels::cpu::sum_to<T>(g.data<T>(), g.shape().data(), nd, padded.data(),
                                     out.data<T>());
    cuda_fns<T>("sum_to").sum_to(g.data<T>(), g.shape().data(), nd, padded.data(), out.data<T>(),
                                 ops::cuda_stream());
  });
  Shape full = g.shape();
  return record(out, "sum_to", {g}, [full](const Tensor& dy, const Need&) {
    return Grads{add(Tensor::zeros(full, dy.dtype(), dy.device()), dy)};  // broadcast back
  });
}

// ---------------------------------------------------------------- binary
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Add, a, b, "add");
  Shape sa = a.shape(), sb = b.shape();
  return record(out, "add", {a, b}, [sa, sb](const Tensor& g, const Need& need) {
    return Grads{need[0] ? sum_to(g, sa) : Tensor(), need[1] ? sum_to(g, sb) : Tensor()};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Sub, a, b, "sub");
  Shape sa = a.shape(), sb = b.shape();
  return record(out, "sub", {a, b}, [sa, sb](const Tensor& g, const Need& need) {
    return Grads{need[0] ? sum_to(g, sa) : Tensor(), need[1] ? sum_to(neg(g), sb) : Tensor()};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Mul, a, b, "mul");
  Tensor sa = a.detach(), sb = b.detach();
  return record(out, "mul", {a, b}, [sa, sb](const Tensor& g, const Need& need) {
    return Grads{need[0] ? sum_to(mul(g, sb), sa.shape()) : Tensor(),
                 need[1] ? sum_to(mul(g, sa), sb.shape()) : Tensor()};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Div, a, b, "div");
  Tensor sa = a.detach(), sb = b.detach();
  return record(out, "div", {a, b}, [sa, sb](const Tensor& g, const Need& need) {
    // d(a/b)/db = -a / b^2
    return Grads{need[0] ? sum_to(div(g, sb), sa.shape()) : Tensor(),
                 need[1] ? sum_to(neg(div(mul(g, sa), mul(sb, sb))), sb.shape()) : Tensor()};
  });
}

// ---------------------------------------------------------------- scalar
namespace {
Tensor affine(const Tensor& a, double scale, double shift, const char* op) {
  ops::check_float_input(a, op, "input");
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_float(a.dtype(), op, [&]<class T>() {
    if (on_cpu(a))
      return kernels::cpu::scalar_affine<T>(a.data<T>(), out.data<T>(), a.numel(), T(scale),
                                            T(shift));
    cuda_fns<T>(op).scalar_affine(a.data<T>(), out.data<T>(), a.numel(), T(scale), T(shift),
                                  ops::cuda_stream());
  });
  return record(out, op, {a}, [scale](const Tensor& g, const Need&) {
    return Grads{scale == 1.0 ? g : mul(g, scale)};
  });
}
}  // namespace

Tensor add(const Tensor& a, double s) { return affine(a, 1.0, s, "add_scalar"); }
Tensor mul(const Tensor& a, double s) { return affine(a, s, 0.0, "mul_scalar"); }
Tensor rsub(double s, const Tensor& a) { return affine(a, -1.0, s, "rsub_scalar"); }
Tensor neg(const Tensor& a) { return affine(a, -1.0, 0.0, "neg"); }

Tensor rdiv(double s, const Tensor& a) {
  ops::check_float_input(a, "rdiv_scalar", "input");
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_float(a.dtype(), "rdiv_scalar", [&]<class T>() {
    if (on_cpu(a)) return kernels::cpu::scalar_rdiv<T>(T(s), a.data<T>(), out.data<T>(), a.numel());
    cuda_fns<T>("rdiv_scalar")
        .scalar_rdiv(T(s), a.data<T>(), out.data<T>(), a.numel(), ops::cuda_stream());
  });
  Tensor sa = a.detach();
  return record(out, "rdiv_scalar", {a}, [s, sa](const Tensor& g, const Need&) {
    return Grads{mul(div(g, mul(sa, sa)), -s)};  // d(s/a)/da = -s / a^2
  });
}

// ---------------------------------------------------------------- unary
Tensor exp(const Tensor& a) {
  Tensor out = unary_forward(UnaryOp::Exp, a, "exp");
  Tensor y = out.detach();
  return record(out, "exp", {a}, [y](const Tensor& g, const Need&) { return Grads{mul(g, y)}; });
}

Tensor log(const Tensor& a) {
  Tensor out = unary_forward(UnaryOp::Log, a, "log");
  Tensor x = a.detach();
  return record(out, "log", {a}, [x](const Tensor& g, const Need&) { return Grads{div(g, x)}; });
}

Tensor sqrt(const Tensor& a) {
  Tensor out = unary_forward(UnaryOp::Sqrt, a, "sqrt");
  Tensor y = out.detach();
  return record(out, "sqrt", {a}, [y](const Tensor& g, const Need&) {
    return Grads{div(g, mul(y, 2.0))};  // d sqrt(x) = 1 / (2 sqrt(x))
  });
}

Tensor abs(const Tensor& a) {
  Tensor out = unary_forward(UnaryOp::Abs, a, "abs");
  Tensor x = a.detach();
  return record(out, "abs", {a}, [x](const Tensor& g, const Need&) {
    // sign(x) = x / |x| would be NaN at 0; PyTorch uses sgn(x) with sgn(0) = 0.
    if (!on_cpu(x)) {
      Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.device());
      check_same_device_dtype(x, g, "abs_backward");
      dispatch_float(g.dtype(), "abs_backward", [&]<class T>() {
        cuda_fns<T>("abs_backward")
            .abs_backward(x.data<T>(), g.data<T>(), dx.data<T>(), g.numel(), ops::cuda_stream());
      });
      return Grads{dx};  // g · sign(x), as below
    }
    Tensor s = Tensor::empty(x.shape(), x.dtype());
    dispatch_float(x.dtype(), "abs_backward", [&]<class T>() {
      const T* px = x.data<T>();
      T* ps = s.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i) ps[i] = kernels::sign(px[i]);
    });
    return Grads{mul(g, s)};
  });
}

namespace {
// Shared shape of relu/relu6/clamp/pow backward: dx = kernel(saved, dy), with the CPU kernel
// or, on Device::CUDA, cuda(table, saved, dy, dx, n, stream).
template <class CpuKernel, class CudaKernel>
Tensor saved_backward(const Tensor& saved, const Tensor& g, const char* op, CpuKernel kernel,
                      CudaKernel cuda) {
  check_same_device_dtype(saved, g, op);
  Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.device());
  dispatch_float(g.dtype(), op, [&]<class T>() {
    if (on_cpu(g)) return kernel(saved.data<T>(), g.data<T>(), dx.data<T>(), g.numel());
    cuda(cuda_fns<T>(op), saved.data<T>(), g.data<T>(), dx.data<T>(), g.numel(),
         ops::cuda_stream());
  });
  return dx;
}
}  // namespace

Tensor relu(const Tensor& a) {
  Tensor out = unary_forward(UnaryOp::Relu, a, "relu");
  Tensor y = out.detach();
  return record(out, "relu", {a}, [y](const Tensor& g, const Need&) {
    return Grads{saved_backward(
        y, g, "relu_backward",
        [](auto* s, auto* dy, auto* dx, int64_t n) { kernels::cpu::relu_backward(s, dy, dx, n); },
        [](auto& k, auto* s, auto* dy, auto* dx, int64_t n, cudaStream_t st) {
          k.relu_backward(s, dy, dx, n, st);
        })};
  });
}

Tensor relu6(const Tensor& a) {
  Tensor out = unary_forward(UnaryOp::Relu6, a, "relu6");
  Tensor x = a.detach();
  return record(out, "relu6", {a}, [x](const Tensor& g, const Need&) {
    return Grads{saved_backward(
        x, g, "relu6_backward",
        [](auto* s, auto* dy, auto* dx, int64_t n) { kernels::cpu::relu6_backward(s, dy, dx, n); },
        [](auto& k, auto* s, auto* dy, auto* dx, int64_t n, cudaStream_t st) {
          k.relu6_backward(s, dy, dx, n, st);
        })};
  });
}

Tensor clamp(const Tensor& a, double lo, double hi) {
  ops::check_float_input(a, "clamp", "input");
  XGD_CHECK(!(lo > hi), "clamp: min ", lo, " is greater than max ", hi);
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_float(a.dtype(), "clamp", [&]<class T>() {
    if (on_cpu(a))
      return kernels::cpu::clamp<T>(a.data<T>(), T(lo), T(hi), out.data<T>(), a.numel());
    cuda_fns<T>("clamp").clamp(a.data<T>(), T(lo), T(hi), out.data<T>(), a.numel(),
                               ops::cuda_stream());
  });
  Tensor x = a.detach();
  return record(out, "clamp", {a}, [x, lo, hi](const Tensor& g, const Need&) {
    return Grads{saved_backward(
        x, g, "clamp_backward",
        [=](auto* s, auto* dy, auto* dx, int64_t n) {
          using T = std::remove_cvref_t<decltype(*s)>;
          kernels::cpu::clamp_backward(s, T(lo), T(hi), dy, dx, n);
        },
        [=](auto& k, auto* s, auto* dy, auto* dx, int64_t n, cudaStream_t st) {
          using T = std::remove_cvref_t<decltype(*s)>;
          k.clamp_backward(s, T(lo), T(hi), dy, dx, n, st);
        })};
  });
}

Tensor pow(const Tensor& a, double e) {
  ops::check_float_input(a, "pow", "input");
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_float(a.dtype(), "pow", [&]<class T>() {
    if (on_cpu(a)) return kernels::cpu::pow_scalar<T>(a.data<T>(), T(e), out.data<T>(), a.numel());
    cuda_fns<T>("pow").pow_scalar(a.data<T>(), T(e), out.data<T>(), a.numel(), ops::cuda_stream());
  });
  Tensor x = a.detach();
  return record(out, "pow", {a}, [x, e](const Tensor& g, const Need&) {
    return Grads{saved_backward(
        x, g, "pow_backward",
        [=](auto* s, auto* dy, auto* dx, int64_t n) {
          using T = std::remove_cvref_t<decltype(*s)>;
          kernels::cpu::pow_backward(s, T(e), dy, dx, n);
        },
        [=](auto& k, auto* s, auto* dy, auto* dx, int64_t n, cudaStream_t st) {
          using T = std::remove_cvref_t<decltype(*s)>;
          k.pow_backward(s, T(e), dy, dx, n, st);
        })};
  });
}

}  // namespace xgd
