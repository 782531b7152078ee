// The CPU execution of the CUDA model (see emu.h for the semantics): a pool of OS threads, one
// per CUDA thread of the running block, blocks one at a time.
#include "kernels/emu/emu.h"

#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <semaphore>
#include <thread>
#include <vector>

#include "engine/error.h"

namespace xgd::emu {
namespace detail {

using api::dim3;
using api::uint3;

struct Warp {
  explicit Warp(unsigned n) : size(n), bar(n), live(n == 32 ? ~0u : (1u << n) - 1) {
    std::memset(slot, 0xFF, sizeof slot);  // a lane that never wrote reads NaN bytes
  }
  unsigned size;
  std::barrier<> bar;
  uint64_t slot[32];
  std::atomic<unsigned> live;  // lanes that have not returned
};

struct Block {
  Block(const char* kernel, dim3 g, dim3 b, uint3 idx, unsigned n, Body fn, const void* c,
        unsigned char* smem)
      : name(kernel),
        grid(g),
        block(b),
        block_idx(idx),
        nthreads(n),
        body(fn),
        call(c),
        dyn(smem),
        bar(n),
        remaining(n) {
    for (unsigned w = 0; w * 32 < n; ++w)
      warps.push_back(std::make_unique<Warp>(std::min(32u, n - w * 32)));
  }
  const char* name;
  dim3 grid, block;
  uint3 block_idx;
  unsigned nthreads;
  Body body;
  const void* call;
  unsigned char* dyn;
  std::barrier<> bar;  // __syncthreads
  std::vector<std::unique_ptr<Warp>> warps;
  std::atomic<int> sync_acc[2] = {0, 0};  // __syncthreads_count, double-buffered
  std::atomic<unsigned> remaining;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;         // guarded by mu
  std::exception_ptr error;  // guarded by mu: the first exception thrown by a thread
};

void run_thread(Block& b, unsigned linear) {
  ThreadCtx& c = tls_ctx;
  const unsigned bx = b.block.x, by = b.block.y;
  c.thread_idx = {linear % bx, (linear / bx) % by, linear / (bx * by)};
  c.block_idx = b.block_idx;
  c.block_dim = b.block;
  c.grid_dim = b.grid;
  c.block = &b;
  c.warp = b.warps[linear / 32].get();
  c.lane = linear % 32;
  c.sync_calls = 0;
  try {
    b.body(b.call);
  } catch (...) {
    std::lock_guard<std::mutex> lock(b.mu);
    if (!b.error) b.error = std::current_exception();
  }
  // Returned (or failed): stop counting at the block's and the warp's barriers.
  c.warp->live.fetch_and(~(1u << c.lane), std::memory_order_relaxed);
  c.warp->bar.arrive_and_drop();
  b.bar.arrive_and_drop();
  c.block = nullptr;
  c.warp = nullptr;
  if (b.remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::lock_guard<std::mutex> lock(b.mu);
    b.done = true;
    b.cv.notify_one();
  }
}

int timeout_seconds() {
  static const int s = [] {
    const char* v = std::getenv("XGD_EMU_TIMEOUT_S");
    int t = v ? std::atoi(v) : 0;
    return t > 0 ? t : 300;
  }();
  return s;
}

// One OS thread per CUDA thread of a block, created on first need and kept for the process.
class Pool {
 public:
  static Pool& get() {
    static Pool pool;
    return pool;
  }

  void run_block(Block& b) {
    while (workers_.size() < b.nthreads) workers_.push_back(std::make_unique<Worker>(this));
    for (unsigned t = 0; t < b.nthreads; ++t) {
      Worker& w = *workers_[t];
      w.block = &b;
      w.linear = t;
      w.go.release();
    }
    std::unique_lock<std::mutex> lock(b.mu);
    if (!b.cv.wait_for(lock, std::chrono::seconds(timeout_seconds()), [&] { return b.done; })) {
      std::fprintf(stderr,
                   "xgd emu: kernel %s, block (%u,%u,%u) of (%u,%u,%u) x (%u,%u,%u) threads made "
                   "no progress for %d s: a __syncthreads() or warp op that not every live thread "
                   "reaches (XGD_EMU_TIMEOUT_S sets the limit)\n",
                   b.name, b.block_idx.x, b.block_idx.y, b.block_idx.z, b.grid.x, b.grid.y,
                   b.grid.z, b.block.x, b.block.y, b.block.z, timeout_seconds());
      std::abort();
    }
  }

  ~Pool() {
    stop_.store(true);
    for (auto& w : workers_) w->go.release();
    for (auto& w : workers_) w->thread.join();
  }

 private:
  struct Worker {
    explicit Worker(Pool* pool) : thread([this, pool] { loop(pool); }) {}
    void loop(Pool* pool) {
      for (;;) {
        go.acquire();
        if (pool->stop_.load()) return;
        run_thread(*block, linear);
      }
    }
    std::binary_semaphore go{0};
    Block* block = nullptr;
    unsigned linear = 0;
    std::thread thread;  // last: starts after the members above exist
  };
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> stop_{false};
};

std::mutex launch_mutex;  // one launch at a time: blocks never overlap, so __shared__ can be static
std::atomic<bool> syncthreads_noop{false};

std::mutex smem_mutex;
std::map<const void*, size_t> smem_limits;  // kernels opted in above 48 KiB
constexpr size_t kDefaultSmem = 48 * 1024;
constexpr size_t kMaxOptInSmem = 166912;  // sm_80's 163 KiB, the smallest of the default archs

Block& current_block(const char* what) {
  ThreadCtx& c = tls_ctx;
  XGD_CHECK(c.block != nullptr, "emu: ", what, " called outside a kernel");
  return *c.block;
}

void check_mask(const ThreadCtx& c, unsigned mask, const char* what) {
  XGD_CHECK((mask >> c.lane) & 1u, "emu: ", what, " in kernel ", c.block->name, ": mask 0x",
            std::hex, mask, std::dec, " does not contain the calling lane ", c.lane);
}

void syncthreads() {
  Block& b = current_block("__syncthreads");
  if (syncthreads_noop.load(std::memory_order_relaxed)) return;
  b.bar.arrive_and_wait();
}

int syncthreads_count(int predicate) {
  Block& b = current_block("__syncthreads_count");
  ThreadCtx& c = tls_ctx;
  // Call k adds to acc[k&1] and clears acc[~k&1] (last read in call k-1, next added to in k+1:
  // both separated from here by a barrier).
  const int k = c.sync_calls++ & 1;
  b.sync_acc[k ^ 1].store(0, std::memory_order_relaxed);
  b.sync_acc[k].fetch_add(predicate ? 1 : 0, std::memory_order_relaxed);
  b.bar.arrive_and_wait();
  int r = b.sync_acc[k].load(std::memory_order_relaxed);
  b.bar.arrive_and_wait();
  return r;
}

void syncwarp(unsigned mask) {
  current_block("__syncwarp");
  check_mask(tls_ctx, mask, "__syncwarp");
  tls_ctx.warp->bar.arrive_and_wait();
}

uint64_t shfl_raw(unsigned mask, uint64_t value, unsigned src) {
  current_block("__shfl_*_sync");
  ThreadCtx& c = tls_ctx;
  check_mask(c, mask, "__shfl_*_sync");
  Warp& w = *c.warp;
  w.slot[c.lane] = value;
  w.bar.arrive_and_wait();
  uint64_t r = w.slot[src];
  w.bar.arrive_and_wait();
  return r;
}

unsigned ballot(unsigned mask, bool predicate) {
  current_block("__ballot_sync/__any_sync/__all_sync");
  ThreadCtx& c = tls_ctx;
  check_mask(c, mask, "__ballot_sync/__any_sync/__all_sync");
  Warp& w = *c.warp;
  w.slot[c.lane] = predicate ? 1 : 0;
  w.bar.arrive_and_wait();
  unsigned lanes = mask & w.live.load(std::memory_order_relaxed), bits = 0;
  for (unsigned i = 0; i < w.size; ++i)
    if (((lanes >> i) & 1u) && w.slot[i]) bits |= 1u << i;
  w.bar.arrive_and_wait();
  return bits;
}

unsigned active_mask() {
  current_block("__activemask");
  return tls_ctx.warp->live.load(std::memory_order_relaxed);
}

unsigned char* dynamic_shared() {
  return current_block("XGD_DYN_SHARED").dyn;
}

void nanosleep(unsigned ns) {
  std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
}

unsigned check_width(int width) {
  XGD_CHECK(width >= 1 && width <= 32 && (width & (width - 1)) == 0, "emu: shuffle width ", width,
            " is not a power of two in [1, 32]");
  return static_cast<unsigned>(width);
}

void launch(const char* name, const void* kernel, dim3 grid, dim3 block, size_t smem, Body body,
            const void* call) {
  XGD_CHECK(tls_ctx.block == nullptr, "emu: ", name,
            " launched from inside a kernel (dynamic parallelism is not emulated)");
  // cudaErrorInvalidConfiguration's rules (compute capability 8.x/9.x limits).
  const uint64_t nthreads = uint64_t(block.x) * block.y * block.z;
  XGD_CHECK(grid.x >= 1 && grid.y >= 1 && grid.z >= 1 && grid.x <= 2147483647u && grid.y <= 65535 &&
                grid.z <= 65535 && block.x >= 1 && block.y >= 1 && block.z >= 1 &&
                block.x <= 1024 && block.y <= 1024 && block.z <= 64 && nthreads <= 1024,
            "emu: launch of ", name, ": invalid configuration grid (", grid.x, ", ", grid.y, ", ",
            grid.z, ") block (", block.x, ", ", block.y, ", ", block.z,
            ") (cudaErrorInvalidConfiguration)");
  size_t limit = kDefaultSmem;
  {
    std::lock_guard<std::mutex> lock(smem_mutex);
    auto it = smem_limits.find(kernel);
    if (it != smem_limits.end()) limit = it->second;
  }
  XGD_CHECK(smem <= limit, "emu: launch of ", name, ": ", smem,
            " bytes of dynamic shared memory exceed the kernel's limit of ", limit,
            " (XGD_SET_MAX_DYN_SHARED raises it)");

  std::lock_guard<std::mutex> lock(launch_mutex);
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        // Exact size (ASan sees an overflow), 0xFF bytes (NaN) so reads before writes show.
        std::unique_ptr<unsigned char, void (*)(void*)> dyn(
            smem ? static_cast<unsigned char*>(std::malloc(smem)) : nullptr, std::free);
        XGD_CHECK(smem == 0 || dyn, "emu: out of host memory for ", smem,
                  " bytes of shared memory");
        if (smem) std::memset(dyn.get(), 0xFF, smem);
        Block b(name, grid, block, uint3{x, y, z}, static_cast<unsigned>(nthreads), body, call,
                dyn.get());
        Pool::get().run_block(b);
        std::lock_guard<std::mutex> block_lock(b.mu);
        if (b.error) std::rethrow_exception(b.error);
      }
}

}  // namespace detail

void set_max_dynamic_shared(const void* kernel, size_t bytes) {
  XGD_CHECK(bytes <= detail::kMaxOptInSmem, "emu: ", bytes,
            " bytes of dynamic shared memory exceed the opt-in maximum of ", detail::kMaxOptInSmem,
            " (sm_80)");
  std::lock_guard<std::mutex> lock(detail::smem_mutex);
  detail::smem_limits[kernel] = std::max(bytes, detail::kDefaultSmem);
}

namespace testing {
void set_syncthreads_noop(bool noop) {
  detail::syncthreads_noop.store(noop);
}
}  // namespace testing

// ---------------------------------------------------------------- host runtime API
namespace api {
cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (!ptr) return cudaErrorInvalidValue;
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  void* p = std::malloc(bytes);
  if (!p) return cudaErrorMemoryAllocation;
  std::memset(p, 0xFF, bytes);  // uninitialised device memory reads as NaN
  *ptr = p;
  return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  if (bytes) std::memset(dst, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t) {
  return cudaMemset(dst, value, bytes);
}
const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
  }
  return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
  }
  return "unknown error";
}
}  // namespace api

}  // namespace xgd::emu
