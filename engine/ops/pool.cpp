// Pooling ops: forward and backward together. Kernels: kernels/cpu/pool.* on the CPU,
// kernels/cuda/pool.* on Device::CUDA (through the table the CUDA backend registers), window
// maths: kernels/common/pool.h. Backward kernels overwrite dx.
#include "engine/ops/pool.h"

#include "engine/ops/op_util.h"
#include "kernels/common/pool.h"
#include "kernels/cpu/pool.h"
#include "kernels/cuda/pool.h"

namespace xgd {

using autograd::record;
using kernels::cpu::Pool2dGeometry;
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

namespace {

// The CUDA launchers for element type T (error naming the op when no backend registered them).
template <class T>
const kernels::cuda::PoolFns<T>& cuda_fns(const char* op) {
  return ops::cuda_kernels<kernels::cuda::PoolTable>(op).template of<T>();
}
bool on_cpu(const Tensor& t) {
  return t.device() == Device::CPU;
}

// Rank 4 with non-empty C, H, W (N may be 0, as PyTorch's "optional 0 dim batch size").
void check_pool_input(const Tensor& x, const char* op) {
  ops::check_float_input(x, op, "input");
  XGD_CHECK(x.dim() == 4, op, ": expected a 4-d (N, C, H, W) input, got ", x.str());
  XGD_CHECK(x.size(1) > 0 && x.size(2) > 0 && x.size(3) > 0, op,
            ": expected non-empty C, H and W, got ", x.str());
}

// PyTorch's pool2d_shape_check: positive kernel and stride, 0 <= pad <= kernel/2, and an
// output of at least 1×1 ("Output size is too small").
Pool2dGeometry pool_geometry(const Tensor& x, const Pool2dParams& p, const char* op) {
  check_pool_input(x, op);
  Pool2dGeometry g;
  g.planes = x.size(0) * x.size(1);
  g.in_h = x.size(2);
  g.in_w = x.size(3);
  g.k_h = p.kernel[0];
  g.k_w = p.kernel[1];
  g.s_h = p.stride[0] == 0 ? p.kernel[0] : p.stride[0];
  g.s_w = p.stride[1] == 0 ? p.kernel[1] : p.stride[1];
  g.p_h = p.padding[0];
  g.p_w = p.padding[1];
  XGD_CHECK(g.k_h > 0 && g.k_w > 0, op, ": kernel size must be positive, got [", g.k_h, ", ", g.k_w,
            "]");
  XGD_CHECK(p.stride[0] >= 0 && p.stride[1] >= 0, op, ": stride must be positive, got [",
            p.stride[0], ", ", p.stride[1], "]");
  XGD_CHECK(g.p_h >= 0 && g.p_w >= 0 && g.p_h <= g.k_h / 2 && g.p_w <= g.k_w / 2, op,
            ": pad should be at most half of kernel size (and non-negative), got pad [", g.p_h,
            ", ", g.p_w, "] for kernel [", g.k_h, ", ", g.k_w, "]");
  g.out_h = kernels::pool_out_size(g.in_h, g.k_h, g.s_h, g.p_h, p.ceil_mode);
  g.out_w = kernels::pool_out_size(g.in_w, g.k_w, g.s_w, g.p_w, p.ceil_mode);
  XGD_CHECK(g.out_h >= 1 && g.out_w >= 1, op, ": input ", x.str(), " with kernel [", g.k_h, ", ",
            g.k_w, "], stride [", g.s_h, ", ", g.s_w, "], padding [", g.p_h, ", ", g.p_w,
            "] gives output size [", g.out_h, ", ", g.out_w, "]: output size is too small");
  return g;
}

Shape out_shape(const Tensor& x, const Pool2dGeometry& g) {
  return {x.size(0), x.size(1), g.out_h, g.out_w};
}

void check_grad(const Tensor& dy, const Pool2dGeometry& g, const Shape& in, const char* op) {
  XGD_CHECK(dy.dim() == 4 && dy.size(0) * dy.size(1) == g.planes && dy.size(2) == g.out_h &&
                dy.size(3) == g.out_w,
            op, ": gradient ", dy.str(), " does not match the output of input ", shape_str(in));
}

}  // namespace

Tensor max_pool2d(const Tensor& x, const Pool2dParams& params) {
  const Pool2dGeometry g = pool_geometry(x, params, "max_pool2d");
  Tensor out = Tensor::empty(out_shape(x, g), x.dtype(), x.device());
  const bool grad = autograd::needs_grad({&x});
  Tensor idx = grad ? Tensor::empty(out.shape(), DType::I64, x.device()) : Tensor();
  dispatch_float(x.dtype(), "max_pool2d", [&]<class T>() {
    int64_t* ip = grad ? idx.data<int64_t>() : nullptr;
    if (on_cpu(x)) return kernels::cpu::max_pool2d_forward<T>(x.data<T>(), out.data<T>(), ip, g);
    cuda_fns<T>("max_pool2d")
        .max_pool2d_forward(x.data<T>(), out.data<T>(), ip, g, ops::cuda_stream());
  });
  Shape in = x.shape();
  return record(out, "max_pool2d", {x}, [g, in, idx](const Tensor& dy, const Need&) {
    check_grad(dy, g, in, "max_pool2d_backward");
    Tensor dx = Tensor::empty(in, dy.dtype(), dy.device());
    dispatch_float(dy.dtype(), "max_pool2d_backward", [&]<class T>() {
      if (on_cpu(dy))
        return kernels::cpu::max_pool2d_backward<T>(dy.data<T>(), idx.data<int64_t>(), dx.data<T>(),
                                                    g);
      cuda_fns<T>("max_pool2d_backward")
          .max_pool2d_backward(dy.data<T>(), idx.data<int64_t>(), dx.data<T>(), g,
                               ops::cuda_stream());
    });
    return Grads{dx};
  });
}

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params) {
  const Pool2dGeometry g = pool_geometry(x, params, "avg_pool2d");
  const bool include_pad = params.count_include_pad;
  Tensor out = Tensor::empty(out_shape(x, g), x.dtype(), x.device());
  dispatch_float(x.dtype(), "avg_pool2d", [&]<class T>() {
    if (on_cpu(x))
      return kernels::cpu::avg_pool2d_forward<T>(x.data<T>(), out.data<T>(), g, include_pad);
    cuda_fns<T>("avg_pool2d")
        .avg_pool2d_forward(x.data<T>(), out.data<T>(), g, include_pad, ops::cuda_stream());
  });
  Shape in = x.shape();
  return record(out, "avg_pool2d", {x}, [g, in, include_pad](const Tensor& dy, const Need&) {
    check_grad(dy, g, in, "avg_pool2d_backward");
    Tensor dx = Tensor::empty(in, dy.dtype(), dy.device());
    dispatch_float(dy.dtype(), "avg_pool2d_backward", [&]<class T>() {
      if (on_cpu(dy))
        return kernels::cpu::avg_pool2d_backward<T>(dy.data<T>(), dx.data<T>(), g, include_pad);
      cuda_fns<T>("avg_pool2d_backward")
          .avg_pool2d_backward(dy.data<T>(), dx.data<T>(), g, include_pad, ops::cuda_stream());
    });
    return Grads{dx};
  });
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  check_pool_input(x, "adaptive_avg_pool2d");
  XGD_CHECK(out_h > 0 && out_w > 0, "adaptive_avg_pool2d: output size must be positive, got [",
            out_h, ", ", out_w, "] for input ", x.str());
  Pool2dGeometry g;
  g.planes = x.size(0) * x.size(1);
  g.in_h = x.size(2);
  g.in_w = x.size(3);
  g.out_h = out_h;
  g.out_w = out_w;
  Tensor out = Tensor::empty(out_shape(x, g), x.dtype(), x.device());
  dispatch_float(x.dtype(), "adaptive_avg_pool2d", [&]<class T>() {
    if (on_cpu(x))
      return kernels::cpu::adaptive_avg_pool2d_forward<T>(x.data<T>(), out.data<T>(), g);
    cuda_fns<T>("adaptive_avg_pool2d")
        .adaptive_avg_pool2d_forward(x.data<T>(), out.data<T>(), g, ops::cuda_stream());
  });
  Shape in = x.shape();
  return record(out, "adaptive_avg_pool2d", {x}, [g, in](const Tensor& dy, const Need&) {
    check_grad(dy, g, in, "adaptive_avg_pool2d_backward");
    Tensor dx = Tensor::empty(in, dy.dtype(), dy.device());
    dispatch_float(dy.dtype(), "adaptive_avg_pool2d_backward", [&]<class T>() {
      if (on_cpu(dy))
        return kernels::cpu::adaptive_avg_pool2d_backward<T>(dy.data<T>(), dx.data<T>(), g);
      cuda_fns<T>("adaptive_avg_pool2d_backward")
          .adaptive_avg_pool2d_backward(dy.data<T>(), dx.data<T>(), g, ops::cuda_stream());
    });
    return Grads{dx};
  });
}

}  // namespace xgd
