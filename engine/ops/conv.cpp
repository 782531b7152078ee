// conv2d: shape checks, forward dispatch and the three gradients together.
// Kernels: kernels/cpu/conv*.cpp on the CPU, kernels/cuda/conv.* on Device::CUDA (through the
// table the CUDA backend registers, see ops::cuda_kernels); index maths: kernels/common/conv.h.
//   d input  = conv_transpose(dy, w)          (col2im / depthwise scatter)
//   d weight = Σ_n dy[n] ⋆ x[n]               (dy · colᵀ accumulated over images)
//   d bias   = Σ_{n, oh, ow} dy
#include "engine/ops/conv.h"

#include "engine/ops/op_util.h"
#include "kernels/cpu/conv.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/conv_depthwise.h"

namespace xgd {

using autograd::record;
using kernels::cpu::ConvGeom;
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

namespace {

std::string params_str(const Conv2dParams& p) {
  return detail::concat("stride=(", p.stride[0], ", ", p.stride[1], "), padding=(", p.padding[0],
                        ", ", p.padding[1], "), dilation=(", p.dilation[0], ", ", p.dilation[1],
                        "), groups=", p.groups);
}

// Validates the arguments as PyTorch's conv2d does (4-d batched input only) and returns the
// geometry; every message names conv2d and the offending shapes/values.
ConvGeom check_conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                      const Conv2dParams& p) {
  const char* op = "conv2d";
  ops::check_float_input(x, op, "input");
  ops::check_float_input(weight, op, "weight");
  check_same_device_dtype(x, weight, op);
  check_dim(x, 4, op, "input (N, C, H, W)");
  check_dim(weight, 4, op, "weight (C_out, C_in / groups, KH, KW)");
  for (int i = 0; i < 2; ++i) {
    XGD_CHECK(p.stride[i] > 0, op, ": stride must be positive, got ", params_str(p));
    XGD_CHECK(p.dilation[i] > 0, op, ": dilation must be positive, got ", params_str(p));
    XGD_CHECK(p.padding[i] >= 0, op, ": padding must be non-negative, got ", params_str(p));
  }
  XGD_CHECK(p.groups > 0, op, ": groups must be positive, got ", params_str(p));
  const Shape& xs = x.shape();
  const Shape& ws = weight.shape();
  XGD_CHECK(ws[0] > 0 && ws[1] > 0 && ws[2] > 0 && ws[3] > 0, op, ": weight ", weight.str(),
            " has an empty dim");
  XGD_CHECK(xs[1] > 0 && xs[2] > 0 && xs[3] > 0, op, ": input ", x.str(),
            " has an empty channel or spatial dim");
  XGD_CHECK(xs[1] % p.groups == 0, op, ": groups=", p.groups, " does not divide the ", xs[1],
            " input channels of ", x.str());
  XGD_CHECK(ws[0] % p.groups == 0, op, ": groups=", p.groups, " does not divide the ", ws[0],
            " output channels of weight ", weight.str());
  XGD_CHECK(ws[1] * p.groups == xs[1], op, ": input ", x.str(), " has ", xs[1],
            " channels but weight ", weight.str(), " with groups=", p.groups, " expects ",
            ws[1] * p.groups);
  if (bias.defined()) {
    ops::check_float_input(bias, op, "bias");
    check_same_device_dtype(x, bias, op);
    XGD_CHECK(bias.dim() == 1 && bias.size(0) == ws[0], op, ": bias ", bias.str(),
              " must have shape [", ws[0], "] (C_out of weight ", weight.str(), ")");
  }
  ConvGeom g = kernels::cpu::conv_geom(xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], p.stride[0],
                                       p.stride[1], p.padding[0], p.padding[1], p.dilation[0],
                                       p.dilation[1], p.groups);
  XGD_CHECK(g.OH > 0 && g.OW > 0, op, ": kernel ", ws[2], "x", ws[3], " (dilated ",
            p.dilation[0] * (ws[2] - 1) + 1, "x", p.dilation[1] * (ws[3] - 1) + 1,
            ") is larger than the padded input ", xs[2] + 2 * p.padding[0], "x",
            xs[3] + 2 * p.padding[1], " of ", x.str(), " (", params_str(p), ")");
  return g;
}

// ---- Device::CUDA. Dense convolutions run the implicit-GEMM kernels of kernels/cuda/conv.cu;
// depthwise ones (g.is_depthwise()) have their own, kernels/cuda/conv_depthwise.cu.
template <class T>
const kernels::cuda::ConvFns<T>& cuda_fns(const char* op) {
  return ops::cuda_kernels<kernels::cuda::ConvTable>(op).template of<T>();
}
template <class T>
void cuda_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor& b,
                  Tensor& out) {
  cuda_fns<T>("conv2d").forward(g, x.data<T>(), w.data<T>(), b.defined() ? b.data<T>() : nullptr,
                                out.data<T>(), ops::cuda_stream());
}
template <class T>
void cuda_backward_data(const ConvGeom& g, const Tensor& dy, const Tensor& w, Tensor& dx) {
  cuda_fns<T>("conv2d backward")
      .backward_data(g, dy.data<T>(), w.data<T>(), dx.data<T>(), ops::cuda_stream());
}
template <class T>
void cuda_backward_weight(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw) {
  const auto& fns = cuda_fns<T>("conv2d backward");
  // Scratch for the split reduction over N·OH·OW, from the device's caching allocator.
  const size_t bytes = fns.backward_weight_workspace_bytes(g);
  Tensor ws;
  if (bytes > 0)
    ws = Tensor::empty({static_cast<int64_t>((bytes + sizeof(T) - 1) / sizeof(T))}, dy.dtype(),
                       dy.device());
  fns.backward_weight(g, x.data<T>(), dy.data<T>(), dw.data<T>(),
                      bytes > 0 ? static_cast<void*>(ws.data<T>()) : nullptr, bytes,
                      ops::cuda_stream());
}
template <class T>
void cuda_backward_bias(const ConvGeom& g, const Tensor& dy, Tensor& db) {
  cuda_fns<T>("conv2d backward").backward_bias(g, dy.data<T>(), db.data<T>(), ops::cuda_stream());
}

// Depthwise (groups == C) on the device: kernels/cuda/conv_depthwise.*; its bias gradient is the
// dense family's (a per-channel sum, the same for every geometry).
bool cuda_depthwise(const Tensor& t, const ConvGeom& g) {
  return t.device() == Device::CUDA && g.is_depthwise();
}
template <class T>
const kernels::cuda::DepthwiseFns<T>& depthwise_fns(const char* op) {
  return ops::cuda_kernels<kernels::cuda::DepthwiseTable>(op).template of<T>();
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              const Conv2dParams& params) {
  const ConvGeom g = check_conv2d(x, weight, bias, params);
  Tensor out = Tensor::empty({g.N, g.K, g.OH, g.OW}, x.dtype(), x.device());
  dispatch_float(x.dtype(), "conv2d", [&]<class T>() {
    if (cuda_depthwise(x, g))
      return depthwise_fns<T>("conv2d").forward(g, x.data<T>(), weight.data<T>(),
                                                bias.defined() ? bias.data<T>() : nullptr,
                                                out.data<T>(), ops::cuda_stream());
    if (x.device() == Device::CUDA) return cuda_forward<T>(g, x, weight, bias, out);
    kernels::cpu::conv2d_forward<T>(g, x.data<T>(), weight.data<T>(),
                                    bias.defined() ? bias.data<T>() : nullptr, out.data<T>());
  });
  if (!autograd::needs_grad({&x, &weight, &bias})) return out;
  // Saved only where a gradient will need them: x for dweight, weight for dinput.
  Tensor xs = weight.requires_grad() ? x.detach() : Tensor();
  Tensor ws = x.requires_grad() ? weight.detach() : Tensor();
  return record(out, "conv2d", {x, weight, bias}, [g, xs, ws](const Tensor& dy, const Need& need) {
    XGD_CHECK(dy.shape() == Shape({g.N, g.K, g.OH, g.OW}), "conv2d backward: gradient ", dy.str(),
              " does not match the output shape");
    Grads grads(3);
    const bool cuda = dy.device() == Device::CUDA;
    dispatch_float(dy.dtype(), "conv2d backward", [&]<class T>() {
      if (cuda_depthwise(dy, g)) {
        const auto& fns = depthwise_fns<T>("conv2d backward");
        if (need[0]) {
          grads[0] = Tensor::empty({g.N, g.C, g.H, g.W}, dy.dtype(), dy.device());
          fns.backward_data(g, dy.data<T>(), ws.data<T>(), grads[0].data<T>(), ops::cuda_stream());
        }
        if (need[1]) {
          grads[1] = Tensor::empty({g.K, g.Cg(), g.KH, g.KW}, dy.dtype(), dy.device());
          // Slice partials of the reduction: a device tensor (the caching allocator).
          const int64_t n_ws = static_cast<int64_t>(
              ops::cuda_kernels<kernels::cuda::DepthwiseTable>("conv2d backward")
                  .backward_weight_workspace(g));
          Tensor work = n_ws ? Tensor::empty({n_ws}, dy.dtype(), dy.device()) : Tensor();
          fns.backward_weight(g, xs.data<T>(), dy.data<T>(), grads[1].data<T>(),
                              n_ws ? work.data<T>() : nullptr, ops::cuda_stream());
        }
        if (need[2]) {
          grads[2] = Tensor::empty({g.K}, dy.dtype(), dy.device());
          cuda_backward_bias<T>(g, dy, grads[2]);
        }
        return;
      }
      if (need[0]) {
        grads[0] = Tensor::empty({g.N, g.C, g.H, g.W}, dy.dtype(), dy.device());
        if (cuda)
          cuda_backward_data<T>(g, dy, ws, grads[0]);
        else
          kernels::cpu::conv2d_backward_data<T>(g, dy.data<T>(), ws.data<T>(), grads[0].data<T>());
      }
      if (need[1]) {
        grads[1] = Tensor::empty({g.K, g.Cg(), g.KH, g.KW}, dy.dtype(), dy.device());
        if (cuda)
          cuda_backward_weight<T>(g, xs, dy, grads[1]);
        else
          kernels::cpu::conv2d_backward_weight<T>(g, xs.data<T>(), dy.data<T>(),
                                                  grads[1].data<T>());
      }
      if (need[2]) {
        grads[2] = Tensor::empty({g.K}, dy.dtype(), dy.device());
        if (cuda)
          cuda_backward_bias<T>(g, dy, grads[2]);
        else
          kernels::cpu::conv2d_backward_bias<T>(g, dy.data<T>(), grads[2].data<T>());
      }
    });
    return grads;
  });
}

}  // namespace xgd
