// Optimizers over parameter groups, each group with its own lr and weight decay, reproducing
// torch.optim.SGD, Adam and AdamW (single-tensor path, foreach=False) update by update.
// step() updates parameters in place under NoGrad; parameters without a gradient are skipped
// (their state, including Adam's step count, does not advance), as in PyTorch.
// The per-element maths is kernels/common/optim.h (shared with the CUDA kernels).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "engine/nn/module.h"

namespace xgd::optim {

struct ParamGroup {
  nn::NamedTensors params;  // names key the exported state: "optim.<name>.exp_avg"
  double lr = 1e-3;
  double weight_decay = 0.0;
  double initial_lr = -1;  // the lr schedules scale; < 0: taken from lr at construction
};

// One group of all of a module's parameters.
ParamGroup all_parameters(const nn::Module& module, double lr, double weight_decay = 0.0);
// Two groups: {with weight decay, without}: the second holds every bias and the weights and
// biases of normalisation layers (BatchNorm), the usual no-decay split of segmentation training.
std::vector<ParamGroup> decay_groups(const nn::Module& module, double lr, double weight_decay);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual void step() = 0;
  void zero_grad();  // drops every parameter's .grad
  const char* name() const { return name_; }

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  // Sets each group's lr to initial_lr · factor (schedules keep groups in proportion).
  void set_lr_factor(double factor);

  // Checkpoint state as named tensors, "<prefix><param name>.<state>" (state: "step" as an
  // int64 scalar, "exp_avg", "exp_avg_sq", "momentum_buffer"), only for parameters that have
  // state. Handles share the optimizer's storage: save them before the next step.
  std::map<std::string, Tensor> state_dict(const std::string& prefix = "optim.") const;
  // Restores state written by state_dict(); keys without `prefix` are ignored (a checkpoint
  // also holds weights). Errors (nothing modified): a key naming an unknown parameter or state,
  // a shape or dtype mismatch, a parameter with only part of its state.
  void load_state_dict(const std::map<std::string, Tensor>& state,
                       const std::string& prefix = "optim.");

 protected:
  Optimizer(std::vector<ParamGroup> groups, const char* name, std::vector<std::string> buffer_names,
            bool has_step);

  struct ParamState {
    int64_t step = 0;
    std::vector<Tensor> buffers;  // one per buffer_names_ entry; undefined until first used
  };
  // Calls fn(group, param, grad, state) for every parameter with a gradient, after checking it.
  template <class Fn>
  void for_each_with_grad(Fn&& fn);

  std::vector<ParamGroup> groups_;
  std::vector<std::vector<ParamState>> state_;  // [group][param]
  const char* name_;
  std::vector<std::string> buffer_names_;
  bool has_step_;
};

struct SGDOptions {
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;  // needs momentum > 0 and dampening 0 (as torch)
};

class SGD : public Optimizer {
 public:
  explicit SGD(std::vector<ParamGroup> groups, const SGDOptions& options = {});
  void step() override;
  SGDOptions options;
};

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

// Adam: weight decay added to the gradient (L2). AdamW: decoupled, p ← p·(1 − lr·wd) first.
class Adam : public Optimizer {
 public:
  explicit Adam(std::vector<ParamGroup> groups, const AdamOptions& options = {});
  void step() override;
  AdamOptions options;

 protected:
  Adam(std::vector<ParamGroup> groups, const AdamOptions& options, const char* name,
       bool decoupled);
  bool decoupled_;
};

class AdamW : public Adam {
 public:
  explicit AdamW(std::vector<ParamGroup> groups, const AdamOptions& options = {})
      : Adam(std::move(groups), options, "AdamW", true) {}
};

}  // namespace xgd::optim
