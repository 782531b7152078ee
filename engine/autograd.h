// Reverse-mode autograd. Each differentiable op records one Node whose backward function
// maps the gradient of the op's output to the gradients of its inputs. Ops define forward and
// backward together (engine/ops/*.cpp), as PyTorch's derivatives.yaml does in one table.
//
// Saved tensors must be detach()ed copies of handles (they share storage), never the op's
// output handle itself: output -> node -> output would be a reference cycle.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace xgd::autograd {

// Gradients of the op's inputs, in input order; an undefined Tensor where `need[i]` is false.
using BackwardFn =
    std::function<std::vector<Tensor>(const Tensor& grad_output, const std::vector<bool>& need)>;

struct Node {
  std::string name;  // op name, for errors ("conv2d")
  // One entry per op input: the input's impl (leaf or not). Its grad_fn is the next node.
  std::vector<std::shared_ptr<TensorImpl>> inputs;
  BackwardFn backward;
  bool released = false;  // saved tensors freed after a backward without retain_graph
};

// Grad mode: when off, ops record nothing (PyTorch's torch.no_grad()).
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when grad mode is on and any input requires grad: the op must record a node.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Records `fn` as the producer of `output` (which must be freshly created by the op) if
// needs_grad(inputs); returns output. Undefined inputs (an absent bias) are allowed.
Tensor record(Tensor output, const char* name, const std::vector<Tensor>& inputs, BackwardFn fn);

// Accumulates d(roots)/d(leaves) into every reachable leaf's .grad (PyTorch's backward()).
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots,
              bool retain_graph = false);

// Gradients of `outputs` w.r.t. `inputs` (leaves or intermediate tensors), weighted by
// grad_outputs (undefined = ones for one-element outputs). Leaves' .grad are left untouched;
// only the part of the graph between inputs and outputs is evaluated. An input that the
// outputs do not depend on gets an undefined Tensor unless allow_unused is false (error).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool allow_unused = false);

}  // namespace xgd::autograd
