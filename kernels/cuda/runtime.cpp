// CUDA runtime: device start-up, the stream, the caching allocator, copies (runtime.h).
#include "kernels/cuda/runtime.h"

#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <algorithm>
#include <bit>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/probe.h"

namespace xgd::cuda {

namespace {

std::string error_text(cudaError_t e) {
  std::string s = detail::concat(cudaGetErrorName(e), ": ", cudaGetErrorString(e));
  if (const char* h = cuda_detail::hint(static_cast<int>(e))) s += detail::concat(" -- ", h);
  return s;
}

size_t cudnn_version() {
  // Looked up at run time: the engine does not link cuDNN (it is the tests' reference only).
  for (const char* lib : {"libcudnn.so.9", "libcudnn.so"}) {
    if (void* h = dlopen(lib, RTLD_LAZY | RTLD_LOCAL)) {
      if (auto fn = reinterpret_cast<size_t (*)()>(dlsym(h, "cudnnGetVersion"))) return fn();
    }
  }
  return 0;
}

struct State {
  DeviceInfo info;
  cudaStream_t stream = nullptr;
};

State* start() {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear it
    XGD_FAIL("cuda: no usable CUDA device (cudaGetDeviceCount: ", error_text(e), ")");
  }
  XGD_CHECK(count > 0, "cuda: no CUDA device found (cudaGetDeviceCount returned 0)");
  auto* s = new State;  // never freed: tensors may be released during static destruction
  DeviceInfo& d = s->info;
  d.device = 0;
  XGD_CUDA_CHECK(cudaSetDevice(d.device));
  cudaDeviceProp prop{};
  XGD_CUDA_CHECK(cudaGetDeviceProperties(&prop, d.device));
  d.name = prop.name;
  d.cc_major = prop.major;
  d.cc_minor = prop.minor;
  d.sm_count = prop.multiProcessorCount;
  d.total_memory = prop.totalGlobalMem;
  XGD_CUDA_CHECK(cudaRuntimeGetVersion(&d.runtime_version));
  XGD_CUDA_CHECK(cudaDriverGetVersion(&d.driver_version));
  d.cudnn_version = cudnn_version();
  d.built_archs = XGD_CUDA_ARCHS_STR;
  XGD_CUDA_CHECK(cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking));
  int probe = kernels::cuda::probe_kernel_image(s->stream);
  if (probe != cudaSuccess) {
    cudaGetLastError();
    if (probe == cudaErrorNoKernelImageForDevice || probe == cudaErrorInvalidDeviceFunction) {
      XGD_FAIL("cuda: this binary has no kernels for ", d.name, " (sm_", d.cc_major, d.cc_minor,
               "): it was built for XGD_CUDA_ARCHS=", d.built_archs,
               "; reconfigure with -DXGD_CUDA_ARCHS=", d.cc_major, d.cc_minor);
    }
    XGD_FAIL("cuda: probe kernel launch failed on ", d.name, ": ",
             error_text(static_cast<cudaError_t>(probe)));
  }
  XGD_CUDA_CHECK(cudaStreamSynchronize(s->stream));
  return s;
}

std::mutex start_mutex;
State* started = nullptr;

State& state() {
  std::lock_guard<std::mutex> lock(start_mutex);
  if (!started) started = start();  // a failed start throws and is retried on the next call
  return *started;
}

std::string version_str(int v) {
  return detail::concat(v / 1000, ".", (v % 1000) / 10);
}

// ---------------------------------------------------------------- caching allocator
class CachingAllocator {
 public:
  void* allocate(size_t bytes) {
    const size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.allocations;
    void* p = nullptr;
    auto it = free_.find(cls);
    if (it != free_.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
    } else {
      p = device_malloc(bytes, cls);
    }
    stats_.in_use += cls;
    stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
    return p;
  }

  void deallocate(void* p, size_t bytes) {
    if (!p) return;
    const size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    free_[cls].push_back(p);
    stats_.in_use -= cls;
  }

  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_in_use = stats_.in_use;
    stats_.peak_reserved = stats_.reserved;
  }
  void empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    release_cached();
  }

 private:
  void* device_malloc(size_t bytes, size_t cls) {
    state();  // start the device (clear errors) before the first cudaMalloc
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, cls);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      release_cached();  // other size classes may free enough
      e = cudaMalloc(&p, cls);
    }
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      cudaGetLastError();
      constexpr double MiB = 1024.0 * 1024.0;
      XGD_FAIL("cuda: out of memory allocating ", bytes, " bytes (", bytes / MiB, " MiB) on ",
               state().info.name, ": ", stats_.in_use / MiB, " MiB in use by tensors, ",
               free_b / MiB, " MiB free of ", total_b / MiB, " MiB");
    }
    XGD_CUDA_CHECK(e);
    ++stats_.device_mallocs;
    stats_.reserved += cls;
    stats_.peak_reserved = std::max(stats_.peak_reserved, stats_.reserved);
    return p;
  }

  void release_cached() {
    for (auto& [cls, blocks] : free_) {
      for (void* p : blocks) {
        XGD_CUDA_CHECK(cudaFree(p));  // synchronises the device: no kernel still uses p
        stats_.reserved -= cls;
      }
      blocks.clear();
    }
  }

  std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;  // size class -> free blocks
  AllocatorStats stats_;
};

CachingAllocator& allocator() {
  static auto* a = new CachingAllocator;  // never destroyed: static tensors free into it late
  return *a;
}

}  // namespace

// ---------------------------------------------------------------- device
bool device_available(std::string* why) {
  try {
    state();
    return true;
  } catch (const Error& e) {
    if (why) *why = e.what();
    return false;
  }
}

const DeviceInfo& device_info() {
  return state().info;
}

std::string describe() {
  const DeviceInfo& d = device_info();
  std::ostringstream o;
  o << "CUDA runtime: " << version_str(d.runtime_version) << "\n"
    << "CUDA driver: " << version_str(d.driver_version) << "\n"
    << "cuDNN: "
    << (d.cudnn_version ? detail::concat(d.cudnn_version / 10000, ".",
                                         (d.cudnn_version / 100) % 100, ".", d.cudnn_version % 100)
                        : std::string("not found"))
    << "\n"
    << "GPU " << d.device << ": " << d.name << ", sm_" << d.cc_major << d.cc_minor << ", "
    << d.sm_count << " SMs, " << d.total_memory / (1024 * 1024) << " MiB\n"
    << "built for: XGD_CUDA_ARCHS=" << d.built_archs << "\n";
  return o.str();
}

cudaStream_t stream() {
  return state().stream;
}

void synchronize() {
  XGD_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

// ---------------------------------------------------------------- allocator
size_t size_class(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = 1 << 20;
  if (bytes <= kLarge) return std::max(kSmall, (bytes + kSmall - 1) / kSmall * kSmall);
  const size_t step = std::bit_floor(bytes) / 4;  // 2^k, 1.25·2^k, 1.5·2^k, 1.75·2^k, 2^(k+1)
  return (bytes + step - 1) / step * step;
}
void* allocate(size_t bytes) {
  return allocator().allocate(bytes);
}
void deallocate(void* ptr, size_t bytes) {
  allocator().deallocate(ptr, bytes);
}
AllocatorStats allocator_stats() {
  return allocator().stats();
}
void reset_peak_stats() {
  allocator().reset_peak();
}
void empty_cache() {
  allocator().empty_cache();
}

// ---------------------------------------------------------------- copies
void copy_from_host(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  XGD_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
}
void copy_to_host(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  XGD_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  synchronize();
}
void copy_within(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  XGD_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
}

}  // namespace xgd::cuda
