// The CUDA backend's registration with the engine: the runtime as Device::CUDA's memory and
// copies, and one kernel table per op family for the ops' dispatch. This file is the bridge
// kernels/cuda -> engine (the engine itself never references CUDA: it builds without it).
// A new op family adds its table in kernels/cuda/tables.h.
#include "engine/ops/op_util.h"
#include "engine/tensor.h"
#include "kernels/cuda/runtime.h"
#include "kernels/cuda/tables.h"  // the op families' kernel tables

namespace xgd::cuda {

namespace {
struct CudaRuntime final : DeviceRuntime {
  void* allocate(size_t bytes) override { return cuda::allocate(bytes); }
  void deallocate(void* ptr, size_t bytes) override { cuda::deallocate(ptr, bytes); }
  void copy_from_host(void* dst, const void* src, size_t bytes) override {
    cuda::copy_from_host(dst, src, bytes);
  }
  void copy_to_host(void* dst, const void* src, size_t bytes) override {
    cuda::copy_to_host(dst, src, bytes);
  }
  void copy_within(void* dst, const void* src, size_t bytes) override {
    cuda::copy_within(dst, src, bytes);
  }
};
}  // namespace

void ensure_registered() {
  static const bool done = [] {
    static CudaRuntime runtime;
    register_runtime(Device::CUDA, &runtime);
    ops::register_cuda_stream(&cuda::stream);
    kernels::cuda::register_kernel_tables();
    return true;
  }();
  (void)done;
}

namespace {
// At start-up, when this object file is linked (whole-archive or by a call of
// ensure_registered): registration only, no GPU work.
const bool registered_at_startup = (ensure_registered(), true);
}  // namespace

}  // namespace xgd::cuda
