// Batch normalisation: forward and backward together. Kernels: kernels/cpu/norm.* on the CPU,
// kernels/cuda/norm.* on Device::CUDA (statistics stay on the device as float64 tensors; no
// host synchronisation), per-element maths: kernels/common/norm.h. The backward kernels
// overwrite their outputs.
#include "engine/ops/norm.h"

#include <algorithm>
#include <memory>

#include "engine/ops/op_util.h"
#include "kernels/common/norm.h"
#include "kernels/cpu/norm.h"
#include "kernels/cuda/norm.h"

namespace xgd {

using autograd::record;
using kernels::cpu::BatchNormGeometry;
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

namespace {

constexpr const char* kOp = "batch_norm2d";

// A per-channel tensor (weight, bias, running stats): undefined is allowed where `optional`.
void check_channel_tensor(const Tensor& t, const Tensor& x, const char* what) {
  check_same_device_dtype(x, t, kOp);
  XGD_CHECK(t.dim() == 1 && t.size(0) == x.size(1), kOp, ": ", what, " ", t.str(),
            " does not match the ", x.size(1), " channels of input ", x.str());
}

const kernels::cuda::NormTable& cuda_table(const char* op) {
  return ops::cuda_kernels<kernels::cuda::NormTable>(op);
}
template <class T>
T* ptr_or_null(const Tensor& t) {
  Tensor h = t;  // a handle: data<T>() of the non-const one
  return h.defined() ? h.data<T>() : nullptr;
}

// Device::CUDA: the same steps as the CPU path, on the device. The per-channel statistics are
// float64 device tensors (C), kept by the backward closure.
Tensor batch_norm2d_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias,
                         BatchNormState& state, bool training, bool has_running, double momentum,
                         double eps, const BatchNormGeometry& g) {
  const cudaStream_t stream = ops::cuda_stream();
  const auto& table = cuda_table(kOp);
  Tensor mean = Tensor::empty({g.c}, DType::F64, x.device());
  Tensor invstd = Tensor::empty({g.c}, DType::F64, x.device());
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), kOp, [&]<class T>() {
    const auto& k = table.of<T>();
    if (training) {
      Tensor var = Tensor::empty({g.c}, DType::F64, x.device());  // biased (C)
      Tensor ws = Tensor::empty({std::max<int64_t>(table.workspace(g), 1)}, DType::F64, x.device());
      k.stats(x.data<T>(), g, eps, mean.data<double>(), var.data<double>(), invstd.data<double>(),
              ws.data<double>(), stream);
      // Buffers are written through their storage: no autograd history (as torch.no_grad).
      if (has_running)
        k.update_running(state.running_mean.data<T>(), state.running_var.data<T>(),
                         mean.data<double>(), var.data<double>(), g.c, g.n * g.hw, momentum,
                         stream);
    } else {
      k.eval_stats(state.running_mean.data<T>(), state.running_var.data<T>(), g.c, eps,
                   mean.data<double>(), invstd.data<double>(), stream);
    }
    k.forward(x.data<T>(), out.data<T>(), g, mean.data<double>(), invstd.data<double>(),
              ptr_or_null<T>(weight), ptr_or_null<T>(bias), stream);
  });
  if (training && state.num_batches_tracked.defined()) {
    if (state.num_batches_tracked.device() == Device::CPU)
      state.num_batches_tracked.data<int64_t>()[0] += 1;
    else
      table.increment_counter(state.num_batches_tracked.data<int64_t>(), stream);
  }

  Tensor xs = x.detach(), ws = weight.defined() ? weight.detach() : Tensor();
  return record(
      out, kOp, {x, weight, bias},
      [xs, ws, g, mean, invstd, training](const Tensor& dy, const Need& need) {
        XGD_CHECK(dy.device() == xs.device(), "batch_norm2d_backward: gradient ", dy.str(),
                  " is not on the input's device ", xs.str());
        XGD_CHECK(dy.shape() == xs.shape(), "batch_norm2d_backward: gradient ", dy.str(),
                  " does not match input ", xs.str());
        const auto& table = cuda_table("batch_norm2d_backward");
        Grads grads(3);
        if (need[0]) grads[0] = Tensor::empty(xs.shape(), dy.dtype(), dy.device());
        if (need[1]) grads[1] = Tensor::empty({g.c}, dy.dtype(), dy.device());
        if (need[2]) grads[2] = Tensor::empty({g.c}, dy.dtype(), dy.device());
        Tensor scratch =
            Tensor::empty({std::max<int64_t>(table.workspace(g), 1)}, DType::F64, dy.device());
        dispatch_float(dy.dtype(), "batch_norm2d_backward", [&]<class T>() {
          table.of<T>().backward(xs.data<T>(), dy.data<T>(), ptr_or_null<T>(grads[0]),
                                 ptr_or_null<T>(grads[1]), ptr_or_null<T>(grads[2]), g,
                                 mean.data<double>(), invstd.data<double>(), ptr_or_null<T>(ws),
                                 training, scratch.data<double>(), ops::cuda_stream());
        });
        return grads;
      });
}

}  // namespace

Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                    BatchNormState& state, bool training, double momentum, double eps) {
  ops::check_float_input(x, kOp, "input");
  XGD_CHECK(x.dim() == 4, kOp, ": expected a 4-d (N, C, H, W) input, got ", x.str());
  XGD_CHECK(x.size(1) > 0, kOp, ": expected at least one channel, got ", x.str());
  XGD_CHECK(eps > 0, kOp, ": eps must be positive, got ", eps);
  if (weight.defined()) check_channel_tensor(weight, x, "weight");
  if (bias.defined()) check_channel_tensor(bias, x, "bias");
  const bool has_running = state.running_mean.defined() || state.running_var.defined();
  if (has_running) {
    XGD_CHECK(state.running_mean.defined() && state.running_var.defined(), kOp,
              ": running_mean and running_var must be given together");
    check_channel_tensor(state.running_mean, x, "running_mean");
    check_channel_tensor(state.running_var, x, "running_var");
  }
  XGD_CHECK(training || has_running, kOp,
            ": running_mean and running_var must be defined in evaluation mode");
  if (state.num_batches_tracked.defined())
    XGD_CHECK(state.num_batches_tracked.dtype() == DType::I64 &&
                  state.num_batches_tracked.numel() == 1 &&
                  (state.num_batches_tracked.device() == Device::CPU ||
                   state.num_batches_tracked.device() == x.device()),
              kOp, ": num_batches_tracked must be a one-element int64 tensor on the CPU or ",
              device_name(x.device()), ", got ", state.num_batches_tracked.str());

  const BatchNormGeometry g{x.size(0), x.size(1), x.size(2) * x.size(3)};
  const int64_t count = g.n * g.hw;  // values per channel
  // PyTorch's _verify_batch_size: the unbiased variance needs two values per channel.
  XGD_CHECK(!training || count > 1, kOp,
            ": Expected more than 1 value per channel when training, got input size ",
            shape_str(x.shape()));
  if (x.device() != Device::CPU)
    return batch_norm2d_cuda(x, weight, bias, state, training, has_running, momentum, eps, g);

  // Per-channel statistics used to normalise (C): batch stats in training, running in eval.
  auto mean = std::make_shared<std::vector<double>>(g.c);
  auto invstd = std::make_shared<std::vector<double>>(g.c);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), kOp, [&]<class T>() {
    if (training) {
      std::vector<double> var(g.c);  // biased (C)
      kernels::cpu::batch_norm_stats<T>(x.data<T>(), g, mean->data(), var.data());
      for (int64_t c = 0; c < g.c; ++c) (*invstd)[c] = kernels::bn_invstd(var[c], eps);
      // Buffers are written through their storage: no autograd history (as torch.no_grad).
      if (has_running)
        kernels::cpu::batch_norm_update_running<T>(state.running_mean.data<T>(),
                                                   state.running_var.data<T>(), mean->data(),
                                                   var.data(), g.c, count, momentum);
    } else {
      const T* rm = state.running_mean.data<T>();
      const T* rv = state.running_var.data<T>();
      for (int64_t c = 0; c < g.c; ++c) {
        (*mean)[c] = static_cast<double>(rm[c]);
        (*invstd)[c] = kernels::bn_invstd(static_cast<double>(rv[c]), eps);
      }
    }
    kernels::cpu::batch_norm_forward<T>(x.data<T>(), out.data<T>(), g, mean->data(), invstd->data(),
                                        weight.defined() ? weight.data<T>() : nullptr,
                                        bias.defined() ? bias.data<T>() : nullptr);
  });
  if (training && state.num_batches_tracked.defined())
    state.num_batches_tracked.data<int64_t>()[0] += 1;

  Tensor xs = x.detach(), ws = weight.defined() ? weight.detach() : Tensor();
  return record(out, kOp, {x, weight, bias},
                [xs, ws, g, mean, invstd, training](const Tensor& dy, const Need& need) {
                  ops::require_cpu(dy, "batch_norm2d_backward");
                  XGD_CHECK(dy.shape() == xs.shape(), "batch_norm2d_backward: gradient ", dy.str(),
                            " does not match input ", xs.str());
                  Grads grads(3);
                  if (need[0]) grads[0] = Tensor::empty(xs.shape(), dy.dtype(), dy.device());
                  if (need[1]) grads[1] = Tensor::empty({g.c}, dy.dtype(), dy.device());
                  if (need[2]) grads[2] = Tensor::empty({g.c}, dy.dtype(), dy.device());
                  dispatch_float(dy.dtype(), "batch_norm2d_backward", [&]<class T>() {
                    auto ptr = [](Tensor& t) { return t.defined() ? t.data<T>() : nullptr; };
                    kernels::cpu::batch_norm_backward<T>(
                        xs.data<T>(), dy.data<T>(), ptr(grads[0]), ptr(grads[1]), ptr(grads[2]), g,
                        mean->data(), invstd->data(), ws.defined() ? ws.data<T>() : nullptr,
                        training);
                  });
                  return grads;
                });
}

}  // namespace xgd
