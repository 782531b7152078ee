#include "engine/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "engine/ops/pointwise.h"

namespace xgd::autograd {

namespace {
thread_local bool grad_mode = true;
}

bool grad_enabled() { return grad_mode; }
NoGradGuard::NoGradGuard() : previous_(grad_mode) { grad_mode = false; }
NoGradGuard::~NoGradGuard() { grad_mode = previous_; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!grad_mode) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}
bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!grad_mode) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor record(Tensor output, const char* name, const std::vector<Tensor>& inputs, BackwardFn fn) {
  if (!needs_grad(inputs)) return output;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs.reserve(inputs.size());
  for (const Tensor& t : inputs)
    node->inputs.push_back(t.defined() && t.requires_grad() ? t.impl_ptr() : nullptr);
  node->backward = std::move(fn);
  output.impl()->grad_fn = std::move(node);
  output.impl()->requires_grad = true;
  return output;
}

namespace {

// The engine walks TensorImpls: a non-leaf impl stands for its grad_fn's output. Each node
// has exactly one output tensor, so "gradient of tensor t" == "gradient arriving at t's node".
using ImplSet = std::unordered_set<const TensorImpl*>;

// Reverse topological order (outputs first) of the impls reachable from roots.
std::vector<TensorImpl*> topo_order(const std::vector<TensorImpl*>& roots) {
  std::vector<TensorImpl*> order;
  ImplSet seen;
  // Iterative DFS post-order (deep nets would overflow a recursive one).
  std::vector<std::pair<TensorImpl*, size_t>> stack;
  for (TensorImpl* r : roots) {
    if (!r || seen.count(r)) continue;
    seen.insert(r);
    stack.push_back({r, 0});
    while (!stack.empty()) {
      auto& [t, next] = stack.back();
      Node* node = t->grad_fn.get();
      if (node && next < node->inputs.size()) {
        TensorImpl* in = node->inputs[next++].get();
        if (in && !seen.count(in)) {
          seen.insert(in);
          stack.push_back({in, 0});
        }
      } else {
        order.push_back(t);
        stack.pop_back();
      }
    }
  }
  return {order.rbegin(), order.rend()};
}

Tensor accumulate(const Tensor& acc, const Tensor& g) { return acc.defined() ? add(acc, g) : g; }

Tensor seed_gradient(const Tensor& root, const Tensor& given, const char* who) {
  if (given.defined()) {
    XGD_CHECK(given.shape() == root.shape(), who, ": grad_output ", given.str(),
              " does not match output ", root.str());
    check_same_device_dtype(given, root, who);
    return given.detach();
  }
  XGD_CHECK(root.numel() == 1, who, ": output ", root.str(),
            " is not a scalar; pass its gradient explicitly");
  return Tensor::ones(root.shape(), root.dtype(), root.device());
}

// Runs the backward pass. `stop` impls (the inputs of grad()) collect their gradient and,
// when `prune` is set, only nodes with a path to a stop impl are evaluated.
std::unordered_map<const TensorImpl*, Tensor> run(const std::vector<Tensor>& roots,
                                                  const std::vector<Tensor>& grad_roots,
                                                  bool retain_graph, const ImplSet* stop,
                                                  const char* who) {
  XGD_CHECK(grad_roots.empty() || grad_roots.size() == roots.size(), who, ": ", roots.size(),
            " outputs but ", grad_roots.size(), " grad_outputs");
  std::vector<TensorImpl*> root_impls;
  std::unordered_map<const TensorImpl*, Tensor> grads;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    check_defined(r, who, "output");
    XGD_CHECK(r.requires_grad(), who, ": output ", i, " ", r.str(),
              " does not require grad (no graph to differentiate)");
    Tensor g = seed_gradient(r, grad_roots.empty() ? Tensor() : grad_roots[i], who);
    grads[r.impl()] = accumulate(grads[r.impl()], g);
    root_impls.push_back(r.impl());
  }
  NoGradGuard no_grad;  // backward formulas are not themselves recorded (no double backward)
  std::vector<TensorImpl*> order = topo_order(root_impls);

  // With stop impls, keep only impls from which a stop impl is reachable ("useful").
  ImplSet useful;
  if (stop) {
    for (auto it = order.rbegin(); it != order.rend(); ++it) {  // inputs before outputs
      TensorImpl* t = *it;
      bool u = stop->count(t) > 0;
      if (!u && t->grad_fn)
        for (auto& in : t->grad_fn->inputs)
          if (in && useful.count(in.get())) u = true;
      if (u) useful.insert(t);
    }
  }

  for (TensorImpl* t : order) {
    Node* node = t->grad_fn.get();
    if (!node) continue;  // leaf
    if (stop && !useful.count(t)) continue;  // no path from here to an input of grad()
    auto found = grads.find(t);
    if (found == grads.end() || !found->second.defined()) continue;
    std::vector<bool> need(node->inputs.size());
    bool any = false;
    for (size_t i = 0; i < need.size(); ++i) {
      TensorImpl* in = node->inputs[i].get();
      need[i] = in != nullptr && (!stop || useful.count(in));
      any = any || need[i];
    }
    if (!any) continue;
    XGD_CHECK(!node->released, who, ": the graph through '", node->name,
              "' was already freed by a backward; pass retain_graph=true to the first call");
    Tensor g_out = found->second;
    std::vector<Tensor> g_in = node->backward(g_out, need);
    XGD_CHECK(g_in.size() == need.size(), "autograd: backward of '", node->name, "' returned ",
              g_in.size(), " gradients for ", need.size(), " inputs");
    for (size_t i = 0; i < need.size(); ++i) {
      if (!need[i] || !g_in[i].defined()) continue;
      TensorImpl* in = node->inputs[i].get();
      XGD_CHECK(g_in[i].shape() == in->shape, "autograd: backward of '", node->name,
                "' gave gradient ", shape_str(g_in[i].shape()), " for input ", i, " of shape ",
                shape_str(in->shape));
      grads[in] = accumulate(grads[in], g_in[i]);
    }
    // Free this node's saved tensors now unless asked to keep the graph.
    if (!retain_graph && !(stop && stop->count(t))) {
      node->backward = nullptr;
      node->released = true;
    }
    if (!stop || !stop->count(t)) grads.erase(t);  // activations' grads die as soon as used
  }
  return grads;
}

}  // namespace

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots,
              bool retain_graph) {
  auto grads = run(roots, grad_roots, retain_graph, nullptr, "backward");
  for (auto& [impl, g] : grads) {
    if (impl->grad_fn || !impl->requires_grad || !g.defined()) continue;
    auto* leaf = const_cast<TensorImpl*>(impl);
    if (leaf->grad) {
      Tensor acc(leaf->grad);
      leaf->grad = add(acc, g).impl_ptr();
    } else {
      // Take the buffer when nothing else holds it (the common case: a fresh kernel output);
      // otherwise copy, since it may alias a tensor the caller or the graph still uses (add's
      // backward passes its input gradient through, a grad_output belongs to the caller).
      bool owned = g.impl_ptr().use_count() == 1 && g.impl()->storage.use_count() == 1;
      leaf->grad = owned ? g.impl_ptr() : g.clone().detach().impl_ptr();
    }
  }
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph,
                         bool allow_unused) {
  ImplSet stop;
  for (const Tensor& t : inputs) {
    check_defined(t, "autograd::grad", "input");
    XGD_CHECK(t.requires_grad(), "autograd::grad: input ", t.str(), " does not require grad");
    stop.insert(t.impl());
  }
  auto grads = run(outputs, grad_outputs, retain_graph, &stop, "autograd::grad");
  std::vector<Tensor> result;
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto it = grads.find(inputs[i].impl());
    Tensor g = it == grads.end() ? Tensor() : it->second;
    XGD_CHECK(g.defined() || allow_unused, "autograd::grad: input ", i, " ", inputs[i].str(),
              " is not used to compute the outputs (pass allow_unused=true)");
    result.push_back(g);
  }
  return result;
}

}  // namespace xgd::autograd
