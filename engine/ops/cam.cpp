// Grad-CAM weighting ops: forward and backward together. Kernels: kernels/cpu/cam.* on the
// CPU, kernels/cuda/cam.* on Device::CUDA (through the CamTable the CUDA backend registers).
//   cam_channel_weights        dG = dα / (h·w) broadcast over h×w
//   gradcampp_channel_weights  no gradient (error)
//   cam_weighted_sum_relu      dA = relu_bwd(M, dM)·w; no gradient for w (error)
//   minmax_normalise           dx = dy/D + [argmin]·(s1 − s0)/D − [argmax]·s1/D,
//                              D = max − min + eps, s0 = Σ dy, s1 = Σ dy·y (per image)
#include "engine/ops/cam.h"

#include "engine/ops/op_util.h"
#include "engine/ops/pointwise.h"
#include "kernels/cpu/cam.h"
#include "kernels/cuda/cam.h"

namespace xgd {

using autograd::record;
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

namespace {

template <class T>
const kernels::cuda::CamFns<T>& cuda_fns(const char* op) {
  return ops::cuda_kernels<kernels::cuda::CamTable>(op).template of<T>();
}
bool on_cpu(const Tensor& t) {
  return t.device() == Device::CPU;
}

void check_nchw(const Tensor& t, const char* op, const char* what) {
  ops::check_float_input(t, op, what);
  XGD_CHECK(t.dim() == 4, op, ": ", what, " must be N×C×h×w, got ", t.str());
}

}  // namespace

Tensor cam_channel_weights(const Tensor& G) {
  const char* op = "cam_channel_weights";
  check_nchw(G, op, "gradients");
  const int64_t N = G.size(0), C = G.size(1), P = G.size(2) * G.size(3);
  XGD_CHECK(P > 0, op, ": cannot average over zero pixels, got ", G.str());
  Tensor w = Tensor::empty({N, C, 1, 1}, G.dtype(), G.device());
  dispatch_float(G.dtype(), op, [&]<class T>() {
    if (on_cpu(G)) return kernels::cpu::cam_channel_mean<T>(G.data<T>(), N * C, P, w.data<T>());
    cuda_fns<T>(op).cam_channel_mean(G.data<T>(), N * C, P, w.data<T>(), ops::cuda_stream());
  });
  Shape shape = G.shape();
  return record(w, op, {G}, [shape, P](const Tensor& dw, const Need&) {
    // dα/(h·w) broadcast back over the pixels (engine ops: on either device).
    return Grads{mul(add(Tensor::zeros(shape, dw.dtype(), dw.device()), dw), 1.0 / double(P))};
  });
}

Tensor gradcampp_channel_weights(const Tensor& A, const Tensor& G) {
  const char* op = "gradcampp_channel_weights";
  check_nchw(A, op, "activations");
  check_nchw(G, op, "gradients");
  check_same_device_dtype(A, G, op);
  XGD_CHECK(A.shape() == G.shape(), op, ": activations ", A.str(), " and gradients ", G.str(),
            " must have the same shape");
  const int64_t N = A.size(0), C = A.size(1), P = A.size(2) * A.size(3);
  Tensor w = Tensor::empty({N, C, 1, 1}, A.dtype(), A.device());
  dispatch_float(A.dtype(), op, [&]<class T>() {
    if (on_cpu(A))
      return kernels::cpu::gradcampp_weights<T>(A.data<T>(), G.data<T>(), N * C, P, w.data<T>());
    cuda_fns<T>(op).gradcampp_weights(A.data<T>(), G.data<T>(), N * C, P, w.data<T>(),
                                      ops::cuda_stream());
  });
  return record(w, op, {A, G}, [op](const Tensor&, const Need&) -> Grads {
    XGD_FAIL(op, ": backward is not implemented (first-order mode holds the weights constant)");
  });
}

Tensor cam_weighted_sum_relu(const Tensor& A, const Tensor& weights) {
  const char* op = "cam_weighted_sum_relu";
  check_nchw(A, op, "activations");
  check_nchw(weights, op, "weights");
  check_same_device_dtype(A, weights, op);
  const int64_t N = A.size(0), C = A.size(1), h = A.size(2), w = A.size(3), P = h * w;
  const bool pixel = weights.shape() == A.shape();
  XGD_CHECK(pixel || weights.shape() == Shape({N, C, 1, 1}), op, ": weights ", weights.str(),
            " must be N×C×1×1 or N×C×h×w for activations ", A.str());
  Tensor m = Tensor::empty({N, h, w}, A.dtype(), A.device());
  dispatch_float(A.dtype(), op, [&]<class T>() {
    if (on_cpu(A))
      return kernels::cpu::cam_weighted_sum_relu<T>(A.data<T>(), weights.data<T>(), N, C, P, pixel,
                                                    m.data<T>());
    cuda_fns<T>(op).cam_weighted_sum_relu(A.data<T>(), weights.data<T>(), N, C, P, pixel,
                                          m.data<T>(), ops::cuda_stream());
  });
  Tensor ms = m.detach(), ws = weights.detach();
  Shape a_shape = A.shape();
  return record(
      m, op, {A, weights}, [ms, ws, a_shape, pixel, op](const Tensor& dm, const Need& need) {
        XGD_CHECK(!need[1], op,
                  ": the gradient with respect to the weights is not implemented "
                  "(first-order mode holds them constant; detach them)");
        check_same_device_dtype(ms, dm, op);
        const int64_t N = a_shape[0], C = a_shape[1], P = a_shape[2] * a_shape[3];
        Tensor da = Tensor::empty(a_shape, dm.dtype(), dm.device());
        dispatch_float(dm.dtype(), op, [&]<class T>() {
          if (on_cpu(dm))
            return kernels::cpu::cam_weighted_sum_relu_backward<T>(
                ms.data<T>(), dm.data<T>(), ws.data<T>(), N, C, P, pixel, da.data<T>());
          cuda_fns<T>(op).cam_weighted_sum_relu_backward(ms.data<T>(), dm.data<T>(), ws.data<T>(),
                                                         N, C, P, pixel, da.data<T>(),
                                                         ops::cuda_stream());
        });
        return Grads{da, Tensor()};
      });
}

Tensor minmax_normalise(const Tensor& x, double eps) {
  const char* op = "minmax_normalise";
  ops::check_float_input(x, op, "input");
  XGD_CHECK(x.dim() >= 1 && x.size(0) > 0 && x.numel() > 0, op,
            ": needs a non-empty N×... tensor (min/max of each image), got ", x.str());
  const int64_t N = x.size(0), P = x.numel() / N;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor index = Tensor::empty({N, 2}, DType::I64, x.device());  // (argmin, argmax) per image
  dispatch_float(x.dtype(), op, [&]<class T>() {
    if (on_cpu(x))
      return kernels::cpu::minmax_normalise<T>(x.data<T>(), N, P, T(eps), out.data<T>(),
                                               index.data<int64_t>());
    // Per-chunk partials of the two-pass reduction (kernels/cuda/cam.h); the caching allocator
    // serves them.
    const int64_t ws_n = kernels::cuda::minmax_workspace_elems(N, P);
    Tensor ws_val = Tensor::empty({ws_n}, x.dtype(), x.device());
    Tensor ws_idx = Tensor::empty({ws_n}, DType::I64, x.device());
    cuda_fns<T>(op).minmax_normalise(x.data<T>(), N, P, T(eps), out.data<T>(),
                                     index.data<int64_t>(), ws_val.data<T>(),
                                     ws_idx.data<int64_t>(), ops::cuda_stream());
  });
  Tensor xs = x.detach();
  return record(out, op, {x}, [xs, index, eps, N, P, op](const Tensor& dy, const Need&) {
    check_same_device_dtype(xs, dy, op);
    Tensor dx = Tensor::empty(xs.shape(), dy.dtype(), dy.device());
    dispatch_float(dy.dtype(), op, [&]<class T>() {
      if (on_cpu(dy))
        return kernels::cpu::minmax_normalise_backward<T>(xs.data<T>(), index.data<int64_t>(),
                                                          dy.data<T>(), N, P, T(eps), dx.data<T>());
      Tensor ws =
          Tensor::empty({kernels::cuda::minmax_workspace_elems(N, P)}, DType::F64, dy.device());
      cuda_fns<T>(op).minmax_normalise_backward(xs.data<T>(), index.data<int64_t>(), dy.data<T>(),
                                                N, P, T(eps), dx.data<T>(), ws.data<double>(),
                                                ops::cuda_stream());
    });
    return Grads{dx};
  });
}

}  // namespace xgd
