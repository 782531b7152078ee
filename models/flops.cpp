#include "models/flops.h"

#include "engine/autograd.h"

namespace xgd::models {

ForwardCost forward_cost(SegmentationModel& model, int64_t h, int64_t w) {
  std::vector<std::string> names;
  std::vector<nn::Conv2d*> convs;
  for (auto& [name, m] : model.named_modules())
    if (auto* c = dynamic_cast<nn::Conv2d*>(m)) names.push_back(name), convs.push_back(c);
  ForwardCost cost;
  std::tie(cost.padded_h, cost.padded_w) = padded_size(h, w, model.output_stride());
  const bool was_training = model.is_training();
  model.eval();
  {
    autograd::NoGradGuard no_grad;
    nn::Capture capture(model, names);
    model(Tensor::zeros({1, 3, cost.padded_h, cost.padded_w}));
    for (size_t i = 0; i < convs.size(); ++i) {
      if (!capture.has(names[i])) continue;  // not run (e.g. ResNet layer3/4 at depth 3)
      const Tensor& wt = convs[i]->weight;   // (C_out, C_in / groups, kH, kW)
      cost.macs += capture[names[i]].numel() * wt.size(1) * wt.size(2) * wt.size(3);
      ++cost.conv_layers;
    }
  }
  model.train(was_training);
  return cost;
}

}  // namespace xgd::models
