// Random numbers: a Philox 4x32-10 stream keyed by (seed, offset). A Generator hands out
// disjoint counter ranges, so a run is reproducible from its seed, a checkpoint can store the
// offset to resume the same stream, and the CPU and CUDA backends draw identical numbers.
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace xgd {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0, uint64_t offset = 0) : seed_(seed), offset_(offset) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed, offset_ = offset; }
  // Reserves counters for n values (4 per counter) and returns the first counter.
  uint64_t advance(uint64_t n) {
    uint64_t first = offset_;
    offset_ += (n + 3) / 4;
    return first;
  }

 private:
  uint64_t seed_, offset_;
};

// Fill in place (float tensors; on Device::CUDA by a kernel, with the CPU's numbers).
void uniform_(Tensor& t, double low, double high, Generator& gen);
void normal_(Tensor& t, double mean, double stddev, Generator& gen);  // Box-Muller

// PyTorch's default initialisations (torch.nn.init), fan computed as PyTorch's
// _calculate_fan_in_and_fan_out: fan_in = size(1) * receptive field, fan_out = size(0) * rf.
int64_t fan_in(const Tensor& weight);
int64_t fan_out(const Tensor& weight);
// kaiming_uniform_(w, a): bound = gain * sqrt(3 / fan), gain = sqrt(2 / (1 + a^2)).
// nn.Conv2d / nn.Linear default: a = sqrt(5), fan_in -> bound = 1 / sqrt(fan_in).
void kaiming_uniform_(Tensor& w, double a, bool use_fan_in, Generator& gen);
// kaiming_normal_(w, mode, relu): std = sqrt(2 / fan) (torchvision ResNet: fan_out, relu).
void kaiming_normal_(Tensor& w, bool use_fan_in, Generator& gen);

}  // namespace xgd
