#include "tests/emu/device_test.h"

#if defined(XGD_GPU_TEST)
#include "kernels/cuda/runtime.h"
#else
#include "kernels/emu/backend.h"
#endif

namespace xgd::test {

#if defined(XGD_GPU_TEST)
bool device_present(std::string* why) {
  return cuda::device_available(why);
}
// Registered at start-up by linking xgd::cuda_backend (whole archive): no call here, so that
// CudaRuntime.BackendRegistersItselfAtStartUp sees a registration the linker dropped.
void use_cuda_backend() {}
#else
bool device_present(std::string*) {
  return true;
}
void use_cuda_backend() {
  emu::install_as_cuda_backend();
}
#endif

}  // namespace xgd::test
