#include "engine/io/safetensors.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace xgd::io {

namespace {

// The format caps the header at 100 MB; anything larger is a corrupt length field.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

static_assert(std::endian::native == std::endian::little, "safetensors IO assumes little-endian");

float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      bits = sign | ((127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}
float bf16_to_float(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

struct StoredType {
  DType dtype;      // engine dtype after reading
  size_t file_size; // bytes per element in the file
};

StoredType stored_type(const std::string& name, const std::string& path,
                       const std::string& tensor) {
  if (name == "F32") return {DType::F32, 4};
  if (name == "F64") return {DType::F64, 8};
  if (name == "I64") return {DType::I64, 8};
  if (name == "U8") return {DType::U8, 1};
  if (name == "F16" || name == "BF16") return {DType::F32, 2};
  XGD_FAIL(path, ": tensor '", tensor, "' has unsupported dtype ", name,
           " (supported: F32, F64, F16, BF16, I64, U8)");
}

const char* stored_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
  }
  return "?";
}

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  XGD_CHECK(in.good(), path, ": cannot open safetensors file");
  in.seekg(0, std::ios::end);
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  XGD_CHECK(file_size >= 8, path, ": truncated safetensors file (", file_size,
            " bytes, no header length)");
  uint64_t header_len = 0;
  in.read(reinterpret_cast<char*>(&header_len), 8);
  XGD_CHECK(header_len <= kMaxHeaderBytes, path, ": header length ", header_len,
            " exceeds the 100 MB limit (corrupt file?)");
  XGD_CHECK(8 + header_len <= file_size, path, ": truncated: header says ", header_len,
            " bytes but the file has ", file_size);
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const std::exception& e) {
    XGD_FAIL(path, ": malformed safetensors header JSON: ", e.what());
  }
  XGD_CHECK(j.is_object(), path, ": safetensors header is not a JSON object");
  const uint64_t data_size = file_size - 8 - header_len;

  SafetensorsFile out;
  std::vector<std::pair<uint64_t, std::string>> by_offset;
  for (auto& [name, entry] : j.items()) {
    if (name == "__metadata__") {
      XGD_CHECK(entry.is_object(), path, ": __metadata__ is not an object");
      for (auto& [k, v] : entry.items()) {
        XGD_CHECK(v.is_string(), path, ": metadata value of '", k, "' is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    try {
      XGD_CHECK(entry.is_object() && entry.contains("dtype") && entry.contains("shape") &&
                    entry.contains("data_offsets"),
                path, ": tensor '", name, "' lacks dtype, shape or data_offsets");
      StoredType st = stored_type(entry.at("dtype").get<std::string>(), path, name);
      Shape shape = entry.at("shape").get<Shape>();
      for (int64_t d : shape) XGD_CHECK(d >= 0, path, ": tensor '", name, "' has a negative dim");
      auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
      XGD_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1], path, ": tensor '", name,
                "' has bad data_offsets");
      XGD_CHECK(offsets[1] <= data_size, path, ": truncated: tensor '", name, "' ends at byte ",
                offsets[1], " of a ", data_size, "-byte data section");
      const uint64_t n = static_cast<uint64_t>(shape_numel(shape));
      XGD_CHECK(offsets[1] - offsets[0] == n * st.file_size, path, ": tensor '", name, "' has ",
                offsets[1] - offsets[0], " bytes but shape ", shape_str(shape), " needs ",
                n * st.file_size);
      std::vector<char> raw(offsets[1] - offsets[0]);
      in.seekg(static_cast<std::streamoff>(8 + header_len + offsets[0]));
      in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
      XGD_CHECK(in.good() || raw.empty(), path, ": read error in tensor '", name, "'");
      Tensor t = Tensor::empty(shape, st.dtype);
      const std::string type = entry.at("dtype").get<std::string>();
      if (type == "F16" || type == "BF16") {
        float* dst = t.data<float>();
        for (uint64_t i = 0; i < n; ++i) {
          uint16_t h;
          std::memcpy(&h, raw.data() + 2 * i, 2);
          dst[i] = type == "F16" ? half_to_float(h) : bf16_to_float(h);
        }
      } else if (!raw.empty()) {
        std::memcpy(t.raw_data(), raw.data(), raw.size());
      }
      out.tensors[name] = t;
      by_offset.push_back({offsets[0], name});
    } catch (const nlohmann::json::exception& e) {
      XGD_FAIL(path, ": malformed entry for tensor '", name, "': ", e.what());
    }
  }
  std::sort(by_offset.begin(), by_offset.end());
  for (auto& [off, name] : by_offset) out.order.push_back(name);
  return out;
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> host;
  uint64_t offset = 0;
  for (auto& [name, t] : tensors) {
    XGD_CHECK(t.defined(), path, ": tensor '", name, "' is undefined");
    Tensor h = t.device() == Device::CPU ? t : t.to(Device::CPU);
    host.push_back(h);
    header[name] = {{"dtype", stored_name(h.dtype())},
                    {"shape", h.shape()},
                    {"data_offsets", {offset, offset + h.nbytes()}}};
    offset += h.nbytes();
  }
  std::string text = header.dump();
  while (text.size() % 8) text += ' ';  // data section 8-byte aligned, as the reference writer
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    XGD_CHECK(out.good(), path, ": cannot write (opening ", tmp, ")");
    uint64_t len = text.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const Tensor& h : host)
      out.write(static_cast<const char*>(h.raw_data()), static_cast<std::streamsize>(h.nbytes()));
    out.flush();
    XGD_CHECK(out.good(), path, ": write failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  XGD_CHECK(!ec, path, ": cannot move ", tmp, " into place: ", ec.message());
}

}  // namespace xgd::io
