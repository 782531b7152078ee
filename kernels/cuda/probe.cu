// An empty kernel whose launch tells whether the binary has an image for this GPU.
#include "kernels/cuda/device.h"
// (device.h first)
#include "kernels/cuda/probe.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {
__global__ void probe_kernel(int* flag) {
  if (flag) *flag = 1;
}
}  // namespace

int probe_kernel_image(cudaStream_t stream) {
  XGD_LAUNCH(probe_kernel, 1, 1, 0, stream)(nullptr);
  return static_cast<int>(cudaGetLastError());
}
XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
