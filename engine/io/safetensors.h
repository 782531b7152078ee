// safetensors files (https://github.com/huggingface/safetensors format): 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
// then the raw little-endian data. This is how weights move between PyTorch/smp and the engine.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace xgd::io {

struct SafetensorsFile {
  // Tensors by name, on the CPU. F32/F64/I64/U8 keep their dtype; F16 and BF16 are converted to
  // float32 on reading (the engine has no half types yet).
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
  std::vector<std::string> order;  // names in file order (data offset order)
};

// Throws xgd::Error naming `path` for a missing, truncated, oversized-header or malformed file.
SafetensorsFile load_safetensors(const std::string& path);

// Writes tensors (any device; copied to the host) with their dtype. `order` is optional
// (written in name order otherwise). Written to a temporary file and renamed: atomic.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace xgd::io
