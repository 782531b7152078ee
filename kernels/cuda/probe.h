// Whether this binary holds kernels the current GPU can run (used by the runtime at start-up
// to turn "no kernel image" into a clear error naming the architectures built).
#pragma once
#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
// Launches an empty kernel on `stream`; returns the launch's cudaError_t as an int (0: fine,
// 209: cudaErrorNoKernelImageForDevice, ...).
int probe_kernel_image(cudaStream_t stream);
XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
