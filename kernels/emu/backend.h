// The emulator as the engine's CUDA device, for tests: after install_as_cuda_backend(),
// Device::CUDA tensors live in host memory (fresh allocations filled with NaN bytes) and every op
// family's CUDA kernel table runs the emulated kernels, so the engine's whole CUDA path
// (dispatch, autograd on device, copies) is exercised without a GPU.
#pragma once
#include <cstddef>

namespace xgd::emu {

void install_as_cuda_backend();  // idempotent; overrides a real CUDA backend in this process

struct MemoryStats {
  size_t in_use = 0;  // bytes in live Device::CUDA storages
  size_t peak = 0;
  size_t allocations = 0;
};
MemoryStats memory_stats();

}  // namespace xgd::emu
