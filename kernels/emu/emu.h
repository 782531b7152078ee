// CPU execution of the CUDA execution model, so the kernel sources of kernels/cuda/*.cu run
// (and are tested, also under AddressSanitizer and ThreadSanitizer) on machines without a GPU.
// Kernel sources include kernels/cuda/device.h, which includes this header when the host
// compiler builds them (XGD_EMU); see kernels/emu/README.md for the design and its limits.
//
// The model, as the hardware defines it and as far as a correct kernel can observe:
//  - a launch runs its blocks one at a time; each CUDA thread of a block runs on its own pooled
//    OS thread, so threads of a block really are concurrent (races are real, TSan sees them);
//  - __syncthreads() is a std::barrier over the block; a thread that returns early leaves the
//    barrier (arrive_and_drop), as exited threads stop counting on the GPU;
//  - __shared__ is `static`: one instance per kernel, correct because blocks never overlap;
//  - dynamic shared memory (XGD_DYN_SHARED) is allocated per block at the launch's exact size
//    (ASan flags any overflow at the kernel's line) and filled with 0xFF bytes (NaN), so a read
//    before a write shows up in the results;
//  - warps are 32 consecutive linear thread ids; a warp op writes the lane's slot, waits at the
//    warp's barrier, reads, and waits again. Warp ops must be reached by every live lane of the
//    warp (convergent code, as all kernels here are written); the mask must hold the caller;
//  - atomics are std::atomic_ref (relaxed, as CUDA's);
//  - a block that makes no progress for XGD_EMU_TIMEOUT_S seconds (default 300) aborts with
//    the kernel's name: a __syncthreads or warp op that not every thread reaches.
#pragma once
#include <math.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "kernels/cuda/api.h"

// ---- keywords
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __shared__ static
#define __constant__
#define __launch_bounds__(...)
#define __align__(n) alignas(n)

namespace xgd::emu {

// Names a kernel sees unqualified (CUDA puts them in the global namespace); brought in by the
// using-directive at the end, so no global symbol can collide with the real CUDA runtime.
namespace api {
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};
}  // namespace api

namespace detail {
struct Block;
struct Warp;
// The executing CUDA thread's coordinates (thread-local: one OS thread per CUDA thread).
struct ThreadCtx {
  api::uint3 thread_idx{0, 0, 0};
  api::uint3 block_idx{0, 0, 0};
  api::dim3 block_dim{};
  api::dim3 grid_dim{};
  Block* block = nullptr;
  Warp* warp = nullptr;
  unsigned lane = 0;
  unsigned sync_calls = 0;  // for __syncthreads_count's double buffer
};
inline thread_local ThreadCtx tls_ctx;

void syncthreads();
int syncthreads_count(int predicate);
void syncwarp(unsigned mask);
// Warp exchange: publishes `value` for this lane, returns lane `src`'s value.
uint64_t shfl_raw(unsigned mask, uint64_t value, unsigned src);
unsigned ballot(unsigned mask, bool predicate);
unsigned active_mask();
unsigned char* dynamic_shared();
void nanosleep(unsigned ns);

using Body = void (*)(const void* call);
void launch(const char* name, const void* kernel, api::dim3 grid, api::dim3 block, size_t smem,
            Body body, const void* call);

template <class T>
uint64_t to_raw(T v) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8,
                "warp shuffles move values of at most 8 bytes");
  uint64_t r = 0;
  std::memcpy(&r, &v, sizeof(T));
  return r;
}
template <class T>
T from_raw(uint64_t r) {
  T v;
  std::memcpy(&v, &r, sizeof(T));
  return v;
}
unsigned check_width(int width);  // power of two in [1, 32], else xgd::Error
}  // namespace detail

// Opt-in above 48 KiB of dynamic shared memory (cudaFuncSetAttribute's limit on sm_80:
// 163 KiB, the smallest of the architectures built by default).
void set_max_dynamic_shared(const void* kernel, size_t bytes);

// XGD_LAUNCH(kernel, grid, block, smem, stream)(args...): converts args to the kernel's
// parameter types once; each CUDA thread then calls the kernel with its own copies.
template <class... P>
class Launch {
 public:
  Launch(void (*fn)(P...), const char* name, api::dim3 grid, api::dim3 block, size_t smem,
         cudaStream_t)
      : fn_(fn), name_(name), grid_(grid), block_(block), smem_(smem) {}

  template <class... A>
  void operator()(A&&... args) const {
    static_assert(sizeof...(A) == sizeof...(P), "XGD_LAUNCH: wrong number of kernel arguments");
    const Call call{fn_, std::tuple<P...>(std::forward<A>(args)...)};
    detail::launch(name_, reinterpret_cast<const void*>(fn_), grid_, block_, smem_, &Call::run,
                   &call);
  }

 private:
  struct Call {
    void (*fn)(P...);
    std::tuple<P...> args;
    static void run(const void* self) {
      const Call* c = static_cast<const Call*>(self);
      std::apply(c->fn, c->args);
    }
  };
  void (*fn_)(P...);
  const char* name_;
  api::dim3 grid_, block_;
  size_t smem_;
};

namespace testing {
// Negative control for the emulator's own tests: makes __syncthreads a no-op, so a test can
// show that its kernel fails without the barrier. Never set outside those tests.
void set_syncthreads_noop(bool noop);
}  // namespace testing

// ---------------------------------------------------------------- device API
namespace api {
constexpr int warpSize = 32;

inline void __syncthreads() {
  detail::syncthreads();
}
inline int __syncthreads_count(int p) {
  return detail::syncthreads_count(p);
}
inline int __syncthreads_and(int p) {
  int n = detail::syncthreads_count(p != 0);
  return n == detail::syncthreads_count(1);  // every live thread had p != 0
}
inline int __syncthreads_or(int p) {
  return detail::syncthreads_count(p != 0) > 0;
}
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  detail::syncwarp(mask);
}
inline void __threadfence() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
}
inline void __threadfence_block() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
}
inline void __nanosleep(unsigned ns) {
  detail::nanosleep(ns);
}

// ---- warp shuffles and votes (lane = linear thread id % 32; segments of `width` lanes)
template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize) {
  unsigned w = detail::check_width(width), lane = detail::tls_ctx.lane;
  unsigned src = (lane & ~(w - 1)) + (static_cast<unsigned>(src_lane) & (w - 1));
  return detail::from_raw<T>(detail::shfl_raw(mask, detail::to_raw(var), src));
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  unsigned w = detail::check_width(width), lane = detail::tls_ctx.lane;
  unsigned first = lane & ~(w - 1);
  unsigned src = lane >= first + delta ? lane - delta : lane;  // below the segment: own value
  return detail::from_raw<T>(detail::shfl_raw(mask, detail::to_raw(var), src));
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  unsigned w = detail::check_width(width), lane = detail::tls_ctx.lane;
  unsigned end = (lane & ~(w - 1)) + w;
  unsigned src = lane + delta < end ? lane + delta : lane;  // past the segment: own value
  return detail::from_raw<T>(detail::shfl_raw(mask, detail::to_raw(var), src));
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize) {
  unsigned w = detail::check_width(width), lane = detail::tls_ctx.lane;
  unsigned end = (lane & ~(w - 1)) + w;
  unsigned src = lane ^ static_cast<unsigned>(lane_mask);
  if (src >= end || src >= 32) src = lane;  // a later segment: own value (CUDA's rule)
  return detail::from_raw<T>(detail::shfl_raw(mask, detail::to_raw(var), src));
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  return detail::ballot(mask, predicate != 0);
}
inline int __any_sync(unsigned mask, int predicate) {
  return detail::ballot(mask, predicate != 0) != 0;
}
inline int __all_sync(unsigned mask, int predicate) {
  return detail::ballot(mask, predicate == 0) == 0;
}
inline unsigned __activemask() {
  return detail::active_mask();
}

// ---- atomics: return the old value, relaxed ordering (CUDA's)
template <class T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value, std::memory_order_relaxed);
}
template <class T>
T atomicSub(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_sub(value, std::memory_order_relaxed);
}
template <class T>
T atomicExch(T* address, T value) {
  return std::atomic_ref<T>(*address).exchange(value, std::memory_order_relaxed);
}
template <class T>
T atomicCAS(T* address, T compare, T value) {
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, value, std::memory_order_relaxed);
  return compare;  // the old value, whether or not it was swapped
}
template <class T>
T atomicMax(T* address, T value) {
  static_assert(std::is_integral_v<T>, "atomicMax: CUDA defines it for integers only");
  std::atomic_ref<T> a(*address);
  T old = a.load(std::memory_order_relaxed);
  while (old < value && !a.compare_exchange_weak(old, value, std::memory_order_relaxed)) {
  }
  return old;
}
template <class T>
T atomicMin(T* address, T value) {
  static_assert(std::is_integral_v<T>, "atomicMin: CUDA defines it for integers only");
  std::atomic_ref<T> a(*address);
  T old = a.load(std::memory_order_relaxed);
  while (old > value && !a.compare_exchange_weak(old, value, std::memory_order_relaxed)) {
  }
  return old;
}
template <class T>
T atomicAnd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_and(value, std::memory_order_relaxed);
}
template <class T>
T atomicOr(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_or(value, std::memory_order_relaxed);
}
template <class T>
T atomicXor(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_xor(value, std::memory_order_relaxed);
}
// ((old >= limit) ? 0 : old + 1), and ((old == 0 || old > limit) ? limit : old - 1).
inline unsigned atomicInc(unsigned* address, unsigned limit) {
  std::atomic_ref<unsigned> a(*address);
  unsigned old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old >= limit ? 0u : old + 1, std::memory_order_relaxed)) {
  }
  return old;
}
inline unsigned atomicDec(unsigned* address, unsigned limit) {
  std::atomic_ref<unsigned> a(*address);
  unsigned old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, (old == 0 || old > limit) ? limit : old - 1,
                                  std::memory_order_relaxed)) {
  }
  return old;
}

// ---- maths and intrinsics. The host libm stands in for CUDA's: the fast approximations
// (__expf, __fdividef, ...) are exact here, so GPU tolerances cover their documented error.
template <class A, class B>
requires std::is_arithmetic_v<A> && std::is_arithmetic_v<B> std::common_type_t<A, B> max(A a, B b) {
  using C = std::common_type_t<A, B>;
  if constexpr (std::is_floating_point_v<C>)
    return std::fmax(C(a), C(b));
  else
    return C(a) < C(b) ? C(b) : C(a);
}
template <class A, class B>
requires std::is_arithmetic_v<A> && std::is_arithmetic_v<B> std::common_type_t<A, B> min(A a, B b) {
  using C = std::common_type_t<A, B>;
  if constexpr (std::is_floating_point_v<C>)
    return std::fmin(C(a), C(b));
  else
    return C(b) < C(a) ? C(b) : C(a);
}
inline float rsqrtf(float x) {
  return 1.0f / std::sqrt(x);
}
inline double rsqrt(double x) {
  return 1.0 / std::sqrt(x);
}
inline float __expf(float x) {
  return std::exp(x);
}
inline float __logf(float x) {
  return std::log(x);
}
inline float __powf(float x, float y) {
  return std::pow(x, y);
}
inline float __sinf(float x) {
  return std::sin(x);
}
inline float __cosf(float x) {
  return std::cos(x);
}
inline float __tanhf(float x) {
  return std::tanh(x);
}
inline float __fdividef(float a, float b) {
  return a / b;
}
inline float __frcp_rn(float x) {
  return 1.0f / x;
}
inline float __fsqrt_rn(float x) {
  return std::sqrt(x);
}
inline float __fadd_rn(float a, float b) {
  return a + b;
}
inline float __fmul_rn(float a, float b) {
  return a * b;
}
inline float __fmaf_rn(float a, float b, float c) {
  return std::fma(a, b, c);
}
inline double __dadd_rn(double a, double b) {
  return a + b;
}
inline double __dmul_rn(double a, double b) {
  return a * b;
}
inline double __fma_rn(double a, double b, double c) {
  return std::fma(a, b, c);
}
inline float __saturatef(float x) {
  return x > 0.0f ? (x < 1.0f ? x : 1.0f) : 0.0f;
}  // NaN→0
inline int __float2int_rn(float x) {
  return static_cast<int>(std::nearbyint(x));
}
inline int __float2int_rz(float x) {
  return static_cast<int>(x);
}
inline int __float2int_rd(float x) {
  return static_cast<int>(std::floor(x));
}
inline float __int_as_float(int x) {
  return std::bit_cast<float>(x);
}
inline int __float_as_int(float x) {
  return std::bit_cast<int>(x);
}
inline unsigned __float_as_uint(float x) {
  return std::bit_cast<unsigned>(x);
}
inline float __uint_as_float(unsigned x) {
  return std::bit_cast<float>(x);
}
inline long long __double_as_longlong(double x) {
  return std::bit_cast<long long>(x);
}
inline double __longlong_as_double(long long x) {
  return std::bit_cast<double>(x);
}
inline int __popc(unsigned x) {
  return std::popcount(x);
}
inline int __popcll(unsigned long long x) {
  return std::popcount(x);
}
inline int __clz(unsigned x) {
  return std::countl_zero(x);
}
inline int __clzll(unsigned long long x) {
  return std::countl_zero(x);
}
inline int __ffs(int x) {
  return x ? std::countr_zero(static_cast<unsigned>(x)) + 1 : 0;
}
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}
template <class T>
T __ldg(const T* p) {
  return *p;
}

// ---- host runtime API used by launchers and tests: device memory is host memory here.
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};
cudaError_t cudaMalloc(void** ptr, size_t bytes);  // filled with 0xFF bytes (NaN)
template <class T>
cudaError_t cudaMalloc(T** ptr, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* dst, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream = nullptr);
inline cudaError_t cudaDeviceSynchronize() {
  return cudaSuccess;
}  // launches are synchronous
inline cudaError_t cudaStreamSynchronize(cudaStream_t) {
  return cudaSuccess;
}
inline cudaError_t cudaGetLastError() {
  return cudaSuccess;
}  // launch errors throw at once
inline cudaError_t cudaPeekAtLastError() {
  return cudaSuccess;
}
const char* cudaGetErrorName(cudaError_t e);
const char* cudaGetErrorString(cudaError_t e);
}  // namespace api

}  // namespace xgd::emu

using namespace xgd::emu::api;  // NOLINT: CUDA's names are unqualified in kernel sources

// Read-only coordinates of the executing CUDA thread.
#define threadIdx \
  (static_cast<const ::xgd::emu::api::uint3&>(::xgd::emu::detail::tls_ctx.thread_idx))
#define blockIdx (static_cast<const ::xgd::emu::api::uint3&>(::xgd::emu::detail::tls_ctx.block_idx))
#define blockDim (static_cast<const ::xgd::emu::api::dim3&>(::xgd::emu::detail::tls_ctx.block_dim))
#define gridDim (static_cast<const ::xgd::emu::api::dim3&>(::xgd::emu::detail::tls_ctx.grid_dim))

#define XGD_LAUNCH(kernel, grid, block, smem, stream)                                            \
  ::xgd::emu::Launch(kernel, #kernel, ::xgd::emu::api::dim3(grid), ::xgd::emu::api::dim3(block), \
                     static_cast<size_t>(smem), (stream))
#define XGD_DYN_SHARED(T, name) T* name = reinterpret_cast<T*>(::xgd::emu::detail::dynamic_shared())
#define XGD_SET_MAX_DYN_SHARED(kernel, bytes) \
  ::xgd::emu::set_max_dynamic_shared(reinterpret_cast<const void*>(kernel), (bytes))
