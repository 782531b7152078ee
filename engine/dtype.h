// Element types and devices. float32 trains; float64 exists on the CPU for gradient checks;
// int64 holds labels and BN's num_batches_tracked; uint8 holds masks and images.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/error.h"

namespace xgd {

enum class DType : uint8_t { F32, F64, I64, U8 };
enum class Device : uint8_t { CPU, CUDA };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    case DType::I64: return "int64";
    case DType::U8: return "uint8";
  }
  return "?";
}
inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }
inline bool is_floating(DType t) { return t == DType::F32 || t == DType::F64; }

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<double>() { return DType::F64; }
template <> constexpr DType dtype_of<int64_t>() { return DType::I64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::U8; }

// Calls fn.template operator()<T>() with T = float or double; other dtypes are an error.
// Usage: dispatch_float(x.dtype(), "relu", [&]<class T>() { ... });
template <class Fn>
decltype(auto) dispatch_float(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::F32: return fn.template operator()<float>();
    case DType::F64: return fn.template operator()<double>();
    default: XGD_FAIL(op, ": expected a float32 or float64 tensor, got ", dtype_name(t));
  }
}

}  // namespace xgd
