// Bilinear resizing: forward and backward together. Kernels: kernels/cpu/interpolate.* on the
// CPU, kernels/cuda/interpolate.* on Device::CUDA (through the registered InterpolateTable);
// index maths: kernels/common/interpolate.h. The backward kernels overwrite dx.
#include "engine/ops/interpolate.h"

#include <cmath>

#include "engine/ops/op_util.h"
#include "kernels/cpu/interpolate.h"
#include "kernels/cuda/interpolate.h"

namespace xgd {

using autograd::record;
using kernels::cpu::ResizeGeometry;
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

namespace {

template <class T>
const kernels::cuda::InterpolateFns<T>& cuda_fns(const char* op) {
  return ops::cuda_kernels<kernels::cuda::InterpolateTable>(op).template of<T>();
}

Tensor resize(const Tensor& x, ResizeGeometry g, const char* op) {
  Tensor out = Tensor::empty({x.size(0), x.size(1), g.out_h, g.out_w}, x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&]<class T>() {
    if (x.device() == Device::CPU)
      return kernels::cpu::bilinear_forward<T>(x.data<T>(), out.data<T>(), g);
    cuda_fns<T>(op).bilinear_forward(x.data<T>(), out.data<T>(), g, ops::cuda_stream());
  });
  Shape in = x.shape();
  return record(out, op, {x}, [g, in](const Tensor& dy, const Need&) {
    XGD_CHECK(dy.dim() == 4 && dy.size(0) * dy.size(1) == g.planes && dy.size(2) == g.out_h &&
                  dy.size(3) == g.out_w,
              "interpolate_bilinear_backward: gradient ", dy.str(),
              " does not match the output of input ", shape_str(in));
    Tensor dx = Tensor::empty(in, dy.dtype(), dy.device());
    dispatch_float(dy.dtype(), "interpolate_bilinear_backward", [&]<class T>() {
      if (dy.device() == Device::CPU)
        return kernels::cpu::bilinear_backward<T>(dy.data<T>(), dx.data<T>(), g);
      cuda_fns<T>("interpolate_bilinear_backward")
          .bilinear_backward(dy.data<T>(), dx.data<T>(), g, ops::cuda_stream());
    });
    return Grads{dx};
  });
}

ResizeGeometry input_geometry(const Tensor& x, bool align_corners, const char* op) {
  ops::check_float_input(x, op, "input");
  XGD_CHECK(x.dim() == 4, op, ": expected a 4-d (N, C, H, W) input, got ", x.str());
  XGD_CHECK(x.size(1) > 0 && x.size(2) > 0 && x.size(3) > 0, op,
            ": expected non-empty C, H and W, got ", x.str());
  ResizeGeometry g;
  g.planes = x.size(0) * x.size(1);
  g.in_h = x.size(2);
  g.in_w = x.size(3);
  g.align_corners = align_corners;
  return g;
}

}  // namespace

Tensor interpolate_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners) {
  ResizeGeometry g = input_geometry(x, align_corners, "interpolate_bilinear");
  XGD_CHECK(out_h > 0 && out_w > 0, "interpolate_bilinear: output size must be positive, got [",
            out_h, ", ", out_w, "] for input ", x.str());
  g.out_h = out_h;
  g.out_w = out_w;
  return resize(x, g, "interpolate_bilinear");
}

Tensor interpolate_bilinear_scale(const Tensor& x, double scale_h, double scale_w,
                                  bool align_corners) {
  ResizeGeometry g = input_geometry(x, align_corners, "interpolate_bilinear_scale");
  XGD_CHECK(scale_h > 0 && scale_w > 0 && std::isfinite(scale_h) && std::isfinite(scale_w),
            "interpolate_bilinear_scale: scale factors must be positive and finite, got [", scale_h,
            ", ", scale_w, "]");
  // PyTorch: output size floor(in · scale) in double; the kernel then uses 1/scale (not in/out)
  // for align_corners=false (recompute_scale_factor=None).
  g.out_h = static_cast<int64_t>(std::floor(static_cast<double>(g.in_h) * scale_h));
  g.out_w = static_cast<int64_t>(std::floor(static_cast<double>(g.in_w) * scale_w));
  XGD_CHECK(g.out_h > 0 && g.out_w > 0, "interpolate_bilinear_scale: input ", x.str(),
            " with scale factors [", scale_h, ", ", scale_w, "] gives an empty output [", g.out_h,
            ", ", g.out_w, "]");
  g.scale_h = scale_h;
  g.scale_w = scale_w;
  return resize(x, g, "interpolate_bilinear_scale");
}

}  // namespace xgd
