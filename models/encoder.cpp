#include "models/encoder.h"

#include <algorithm>

namespace xgd::models {

Encoder::Encoder(std::string type, int depth, int output_stride)
    : Module(std::move(type)), depth_(depth), output_stride_(output_stride) {
  XGD_CHECK(depth >= 1 && depth <= 5, type_name(), ": depth should be in range [1, 5], got ",
            depth);
  XGD_CHECK(output_stride == 32 || output_stride == 16 || output_stride == 8, type_name(),
            ": output stride should be 32, 16 or 8, got ", output_stride);
}

int Encoder::output_stride() const {
  return std::min(output_stride_, 1 << depth_);
}

std::vector<int64_t> Encoder::out_channels() const {
  std::vector<int64_t> all = all_channels();
  return std::vector<int64_t>(all.begin(), all.begin() + depth_ + 1);
}

std::vector<Tensor> Encoder::finish(std::vector<Tensor> feats) {
  feats.back() = captured(feats.back());
  return feats;
}

int stage_dilation(int stage_stride, int output_stride) {
  return stage_stride <= output_stride ? 1 : stage_stride / output_stride;
}

}  // namespace xgd::models
