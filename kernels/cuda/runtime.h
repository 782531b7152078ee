// The CUDA runtime of the engine (built when XGD_HAVE_CUDA): device start-up with clear errors,
// one stream for every kernel and copy, a caching device allocator, and device information for
// `xgd_info --device`. Plain C++ (no CUDA headers needed by includers).
//
// Start-up is lazy: nothing touches the GPU until the first allocation, stream() or
// device_info(), so a CPU-only run of a CUDA build never needs a device.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/cuda/api.h"

namespace xgd::cuda {

struct DeviceInfo {
  int device = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  size_t total_memory = 0;
  int runtime_version = 0;   // CUDART_VERSION style: 13000 = 13.0
  int driver_version = 0;    // highest CUDA version the driver supports
  size_t cudnn_version = 0;  // 0 when libcudnn is not found (looked up with dlopen)
  std::string built_archs;   // XGD_CUDA_ARCHS of this build
};

// True when a CUDA device can be used; otherwise false and *why says why. Never throws.
bool device_available(std::string* why = nullptr);

// Starts the runtime on first use: device 0, one non-blocking stream, a probe launch that
// turns a GPU architecture missing from the binary into an error naming XGD_CUDA_ARCHS.
// Throws xgd::Error when there is no device, the driver is too old, or the arch is not built.
const DeviceInfo& device_info();
std::string describe();  // lines for `xgd_info --device`: CUDA, driver, cuDNN, GPU

cudaStream_t stream();  // the one stream all kernels and copies are enqueued on
void synchronize();     // waits for the stream (only where a value is read on the host)

// ---- caching allocator. Blocks are rounded to size classes (512 B steps up to 1 MiB, then
// quarter powers of two: at most 25% slack) and kept on per-class free lists when freed, so a
// steady-state training step calls cudaMalloc no more. Safe to reuse at once: every kernel runs
// on the one stream, in order. On cudaMalloc failure the cache is released and the call retried
// before an out-of-memory error naming the size asked.
void* allocate(size_t bytes);
void deallocate(void* ptr, size_t bytes);
size_t size_class(size_t bytes);
struct AllocatorStats {
  size_t in_use = 0;       // bytes in live blocks (size classes)
  size_t peak_in_use = 0;  // high-water mark of in_use since the last reset
  size_t reserved = 0;     // bytes obtained from cudaMalloc and not yet released
  size_t peak_reserved = 0;
  uint64_t allocations = 0;     // calls of allocate()
  uint64_t device_mallocs = 0;  // of those, served by cudaMalloc (the rest from the cache)
};
AllocatorStats allocator_stats();
void reset_peak_stats();
void empty_cache();  // returns the cached (free) blocks to the driver

// ---- copies on the stream. Host→device returns once the host buffer has been staged (it may be
// reused at once); device→host waits for the data (a value is being read).
void copy_from_host(void* device_dst, const void* host_src, size_t bytes);
void copy_to_host(void* host_dst, const void* device_src, size_t bytes);
void copy_within(void* device_dst, const void* device_src, size_t bytes);

// Registers this runtime as the engine's Device::CUDA and the kernel tables of every op family
// with the engine's dispatch (engine/ops/op_util.h). Idempotent; touches no GPU. Runs at
// start-up when kernels/cuda/backend.cpp is linked; a program may also call it explicitly.
void ensure_registered();

}  // namespace xgd::cuda
