// The layers the segmentation models are built from, with PyTorch's parameter/buffer names,
// shapes and default initialisations (torch.nn.Conv2d, BatchNorm2d, Linear, ...), so a
// state_dict moves between torch/smp and the engine unchanged. Random initialisation draws from
// a Generator passed at construction (Philox: reproducible, same stream on CPU and CUDA); the
// values differ from torch's (another RNG), the distributions are the same.
#pragma once
#include <memory>
#include <vector>

#include "engine/nn/module.h"
#include "engine/ops/conv.h"
#include "engine/rng.h"

namespace xgd::nn {

struct Conv2dOptions {
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

// weight (C_out, C_in / groups, k, k), bias (C_out) unless options.bias is false.
// Init (torch.nn.Conv2d.reset_parameters): kaiming_uniform_(a = √5) -> U(±1/√fan_in) for the
// weight, bias U(±1/√fan_in), fan_in = C_in / groups · k².
class Conv2d : public Module {
 public:
  // Conv2d(3, 64, 7, {.stride = 2, .padding = 3, .bias = false}, gen)
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
         const Conv2dOptions& options, Generator& gen);
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Generator& gen)
      : Conv2d(in_channels, out_channels, kernel_size, Conv2dOptions{}, gen) {}
  Tensor forward(const Tensor& x) override;

  int64_t in_channels, out_channels, kernel_size;
  Conv2dParams params;
  Tensor weight, bias;  // bias undefined without a bias
};

// Parameters weight (1), bias (0); buffers running_mean (0), running_var (1),
// num_batches_tracked (int64 scalar 0). Training mode normalises with batch statistics and
// updates the running ones (momentum as PyTorch: r = (1 − m)·r + m·stat); eval uses them.
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1);
  Tensor forward(const Tensor& x) override;
  bool is_normalization() const override { return true; }

  int64_t num_features;
  double eps, momentum;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
};

// y = x·Wᵀ + b: weight (out, in), bias (out); init as torch.nn.Linear (same as Conv2d's).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, Generator& gen, bool bias = true);
  Tensor forward(const Tensor& x) override;

  int64_t in_features, out_features;
  Tensor weight, bias;
};

class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override;
};

class ReLU6 : public Module {
 public:
  ReLU6() : Module("ReLU6") {}
  Tensor forward(const Tensor& x) override;
};

class Identity : public Module {
 public:
  Identity() : Module("Identity") {}
  Tensor forward(const Tensor& x) override { return x; }
};

// Dropout / Dropout2d: active in training mode only. Each module owns its mask Generator,
// seeded at construction or with seed(); its state (seed, offset) can be saved with a
// checkpoint through generator() so a resumed run drops the same elements.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, uint64_t seed = 0);
  Tensor forward(const Tensor& x) override;
  void seed(uint64_t s) { gen_.set_state(s, 0); }
  Generator& generator() { return gen_; }

  double p;

 protected:
  Dropout(const char* type, double p, uint64_t seed);
  Generator gen_;
};

// Zeroes whole channels of an (N, C, H, W) input (one draw per (n, c)).
class Dropout2d : public Dropout {
 public:
  explicit Dropout2d(double p = 0.5, uint64_t seed = 0) : Dropout("Dropout2d", p, seed) {}
  Tensor forward(const Tensor& x) override;
};

// Children named "0", "1", ... in order (torch.nn.Sequential); forward chains them through
// operator() so every child's output can be captured.
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& modules);
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    register_module(std::to_string(modules_.size()), module);
    modules_.push_back(module);
    return module;
  }
  size_t size() const { return modules_.size(); }
  Module& operator[](size_t i) const;
  // The i-th child as an M; error when it is another type.
  template <class M>
  M& at(size_t i) const {
    M* m = dynamic_cast<M*>(&(*this)[i]);
    XGD_CHECK(m != nullptr, "Sequential '", name(), "': child ", i, " is a ",
              (*this)[i].type_name());
    return *m;
  }
  Tensor forward(const Tensor& x) override;

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

}  // namespace xgd::nn
