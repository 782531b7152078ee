// The layers that need no op family beyond pointwise: activations and Sequential.
#include "engine/nn/layers.h"
#include "engine/ops/pointwise.h"

namespace xgd::nn {

// ---------------------------------------------------------------- activations
Tensor ReLU::forward(const Tensor& x) {
  return relu(x);
}
Tensor ReLU6::forward(const Tensor& x) {
  return relu6(x);
}

// ---------------------------------------------------------------- Sequential
Sequential::Sequential(const std::vector<std::shared_ptr<Module>>& modules) : Sequential() {
  for (auto& m : modules) push_back(m);
}

Module& Sequential::operator[](size_t i) const {
  XGD_CHECK(i < modules_.size(), "Sequential '", name(), "': index ", i, " out of range for ",
            modules_.size(), " modules");
  return *modules_[i];
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& m : modules_) y = (*m)(y);
  return y;
}

}  // namespace xgd::nn
