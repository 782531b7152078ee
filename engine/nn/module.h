// nn::Module: a tree of named children, parameters and buffers, with names and order identical
// to PyTorch's state_dict() (pre-order: a module's own parameters, then its own buffers, then
// each child in registration order), so weights move to and from segmentation_models_pytorch
// through safetensors files (DESIGN.md §3).
//
// Forward goes through operator()(x), which calls the virtual forward(x) and then captured():
// while an nn::Capture naming this module is alive, the output (with its autograd graph) is
// recorded, so Grad-CAM can take autograd::grad w.r.t. a layer's activation. Modules with
// another forward signature (a decoder taking several features) call captured(out) themselves.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace xgd::nn {

// Ordered (name, tensor) pairs: the order is part of the contract (PyTorch's state_dict order).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module;
class Capture;
using NamedModules = std::vector<std::pair<std::string, Module*>>;

// Result of a non-strict load (PyTorch's _IncompatibleKeys), keys in state_dict order.
struct LoadResult {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

class Module {
 public:
  explicit Module(std::string type_name = "Module");
  virtual ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // ---- forward
  // Single-tensor forward; the base class has none (error naming the module).
  virtual Tensor forward(const Tensor& x);
  // forward(x), then captured(); an xgd::Error from inside gains " [in module <name> (<type>)]"
  // naming the innermost module that failed.
  Tensor operator()(const Tensor& x);

  // ---- identity
  const std::string& type_name() const { return type_; }
  // Full dotted name in its tree ("encoder.layer4"); "" for a root. Updated when the module
  // (or an ancestor) is registered under a parent.
  const std::string& name() const { return name_; }
  Module* parent() const { return parent_; }

  // ---- registration (PyTorch: register_parameter / register_buffer / add_module)
  // Names are non-empty, without '.', unique within the module. Returns the registered handle:
  // layers keep it (weight, bias); loading and optimizers update the same storage in place.
  Tensor register_parameter(const std::string& name, Tensor value);
  // optional_on_load: a missing key is not reported as missing (PyTorch's BatchNorm tolerates
  // a state dict without num_batches_tracked, as old torchvision checkpoints are).
  Tensor register_buffer(const std::string& name, Tensor value, bool optional_on_load = false);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  // ---- traversal (names relative to this module)
  NamedModules named_modules();  // pre-order, this module first with name ""
  NamedModules named_children() const;
  // The descendant at a dotted path; error listing nearby valid names when there is none.
  Module& submodule(const std::string& path);
  const NamedTensors& local_parameters() const { return params_; }  // own, not children's
  const NamedTensors& local_buffers() const { return buffers_; }

  // Parameters/buffers of the whole subtree, each tensor once (PyTorch's remove_duplicate).
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;
  int64_t num_parameters() const;  // elements of all distinct parameters

  // ---- state
  // Parameters and buffers as handles sharing their storage, in PyTorch's state_dict order
  // (a tensor registered under two names appears under both, as in PyTorch).
  NamedTensors state_dict() const;
  // Copies matching entries in place (dtype converted where needed: float64 <-> float32,
  // int64 for num_batches_tracked). strict: one xgd::Error listing every missing, unexpected
  // and shape-mismatched key. Non-strict: returns the missing/unexpected keys, but shape
  // mismatches are still an error (as PyTorch). Nothing is modified when an error is thrown.
  LoadResult load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);
  LoadResult load_state_dict(const NamedTensors& state, bool strict = true);
  // safetensors files; errors name the file.
  void save(const std::string& path, const std::map<std::string, std::string>& metadata = {}) const;
  LoadResult load(const std::string& path, bool strict = true);

  // ---- modes and conversions
  void train(bool on = true);  // recursive, as PyTorch
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();  // drops every parameter's .grad (PyTorch's set_to_none=True)
  // Converts floating parameters and buffers in place: the handles held by layers and
  // optimizers stay valid (PyTorch's module.to(dtype) also swaps param.data). Gradients are
  // dropped. Integer buffers (num_batches_tracked) keep their dtype.
  Module& to(DType dtype);
  Module& to(Device device);

  // True for normalisation layers, whose weights and biases get no weight decay.
  virtual bool is_normalization() const { return false; }

 protected:
  // Records `out` for every live Capture naming this module; returns out unchanged.
  Tensor captured(Tensor out);

 private:
  friend class Capture;
  void add_child(const std::string& name, std::shared_ptr<Module> child);
  void check_new_name(const std::string& name, const char* what) const;
  void set_name(const std::string& full);
  void collect_state(const std::string& prefix, NamedTensors& out,
                     std::vector<std::string>* optional) const;
  void collect(const std::string& prefix, bool params, NamedTensors& out,
               std::vector<const TensorImpl*>& seen) const;
  void convert(DType* dtype, Device* device);

  std::string type_;
  std::string name_;
  Module* parent_ = nullptr;
  bool training_ = true;
  NamedTensors params_;
  NamedTensors buffers_;
  std::vector<std::string> optional_buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::vector<std::pair<Capture*, size_t>> captures_;  // (capture, slot) naming this module
};

// Records the outputs of named modules of `root`'s tree during the forward passes made while it
// is alive (RAII). Names are dotted paths relative to root (its full names when root is the
// tree's root). Only the latest output of each module is kept; nothing is recorded otherwise.
// A Capture must not outlive the modules it names (a module destroyed first detaches itself).
class Capture {
 public:
  // cut_graph: each captured output is replaced, for the rest of the forward, by a detached
  // leaf that requires grad. The graph then starts at that layer: a model whose parameters need
  // no gradient (a distillation teacher) records only what lies after the layer, which is all
  // Grad-CAM needs to differentiate the logits w.r.t. the layer's output.
  Capture(Module& root, const std::vector<std::string>& names, bool cut_graph = false);
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // The latest output of `name`; error when the module has not run since the capture began.
  Tensor operator[](const std::string& name) const;
  bool has(const std::string& name) const;
  int64_t count(const std::string& name) const;  // outputs recorded so far
  const std::vector<std::string>& names() const { return names_; }
  void clear();  // drops the recorded outputs (and the graphs they hold)

 private:
  friend class Module;
  struct Slot {
    Module* module;
    Tensor output;
    int64_t count = 0;
  };
  size_t index(const std::string& name) const;

  std::vector<std::string> names_;
  std::vector<Slot> slots_;
  bool cut_graph_ = false;
};

// Nearby valid names for an error message: the closest (edit distance) of `candidates`.
std::string nearby_names(const std::string& wanted, const std::vector<std::string>& candidates,
                         size_t max_names = 6);

}  // namespace xgd::nn
