// Launch geometry shared by the kernels/cuda launchers (include after kernels/cuda/device.h).
#pragma once
#include <algorithm>
#include <cstdint>

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN

constexpr unsigned kBlock = 256;  // threads per block of the elementwise kernels

// Blocks for n elements at `block` threads each, capped at max_grid_blocks() (api.h); the
// kernels' grid-stride loops cover the rest.
inline unsigned grid_1d(int64_t n, unsigned block = kBlock) {
  int64_t blocks = (n + block - 1) / block;
  return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, max_grid_blocks()));
}

// Index of this thread in a 1-D grid and the grid's stride, as 64-bit integers.
XGD_DEVICE int64_t global_thread() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
XGD_DEVICE int64_t grid_stride() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
