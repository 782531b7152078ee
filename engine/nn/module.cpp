#include "engine/nn/module.h"

#include <algorithm>
#include <sstream>

#include "engine/autograd.h"
#include "engine/io/safetensors.h"

namespace xgd::nn {

namespace {
std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}
std::string quoted_list(const std::vector<std::string>& keys) {
  std::string s;
  for (size_t i = 0; i < keys.size(); ++i) s += (i ? ", \"" : "\"") + keys[i] + "\"";
  return s;
}
}  // namespace

Module::Module(std::string type_name) : type_(std::move(type_name)) {}

Module::~Module() {
  // A capture naming this module forgets it rather than pointing at freed memory.
  for (auto& [capture, slot] : captures_) capture->slots_[slot].module = nullptr;
}

// ---------------------------------------------------------------- forward
Tensor Module::forward(const Tensor&) {
  XGD_FAIL("module '", name_, "' (", type_, ") has no single-tensor forward");
}

Tensor Module::operator()(const Tensor& x) {
  try {
    return captured(forward(x));
  } catch (const Error& e) {
    std::string m = e.what();
    if (m.find(" [in module ") != std::string::npos) throw;  // the innermost module named it
    throw Error(m + " [in module " + (name_.empty() ? "<root>" : name_) + " (" + type_ + ")]");
  }
}

Tensor Module::captured(Tensor out) {
  for (auto& [capture, slot] : captures_) {
    if (capture->cut_graph_ && out.defined() && is_floating(out.dtype()))
      out = out.detach().requires_grad_();
    auto& s = capture->slots_[slot];
    s.output = out;
    ++s.count;
  }
  return out;
}

// ---------------------------------------------------------------- registration
void Module::check_new_name(const std::string& name, const char* what) const {
  XGD_CHECK(!name.empty() && name.find('.') == std::string::npos, type_, " '", name_, "': invalid ",
            what, " name \"", name, "\" (must be non-empty, without '.')");
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](auto& e) { return e.first == name; });
  };
  XGD_CHECK(!taken(params_) && !taken(buffers_) && !taken(children_), type_, " '", name_,
            "': cannot register ", what, " \"", name, "\": the name is already used");
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  check_new_name(name, "parameter");
  XGD_CHECK(value.defined(), type_, " '", name_, "': parameter \"", name, "\" is undefined");
  XGD_CHECK(is_floating(value.dtype()) && value.is_leaf(), type_, " '", name_, "': parameter \"",
            name, "\" must be a floating leaf tensor, got ", value.str());
  value.requires_grad_(true);
  params_.emplace_back(name, value);
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value, bool optional_on_load) {
  check_new_name(name, "buffer");
  XGD_CHECK(value.defined(), type_, " '", name_, "': buffer \"", name, "\" is undefined");
  buffers_.emplace_back(name, value);
  if (optional_on_load) optional_buffers_.push_back(name);
  return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  check_new_name(name, "module");
  XGD_CHECK(child != nullptr, type_, " '", name_, "': module \"", name, "\" is null");
  XGD_CHECK(child->parent_ == nullptr, type_, " '", name_, "': module \"", name, "\" (",
            child->type_, ") already belongs to '", child->parent_ ? child->parent_->name_ : "",
            "' (a module has one parent)");
  for (const Module* m = this; m; m = m->parent_)
    XGD_CHECK(m != child.get(), type_, " '", name_, "': registering \"", name,
              "\" would make a cycle");
  child->parent_ = this;
  child->set_name(join(name_, name));
  children_.emplace_back(name, std::move(child));
}

void Module::set_name(const std::string& full) {
  name_ = full;
  for (auto& [n, c] : children_) c->set_name(join(full, n));
}

// ---------------------------------------------------------------- traversal
NamedModules Module::named_modules() {
  NamedModules out{{"", this}};
  for (auto& [n, c] : children_)
    for (auto& [sub, m] : c->named_modules()) out.emplace_back(sub.empty() ? n : n + "." + sub, m);
  return out;
}

NamedModules Module::named_children() const {
  NamedModules out;
  for (auto& [n, c] : children_) out.emplace_back(n, c.get());
  return out;
}

Module& Module::submodule(const std::string& path) {
  Module* m = this;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = std::min(path.find('.', start), path.size());
    std::string part = path.substr(start, end - start);
    auto it = std::find_if(m->children_.begin(), m->children_.end(),
                           [&](auto& e) { return e.first == part; });
    if (it == m->children_.end()) {
      std::vector<std::string> all;
      for (auto& [n, mod] : named_modules())
        if (!n.empty()) all.push_back(n);
      XGD_FAIL(type_, ": no module \"", path, "\"", name_.empty() ? "" : " under '" + name_ + "'",
               "; nearby: ", nearby_names(path, all));
    }
    m = it->second.get();
    start = end + 1;
  }
  return *m;
}

void Module::collect(const std::string& prefix, bool params, NamedTensors& out,
                     std::vector<const TensorImpl*>& seen) const {
  for (auto& [n, t] : params ? params_ : buffers_) {
    if (std::find(seen.begin(), seen.end(), t.impl()) != seen.end()) continue;
    seen.push_back(t.impl());
    out.emplace_back(join(prefix, n), t);
  }
  for (auto& [n, c] : children_) c->collect(join(prefix, n), params, out, seen);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  std::vector<const TensorImpl*> seen;
  collect("", true, out, seen);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  std::vector<const TensorImpl*> seen;
  collect("", false, out, seen);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

// ---------------------------------------------------------------- state
void Module::collect_state(const std::string& prefix, NamedTensors& out,
                           std::vector<std::string>* optional) const {
  for (auto& [n, t] : params_) out.emplace_back(join(prefix, n), t);
  for (auto& [n, t] : buffers_) out.emplace_back(join(prefix, n), t);
  if (optional)
    for (auto& n : optional_buffers_) optional->push_back(join(prefix, n));
  for (auto& [n, c] : children_) c->collect_state(join(prefix, n), out, optional);
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect_state("", out, nullptr);
  return out;
}

LoadResult Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  NamedTensors own;
  std::vector<std::string> optional;
  collect_state("", own, &optional);
  LoadResult result;
  std::vector<std::string> mismatches;
  std::vector<std::pair<Tensor, Tensor>> copies;  // (destination, source); applied when valid
  for (auto& [key, dst] : own) {
    auto it = state.find(key);
    if (it == state.end()) {
      if (std::find(optional.begin(), optional.end(), key) == optional.end())
        result.missing_keys.push_back(key);
      continue;
    }
    const Tensor& src = it->second;
    if (!src.defined() || src.shape() != dst.shape()) {
      mismatches.push_back(detail::concat(
          "size mismatch for ", key, ": copying a param with shape ",
          src.defined() ? shape_str(src.shape()) : "undefined",
          " from checkpoint, the shape in current model is ", shape_str(dst.shape()), "."));
      continue;
    }
    copies.emplace_back(dst, src);
  }
  std::map<std::string, bool> own_keys;
  for (auto& [key, t] : own) own_keys[key] = true;
  for (auto& [key, t] : state)
    if (!own_keys.count(key)) result.unexpected_keys.push_back(key);

  bool key_errors = strict && (!result.missing_keys.empty() || !result.unexpected_keys.empty());
  if (key_errors || !mismatches.empty()) {
    // PyTorch's message: "Error(s) in loading state_dict for <Type>:" then one line each.
    std::string m = "Error(s) in loading state_dict for " + type_ + ":";
    if (strict && !result.missing_keys.empty())
      m += "\n\tMissing key(s) in state_dict: " + quoted_list(result.missing_keys) + ".";
    if (strict && !result.unexpected_keys.empty())
      m += "\n\tUnexpected key(s) in state_dict: " + quoted_list(result.unexpected_keys) + ".";
    for (auto& s : mismatches) m += "\n\t" + s;
    throw Error(m);
  }
  autograd::NoGradGuard no_grad;  // conversions below must not record
  for (auto& [dst, src] : copies) {
    Tensor s = src.dtype() == dst.dtype() ? src : src.to(Device::CPU).to(dst.dtype());
    dst.copy_(s);
  }
  return result;
}

LoadResult Module::load_state_dict(const NamedTensors& state, bool strict) {
  std::map<std::string, Tensor> m;
  for (auto& [k, t] : state) {
    XGD_CHECK(!m.count(k), "load_state_dict: key \"", k, "\" given twice");
    m[k] = t;
  }
  return load_state_dict(m, strict);
}

void Module::save(const std::string& path,
                  const std::map<std::string, std::string>& metadata) const {
  std::map<std::string, Tensor> tensors;
  for (auto& [k, t] : state_dict()) tensors[k] = t;
  io::save_safetensors(path, tensors, metadata);
}

LoadResult Module::load(const std::string& path, bool strict) {
  io::SafetensorsFile file = io::load_safetensors(path);  // its errors name the file
  try {
    return load_state_dict(file.tensors, strict);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

// ---------------------------------------------------------------- modes and conversions
void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad() {
  for (auto& [n, t] : named_parameters()) t.zero_grad();
}

void Module::convert(DType* dtype, Device* device) {
  // The impl is updated in place so every handle (layer members, optimizers, BatchNormState)
  // sees the converted tensor.
  autograd::NoGradGuard no_grad;
  auto update = [&](Tensor& t) {
    Tensor c = t.detach();
    if (dtype && is_floating(c.dtype()) && c.dtype() != *dtype)
      c = c.to(Device::CPU).to(*dtype).to(t.device());
    if (device && c.device() != *device) c = c.to(*device);
    if (c.impl()->storage == t.impl()->storage && c.dtype() == t.dtype()) return;
    TensorImpl* impl = t.impl();
    impl->storage = c.impl()->storage;
    impl->offset = c.impl()->offset;
    impl->dtype = c.dtype();
    impl->grad.reset();
  };
  for (auto& [n, t] : params_) update(t);
  for (auto& [n, t] : buffers_) update(t);
  for (auto& [n, c] : children_) c->convert(dtype, device);
}

Module& Module::to(DType dtype) {
  XGD_CHECK(is_floating(dtype), type_, ".to: target dtype must be float32 or float64, got ",
            dtype_name(dtype));
  convert(&dtype, nullptr);
  return *this;
}

Module& Module::to(Device device) {
  convert(nullptr, &device);
  return *this;
}

// ---------------------------------------------------------------- capture
namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::string nearby_names(const std::string& wanted, const std::vector<std::string>& candidates,
                         size_t max_names) {
  if (candidates.empty()) return "(the module has no submodules)";
  std::vector<std::pair<size_t, std::string>> scored;
  for (auto& c : candidates) scored.emplace_back(edit_distance(wanted, c), c);
  std::stable_sort(scored.begin(), scored.end(),
                   [](auto& a, auto& b) { return a.first < b.first; });
  std::string s;
  for (size_t i = 0; i < scored.size() && i < max_names; ++i)
    s += (i ? ", " : "") + scored[i].second;
  if (scored.size() > max_names) s += ", ...";
  return s;
}

Capture::Capture(Module& root, const std::vector<std::string>& names, bool cut_graph)
    : cut_graph_(cut_graph) {
  std::vector<std::string> all;
  NamedModules modules = root.named_modules();
  for (auto& [n, m] : modules)
    if (!n.empty()) all.push_back(n);
  for (auto& name : names) {
    XGD_CHECK(std::find(names_.begin(), names_.end(), name) == names_.end(), "Capture: module \"",
              name, "\" is listed twice");
    auto it = std::find_if(modules.begin(), modules.end(),
                           [&](auto& e) { return !e.first.empty() && e.first == name; });
    XGD_CHECK(it != modules.end(), "Capture: no module \"", name, "\" in ", root.type_name(),
              root.name().empty() ? "" : " '" + root.name() + "'",
              "; nearby: ", nearby_names(name, all));
    names_.push_back(name);
    slots_.push_back(Slot{it->second, Tensor(), 0});
  }
  // Attach only after every name is valid, so a throwing constructor leaves no hooks behind.
  for (size_t i = 0; i < slots_.size(); ++i) slots_[i].module->captures_.emplace_back(this, i);
}

Capture::~Capture() {
  for (auto& s : slots_) {
    if (!s.module) continue;
    auto& hooks = s.module->captures_;
    hooks.erase(
        std::remove_if(hooks.begin(), hooks.end(), [this](auto& h) { return h.first == this; }),
        hooks.end());
  }
}

size_t Capture::index(const std::string& name) const {
  auto it = std::find(names_.begin(), names_.end(), name);
  XGD_CHECK(it != names_.end(), "Capture: \"", name, "\" is not captured; captured: ",
            names_.empty() ? std::string("(none)") : nearby_names(name, names_, names_.size()));
  return static_cast<size_t>(it - names_.begin());
}

Tensor Capture::operator[](const std::string& name) const {
  const Slot& s = slots_[index(name)];
  XGD_CHECK(s.output.defined(), "Capture: module \"", name,
            "\" has produced no output since the capture began (it did not run through "
            "operator() or captured())");
  return s.output;
}

bool Capture::has(const std::string& name) const {
  return slots_[index(name)].output.defined();
}
int64_t Capture::count(const std::string& name) const {
  return slots_[index(name)].count;
}

void Capture::clear() {
  for (auto& s : slots_) {
    s.output = Tensor();
    s.count = 0;
  }
}

}  // namespace xgd::nn
