// Layers over the conv, norm, linear and dropout op families. The activations and Sequential
// (pointwise ops only) are in basic.cpp, so code using only those links without these families.
#include "engine/nn/layers.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/dropout.h"
#include "engine/ops/linear.h"
#include "engine/ops/norm.h"

namespace xgd::nn {

namespace {
// torch.nn.Conv2d / Linear reset_parameters: kaiming_uniform_(w, a=√5), then the bias from
// U(±1/√fan_in) (fan_in > 0 always here: the constructors reject empty layers).
void default_init(Tensor& weight, Tensor& bias, Generator& gen) {
  kaiming_uniform_(weight, std::sqrt(5.0), /*use_fan_in=*/true, gen);
  if (bias.defined()) {
    double bound = 1.0 / std::sqrt(static_cast<double>(fan_in(weight)));
    uniform_(bias, -bound, bound, gen);
  }
}
}  // namespace

// ---------------------------------------------------------------- Conv2d
Conv2d::Conv2d(int64_t in, int64_t out, int64_t k, const Conv2dOptions& o, Generator& gen)
    : Module("Conv2d"), in_channels(in), out_channels(out), kernel_size(k) {
  XGD_CHECK(in > 0 && out > 0 && k > 0, "Conv2d: in_channels ", in, ", out_channels ", out,
            " and kernel_size ", k, " must be positive");
  XGD_CHECK(o.stride > 0 && o.dilation > 0 && o.padding >= 0, "Conv2d: stride ", o.stride,
            " and dilation ", o.dilation, " must be positive and padding ", o.padding,
            " non-negative");
  XGD_CHECK(o.groups > 0 && in % o.groups == 0 && out % o.groups == 0, "Conv2d: groups ", o.groups,
            " must divide in_channels ", in, " and out_channels ", out);
  params.stride = {o.stride, o.stride};
  params.padding = {o.padding, o.padding};
  params.dilation = {o.dilation, o.dilation};
  params.groups = o.groups;
  weight = Tensor::empty({out, in / o.groups, k, k});  // (C_out, C_in/g, k, k)
  if (o.bias) bias = Tensor::empty({out});             // (C_out)
  default_init(weight, bias, gen);
  register_parameter("weight", weight);
  if (o.bias) register_parameter("bias", bias);
}

Tensor Conv2d::forward(const Tensor& x) {
  return conv2d(x, weight, bias, params);
}

// ---------------------------------------------------------------- BatchNorm2d
BatchNorm2d::BatchNorm2d(int64_t c, double eps_, double momentum_)
    : Module("BatchNorm2d"), num_features(c), eps(eps_), momentum(momentum_) {
  XGD_CHECK(c > 0, "BatchNorm2d: num_features must be positive, got ", c);
  XGD_CHECK(eps > 0, "BatchNorm2d: eps must be positive, got ", eps);
  XGD_CHECK(momentum >= 0 && momentum <= 1, "BatchNorm2d: momentum must be in [0, 1], got ",
            momentum);
  weight = register_parameter("weight", Tensor::ones({c}));
  bias = register_parameter("bias", Tensor::zeros({c}));
  running_mean = register_buffer("running_mean", Tensor::zeros({c}));
  running_var = register_buffer("running_var", Tensor::ones({c}));
  // int64 scalar, as torch.tensor(0, dtype=torch.long); optional on load as in PyTorch.
  num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::I64), true);
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  XGD_CHECK(x.defined() && x.dim() == 4 && x.size(1) == num_features,
            "BatchNorm2d: expected an (N, ", num_features, ", H, W) input, got ", x.str());
  // The state shares the buffers' storage: the op's in-place running-stat updates land in them.
  BatchNormState state{running_mean, running_var, num_batches_tracked};
  return batch_norm2d(x, weight, bias, state, is_training(), momentum, eps);
}

// ---------------------------------------------------------------- Linear
Linear::Linear(int64_t in, int64_t out, Generator& gen, bool has_bias)
    : Module("Linear"), in_features(in), out_features(out) {
  XGD_CHECK(in > 0 && out > 0, "Linear: in_features ", in, " and out_features ", out,
            " must be positive");
  weight = Tensor::empty({out, in});          // (out, in)
  if (has_bias) bias = Tensor::empty({out});  // (out)
  default_init(weight, bias, gen);
  register_parameter("weight", weight);
  if (has_bias) register_parameter("bias", bias);
}

Tensor Linear::forward(const Tensor& x) {
  return linear(x, weight, bias);
}

// ---------------------------------------------------------------- dropout
Dropout::Dropout(const char* type, double p_, uint64_t seed) : Module(type), p(p_), gen_(seed) {
  XGD_CHECK(p >= 0 && p <= 1, type, ": p must be in [0, 1], got ", p);
}
Dropout::Dropout(double p_, uint64_t seed) : Dropout("Dropout", p_, seed) {}

Tensor Dropout::forward(const Tensor& x) {
  return dropout(x, p, is_training(), gen_);
}
Tensor Dropout2d::forward(const Tensor& x) {
  return dropout2d(x, p, is_training(), gen_);
}

}  // namespace xgd::nn
