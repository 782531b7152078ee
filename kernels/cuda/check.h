// XGD_CUDA_CHECK(call): every CUDA runtime call is checked; a failure throws xgd::Error naming
// the file, line, call, the error's name and text, and a hint for the errors users can fix
// (no device, old driver, out of memory, a GPU architecture the binary was not built for).
// Include after <cuda_runtime_api.h> or kernels/cuda/device.h (which provide cudaError_t).
#pragma once
#include <string>

#include "engine/error.h"

#ifndef XGD_CUDA_ARCHS_STR
#define XGD_CUDA_ARCHS_STR "unknown"
#endif

namespace xgd::cuda_detail {

inline const char* hint(int code) {
  switch (code) {
    case 100:  // cudaErrorNoDevice
      return "no CUDA device is visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)";
    case 35:  // cudaErrorInsufficientDriver
      return "the NVIDIA driver is missing or older than this CUDA runtime";
    case 2:  // cudaErrorMemoryAllocation
      return "the GPU is out of memory";
    case 209:  // cudaErrorNoKernelImageForDevice
      return "this binary has no kernels for this GPU's architecture: it was built for "
             "XGD_CUDA_ARCHS=" XGD_CUDA_ARCHS_STR
             "; reconfigure with -DXGD_CUDA_ARCHS=<the GPU's sm, e.g. 90>";
    case 222:  // cudaErrorUnsupportedPtxVersion
      return "the driver is older than the toolkit that built the PTX: update the driver or "
             "build real SASS for this GPU with -DXGD_CUDA_ARCHS";
    default:
      return nullptr;
  }
}

[[noreturn]] inline void fail(int code, const char* name, const char* text, const char* call,
                              const char* file, int line) {
  const char* h = hint(code);
  XGD_FAIL("CUDA error at ", file, ":", line, ": ", call, " failed: ", name, " (", code,
           "): ", text, h ? std::string(" -- ") + h : std::string());
}

}  // namespace xgd::cuda_detail

#define XGD_CUDA_CHECK(call)                                                                     \
  do {                                                                                           \
    cudaError_t xgd_cuda_err_ = (call);                                                          \
    if (xgd_cuda_err_ != cudaSuccess)                                                            \
      ::xgd::cuda_detail::fail(static_cast<int>(xgd_cuda_err_), cudaGetErrorName(xgd_cuda_err_), \
                               cudaGetErrorString(xgd_cuda_err_), #call, __FILE__, __LINE__);    \
  } while (0)
