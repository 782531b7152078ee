// kernels/emu/backend.h: host memory as Device::CUDA, the emulated kernel tables registered.
#include "kernels/emu/backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "engine/ops/op_util.h"
#include "engine/tensor.h"
#include "kernels/cuda/tables.h"  // the op families' kernel tables

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
  kernels::cuda::register_kernel_tables();
}

MemoryStats memory_stats() {
  std::lock_guard<std::mutex> lock(stats_mutex);
  return stats;
}

}  // namespace xgd::emu
