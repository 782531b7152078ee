#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <unistd.h>
#include <filesystem>
#include <fstream>

#include "engine/io/safetensors.h"

namespace xgd {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("xgd_st_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

void write_raw(const std::string& path, const std::string& header, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
}

std::string expect_error(const std::string& path) {
  try {
    io::load_safetensors(path);
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find(path), std::string::npos) << "error must name the file: " << m;
    return m;
  }
  ADD_FAILURE() << "expected an error for " << path;
  return "";
}

TEST(Safetensors, RoundTripKeepsDtypeShapeValuesAndMetadata) {
  std::string path = temp_path("rt.safetensors");
  Tensor f = Tensor::from_vector({1.5, -2, 3.25, 0}, {2, 2});
  Tensor d = Tensor::from_vector({1e-300, 2}, {2}, DType::F64);
  Tensor i = Tensor::from_vector({7}, {}, DType::I64);
  Tensor u = Tensor::from_vector({0, 255, 3}, {3}, DType::U8);
  io::save_safetensors(path, {{"w", f}, {"d", d}, {"n", i}, {"m", u}}, {{"step", "12"}});
  auto file = io::load_safetensors(path);
  EXPECT_EQ(file.metadata.at("step"), "12");
  EXPECT_EQ(file.tensors.at("w").to_vector(), f.to_vector());
  EXPECT_EQ(file.tensors.at("d").dtype(), DType::F64);
  EXPECT_EQ(file.tensors.at("d").to_vector(), d.to_vector());
  EXPECT_EQ(file.tensors.at("n").shape(), Shape{});
  EXPECT_EQ(file.tensors.at("n").item(), 7);
  EXPECT_EQ(file.tensors.at("m").to_vector(), u.to_vector());
  EXPECT_EQ(file.order.size(), 4u);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  fs::remove(path);
}

TEST(Safetensors, ReadsHalfAndBfloat16AsFloat32) {
  std::string path = temp_path("half.safetensors");
  // F16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 2^-24 = 0x0001.
  // BF16: 1.0 = 0x3f80, -0.5 = 0xbf00.
  uint16_t h[4] = {0x3c00, 0xc000, 0x7bff, 0x0001}, b[2] = {0x3f80, 0xbf00};
  std::string data(reinterpret_cast<char*>(h), 8);
  data += std::string(reinterpret_cast<char*>(b), 4);
  write_raw(path,
            R"({"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},)"
            R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}})",
            data);
  auto file = io::load_safetensors(path);
  EXPECT_EQ(file.tensors.at("h").dtype(), DType::F32);
  EXPECT_EQ(file.tensors.at("h").to_vector(),
            (std::vector<double>{1.0, -2.0, 65504.0, std::ldexp(1.0, -24)}));
  EXPECT_EQ(file.tensors.at("b").to_vector(), (std::vector<double>{1.0, -0.5}));
  fs::remove(path);
}

TEST(Safetensors, BadFilesGiveClearErrors) {
  std::string path = temp_path("bad.safetensors");
  EXPECT_NE(expect_error(path + ".missing").find("cannot open"), std::string::npos);
  {
    std::ofstream(path, std::ios::binary) << "abc";
  }
  EXPECT_NE(expect_error(path).find("truncated"), std::string::npos);
  {
    std::ofstream out(path, std::ios::binary);
    uint64_t n = 1ull << 40;
    out.write(reinterpret_cast<const char*>(&n), 8);
  }
  EXPECT_NE(expect_error(path).find("exceeds"), std::string::npos);
  write_raw(path, "{not json", "");
  EXPECT_NE(expect_error(path).find("malformed"), std::string::npos);
  write_raw(path, R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", "12345678");
  EXPECT_NE(expect_error(path).find("truncated"), std::string::npos);
  write_raw(path, R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "12345678");
  EXPECT_NE(expect_error(path).find("needs"), std::string::npos);
  write_raw(path, R"({"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}})", "12345678");
  EXPECT_NE(expect_error(path).find("unsupported dtype"), std::string::npos);
  write_raw(path, R"({"w":{"dtype":"F32","shape":"x","data_offsets":[0,4]}})", "1234");
  EXPECT_NE(expect_error(path).find("malformed"), std::string::npos);
  write_raw(path, R"([1,2])", "");
  EXPECT_NE(expect_error(path).find("not a JSON object"), std::string::npos);
  fs::remove(path);
}

}  // namespace
}  // namespace xgd
