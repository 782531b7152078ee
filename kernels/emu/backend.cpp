// kernels/emu/backend.h: host memory as Device::CUDA, the emulated kernel tables registered.
#include "kernels/emu/backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "engine/ops/op_util.h"
#include "engine/tensor.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/conv_depthwise.h"
#include "kernels/cuda/pointwise.h"  // XGD_EMU: the emulated launchers
#include "kernels/cuda/pool.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/pointwise.h"  // XGD_EMU: the emulated launchers
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/interpolate.h"
#include "kernels/cuda/pointwise.h"  // XGD_EMU: the emulated launchers
#include "kernels/cuda/shape_ops.h"
#include "kernels/cuda/tensor.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/cam.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/random.h"
#include "kernels/cuda/softmax.h"

namespace xgd::emu {

namespace {
std::mutex stats_mutex;
MemoryStats stats;

struct EmuRuntime final : DeviceRuntime {
  void* allocate(size_t bytes) override {
    void* p = std::malloc(bytes ? bytes : 1);
    XGD_CHECK(p != nullptr, "emu: out of host memory allocating ", bytes, " bytes");
    std::memset(p, 0xFF, bytes);  // as cudaMalloc'd memory: garbage, here NaN
    std::lock_guard<std::mutex> lock(stats_mutex);
    stats.in_use += bytes;
    stats.peak = std::max(stats.peak, stats.in_use);
    ++stats.allocations;
    return p;
  }
  void deallocate(void* ptr, size_t bytes) override {
    std::free(ptr);
    std::lock_guard<std::mutex> lock(stats_mutex);
    stats.in_use -= bytes;
  }
  void copy_from_host(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  void copy_to_host(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  void copy_within(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memmove(dst, src, bytes);
  }
};
}  // namespace

void install_as_cuda_backend() {
  static EmuRuntime runtime;
  register_runtime(Device::CUDA, &runtime);
  ops::register_cuda_stream(nullptr);  // launches are synchronous: any stream will do
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
}

MemoryStats memory_stats() {
  std::lock_guard<std::mutex> lock(stats_mutex);
  return stats;
}

}  // namespace xgd::emu
