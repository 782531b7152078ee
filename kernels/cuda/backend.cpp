// The CUDA backend's registration with the engine: the runtime as Device::CUDA's memory and
// copies, and one kernel table per op family for the ops' dispatch. This file is the bridge
// kernels/cuda -> engine (the engine itself never references CUDA: it builds without it).
// A new op family adds its table here with one register_cuda_kernels line.
#include "engine/ops/op_util.h"
#include "engine/tensor.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/conv_depthwise.h"
#include "kernels/cuda/pointwise.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/pointwise.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/interpolate.h"
#include "kernels/cuda/pointwise.h"
#include "kernels/cuda/shape_ops.h"
#include "kernels/cuda/tensor.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/cam.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/random.h"
#include "kernels/cuda/softmax.h"
#include "kernels/cuda/runtime.h"

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
    ops::register_cuda_kernels(&kernels::cuda::pointwise_table());
    ops::register_cuda_kernels(&kernels::cuda::conv_table());
    ops::register_cuda_kernels(&kernels::cuda::depthwise_table());
    ops::register_cuda_kernels(&kernels::cuda::pool_table());
    ops::register_cuda_kernels(&kernels::cuda::reduce_table());
    ops::register_cuda_kernels(&kernels::cuda::norm_table());
    ops::register_cuda_kernels(&kernels::cuda::linear_table());
    ops::register_cuda_kernels(&kernels::cuda::interpolate_table());
    ops::register_cuda_kernels(&kernels::cuda::shape_ops_table());
    ops::register_cuda_kernels(&kernels::cuda::tensor_table());
    ops::register_cuda_kernels(&kernels::cuda::optim_table());
    ops::register_cuda_kernels(&kernels::cuda::cam_table());
    ops::register_cuda_kernels(&kernels::cuda::softmax_table());
    ops::register_cuda_kernels(&kernels::cuda::loss_table());
    ops::register_cuda_kernels(&kernels::cuda::dropout_table());
    ops::register_cuda_kernels(&kernels::cuda::random_table());
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
