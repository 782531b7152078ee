// smp's exported weights file (safetensors.torch.save_file(model.state_dict()), the way users
// bring teachers from PyTorch), rebuilt byte for byte from the header stored in a models__*
// fixture and this engine's name-filled tensors (models/fill.h): the fixtures need not hold
// the weights, and a CRC-32 equal to smp's file's proves every name, dtype, shape, offset and
// weight byte is smp's.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/fill.h"
#include "models/registry.h"
#include "tests/support/fixture.h"

namespace xgd::models::test_support {

// zlib's CRC-32 (Python's zlib.crc32).
inline uint32_t crc32(const std::vector<uint8_t>& data) {
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  uint32_t crc = 0xFFFFFFFFu;
  for (uint8_t b : data) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

// The bytes of smp's file for fixture `fx` of model `name` (3 classes, name-filled weights).
// Fails the calling test (ADD_FAILURE) when a header entry has no tensor of that dtype/shape.
inline std::vector<uint8_t> rebuild_smp_export(const test::Fixture& fx, const std::string& name) {
  const std::string header = nlohmann::json::parse(fx.metadata.at("smp_header"));
  auto model = create_model(name, {.classes = 3, .init = false});
  fill_deterministic(*model);
  std::map<std::string, Tensor> own;
  for (auto& [n, t] : model->state_dict()) own[n] = t;
  std::vector<uint8_t> file(8 + header.size());
  uint64_t n = header.size();
  std::memcpy(file.data(), &n, 8);  // little-endian host
  std::memcpy(file.data() + 8, header.data(), header.size());
  const size_t data_start = file.size();
  file.resize(static_cast<size_t>(fx.number("smp_size")));
  size_t entries = 0;
  const nlohmann::json entries_json = nlohmann::json::parse(header);
  for (auto& [key, e] : entries_json.items()) {
    if (key == "__metadata__") continue;
    auto it = own.find(key);
    if (it == own.end()) {
      ADD_FAILURE() << key << " in smp's file is not in the model";
      continue;
    }
    const Tensor& t = it->second;
    std::string dtype = e["dtype"];
    size_t begin = e["data_offsets"][0], end = e["data_offsets"][1];
    if (dtype != (t.dtype() == DType::I64 ? "I64" : "F32") ||
        e["shape"].get<Shape>() != t.shape() || end - begin != t.nbytes()) {
      ADD_FAILURE() << key << ": smp has " << dtype << " " << e["shape"].dump() << ", the model "
                    << t.str();
      continue;
    }
    std::memcpy(file.data() + data_start + begin, t.raw_data(), t.nbytes());
    ++entries;
  }
  EXPECT_EQ(entries, own.size()) << "tensors of the model missing from smp's file";
  return file;
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

}  // namespace xgd::models::test_support
