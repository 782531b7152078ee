#include "engine/optim/optimizer.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/op_util.h"
#include "kernels/cpu/optim.h"
#include "kernels/cuda/optim.h"

namespace xgd::optim {

// ---------------------------------------------------------------- groups
ParamGroup all_parameters(const nn::Module& module, double lr, double weight_decay) {
  return ParamGroup{module.named_parameters(), lr, weight_decay};
}

namespace {
void split(const nn::Module& m, const std::string& prefix, std::vector<ParamGroup>& groups,
           std::vector<const TensorImpl*>& seen) {
  for (auto& [n, t] : m.local_parameters()) {
    if (std::find(seen.begin(), seen.end(), t.impl()) != seen.end()) continue;
    seen.push_back(t.impl());
    bool no_decay = m.is_normalization() || n == "bias";
    groups[no_decay ? 1 : 0].params.emplace_back(prefix.empty() ? n : prefix + "." + n, t);
  }
  for (auto& [n, c] : m.named_children())
    split(*c, prefix.empty() ? n : prefix + "." + n, groups, seen);
}
}  // namespace

std::vector<ParamGroup> decay_groups(const nn::Module& module, double lr, double weight_decay) {
  std::vector<ParamGroup> groups{ParamGroup{{}, lr, weight_decay}, ParamGroup{{}, lr, 0.0}};
  std::vector<const TensorImpl*> seen;  // same dedup and order as named_parameters()
  split(module, "", groups, seen);
  return groups;
}

// ---------------------------------------------------------------- Optimizer
Optimizer::Optimizer(std::vector<ParamGroup> groups, const char* name,
                     std::vector<std::string> buffer_names, bool has_step)
    : groups_(std::move(groups)),
      name_(name),
      buffer_names_(std::move(buffer_names)),
      has_step_(has_step) {
  std::map<std::string, bool> names;
  std::vector<const TensorImpl*> seen;
  size_t total = 0;
  for (auto& g : groups_) {
    XGD_CHECK(g.lr >= 0 && g.weight_decay >= 0, name_, ": invalid lr ", g.lr, " or weight_decay ",
              g.weight_decay, " (must be >= 0)");
    if (g.initial_lr < 0) g.initial_lr = g.lr;
    for (auto& [n, p] : g.params) {
      XGD_CHECK(p.defined() && is_floating(p.dtype()) && p.is_leaf(), name_, ": parameter \"", n,
                "\" must be a floating leaf tensor, got ", p.str());
      XGD_CHECK(!names.count(n), name_, ": parameter name \"", n, "\" appears twice");
      XGD_CHECK(std::find(seen.begin(), seen.end(), p.impl()) == seen.end(), name_,
                ": parameter \"", n,
                "\" appears in more than one place (as torch: some "
                "parameters appear in more than one parameter group)");
      names[n] = true;
      seen.push_back(p.impl());
      ++total;
    }
    state_.emplace_back(g.params.size(), ParamState{0, std::vector<Tensor>(buffer_names_.size())});
  }
  XGD_CHECK(total > 0, name_, ": got an empty parameter list");
}

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& [n, p] : g.params) p.zero_grad();
}

void Optimizer::set_lr_factor(double factor) {
  XGD_CHECK(factor >= 0 && std::isfinite(factor), name_,
            ": lr factor must be finite and >= 0, got ", factor);
  for (auto& g : groups_) g.lr = g.initial_lr * factor;
}

template <class Fn>
void Optimizer::for_each_with_grad(Fn&& fn) {
  autograd::NoGradGuard no_grad;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    auto& g = groups_[gi];
    for (size_t pi = 0; pi < g.params.size(); ++pi) {
      auto& [n, p] = g.params[pi];
      Tensor grad = p.grad();
      if (!grad.defined()) continue;  // torch skips parameters whose .grad is None
      XGD_CHECK(grad.shape() == p.shape() && grad.dtype() == p.dtype(), name_, ": gradient ",
                grad.str(), " of \"", n, "\" does not match the parameter ", p.str());
      // State lives on the parameter's device; the update runs there (CPU or CUDA kernels).
      XGD_CHECK(grad.device() == p.device(), name_, ": gradient ", grad.str(), " of \"", n,
                "\" is on another device than the parameter ", p.str());
      fn(g, p, grad, state_[gi][pi]);
    }
  }
}

namespace {
// The CUDA launchers for element type T (an error naming the optimizer when no backend
// registered them).
template <class T>
const kernels::cuda::OptimFns<T>& cuda_fns(const char* op) {
  return ops::cuda_kernels<kernels::cuda::OptimTable>(op).template of<T>();
}
}  // namespace

std::map<std::string, Tensor> Optimizer::state_dict(const std::string& prefix) const {
  std::map<std::string, Tensor> out;
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      const std::string& n = groups_[gi].params[pi].first;
      const ParamState& s = state_[gi][pi];
      if (has_step_ && s.step > 0)
        out[prefix + n + ".step"] = Tensor::scalar(static_cast<double>(s.step), DType::I64);
      for (size_t b = 0; b < buffer_names_.size(); ++b)
        if (s.buffers[b].defined()) out[prefix + n + "." + buffer_names_[b]] = s.buffers[b];
    }
  return out;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& state,
                                const std::string& prefix) {
  // Validate everything first, then install: an error leaves the optimizer untouched.
  std::vector<std::vector<ParamState>> fresh = state_;
  std::map<std::string, std::pair<size_t, size_t>> where;
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      where[groups_[gi].params[pi].first] = {gi, pi};
      fresh[gi][pi] = ParamState{0, std::vector<Tensor>(buffer_names_.size())};
    }
  std::vector<std::vector<int>> found(groups_.size());
  for (size_t gi = 0; gi < groups_.size(); ++gi) found[gi].assign(groups_[gi].params.size(), 0);
  for (auto& [key, t] : state) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    size_t dot = key.rfind('.');
    XGD_CHECK(dot != std::string::npos && dot > prefix.size(), name_, ": malformed state key \"",
              key, "\"");
    std::string param = key.substr(prefix.size(), dot - prefix.size());
    std::string what = key.substr(dot + 1);
    auto it = where.find(param);
    XGD_CHECK(it != where.end(), name_, ": state \"", key,
              "\" names no parameter of this "
              "optimizer");
    auto [gi, pi] = it->second;
    const Tensor& p = groups_[gi].params[pi].second;
    ParamState& s = fresh[gi][pi];
    if (has_step_ && what == "step") {
      XGD_CHECK(t.defined() && t.numel() == 1 && t.item() >= 1, name_, ": state \"", key,
                "\" must be a positive step count, got ", t.str());
      s.step = static_cast<int64_t>(t.item());
      ++found[gi][pi];
      continue;
    }
    auto b = std::find(buffer_names_.begin(), buffer_names_.end(), what);
    XGD_CHECK(b != buffer_names_.end(), name_, ": unknown state \"", what, "\" in \"", key, "\"");
    XGD_CHECK(t.defined() && t.shape() == p.shape() && t.dtype() == p.dtype(), name_, ": state \"",
              key, "\" is ", t.str(), ", the parameter is ", p.str());
    Tensor copy = Tensor::empty(p.shape(), p.dtype(), p.device());
    copy.copy_(t);  // own storage: the checkpoint's tensors are not aliased
    s.buffers[b - buffer_names_.begin()] = copy;
    ++found[gi][pi];
  }
  // A parameter has all of its state or none (SGD without momentum keeps none).
  size_t expected = buffer_names_.size() + (has_step_ ? 1 : 0);
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      int n = found[gi][pi];
      XGD_CHECK(n == 0 || static_cast<size_t>(n) == expected, name_, ": state of \"",
                groups_[gi].params[pi].first, "\" is incomplete (", n, " of ", expected,
                " entries)");
    }
  state_ = std::move(fresh);
}

// ---------------------------------------------------------------- SGD
SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& o)
    : Optimizer(std::move(groups), "SGD", {"momentum_buffer"}, false), options(o) {
  XGD_CHECK(o.momentum >= 0 && o.dampening >= 0, "SGD: invalid momentum ", o.momentum,
            " or dampening ", o.dampening);
  XGD_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
            "SGD: nesterov momentum requires a momentum and zero dampening (momentum ", o.momentum,
            ", dampening ", o.dampening, ")");
}

void SGD::step() {
  for_each_with_grad([&](ParamGroup& g, Tensor& p, Tensor& grad, ParamState& s) {
    Tensor& buf = s.buffers[0];
    bool first = false;
    if (options.momentum != 0 && !buf.defined()) {
      buf = Tensor::empty(p.shape(), p.dtype(), p.device());
      first = true;
    }
    dispatch_float(p.dtype(), "SGD", [&]<class T>() {
      kernels::SgdHyper<T> h{T(-g.lr),
                             T(g.weight_decay),
                             T(options.momentum),
                             T(1.0 - options.dampening),
                             options.nesterov,
                             first};
      T* pb = buf.defined() ? buf.data<T>() : nullptr;
      if (p.device() == Device::CPU)
        return kernels::cpu::sgd_step<T>(p.data<T>(), grad.data<T>(), pb, p.numel(), h);
      cuda_fns<T>(name_).sgd_step(p.data<T>(), grad.data<T>(), pb, p.numel(), h,
                                  ops::cuda_stream());
    });
  });
}

// ---------------------------------------------------------------- Adam / AdamW
Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& o)
    : Adam(std::move(groups), o, "Adam", false) {}

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& o, const char* name, bool decoupled)
    : Optimizer(std::move(groups), name, {"exp_avg", "exp_avg_sq"}, true),
      options(o),
      decoupled_(decoupled) {
  XGD_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, name,
            ": betas must be in [0, 1), got (", o.beta1, ", ", o.beta2, ")");
  XGD_CHECK(o.eps >= 0, name, ": eps must be >= 0, got ", o.eps);
}

void Adam::step() {
  for_each_with_grad([&](ParamGroup& g, Tensor& p, Tensor& grad, ParamState& s) {
    if (!s.buffers[0].defined()) {  // torch: zeros_like(param) at the first step
      s.buffers[0] = Tensor::zeros(p.shape(), p.dtype(), p.device());
      s.buffers[1] = Tensor::zeros(p.shape(), p.dtype(), p.device());
    }
    ++s.step;
    // Host scalars in double, as torch's Python floats: bias corrections from the step count.
    double step = static_cast<double>(s.step);
    double bc1 = 1.0 - std::pow(options.beta1, step);
    double bc2 = 1.0 - std::pow(options.beta2, step);
    double wd = g.weight_decay;
    dispatch_float(p.dtype(), name_, [&]<class T>() {
      kernels::AdamHyper<T> h;
      h.l2 = decoupled_ ? T(0) : T(wd);
      h.decay = decoupled_ && wd != 0 ? T(1.0 - g.lr * wd) : T(1);
      h.lerp_weight = T(1.0 - options.beta1);
      h.beta2 = T(options.beta2);
      h.one_minus_beta2 = T(1.0 - options.beta2);
      h.bc2_sqrt = T(std::pow(bc2, 0.5));
      h.eps = T(options.eps);
      h.neg_step_size = T(-(g.lr / bc1));
      if (p.device() == Device::CPU)
        return kernels::cpu::adam_step<T>(p.data<T>(), grad.data<T>(), s.buffers[0].data<T>(),
                                          s.buffers[1].data<T>(), p.numel(), h);
      cuda_fns<T>(name_).adam_step(p.data<T>(), grad.data<T>(), s.buffers[0].data<T>(),
                                   s.buffers[1].data<T>(), p.numel(), h, ops::cuda_stream());
    });
  });
}

}  // namespace xgd::optim
