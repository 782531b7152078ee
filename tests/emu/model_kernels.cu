// Kernels testing the CUDA execution model (model_kernels.h). Valid CUDA: the gpu tests build this
// file with nvcc; the emu tests compile it under kernels/emu.
#include "kernels/cuda/device.h"
// (device.h first)
#include "tests/emu/model_kernels.h"

#include <algorithm>

namespace xgd::test::model {

namespace {

template <class T>
struct Buf {  // device memory, freed on scope exit
  T* p = nullptr;
  size_t n;
  explicit Buf(size_t count) : n(count) {
    XGD_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p), std::max<size_t>(n, 1) * sizeof(T)));
  }
  Buf(size_t count, const T* host) : Buf(count) {
    XGD_CUDA_CHECK(cudaMemcpy(p, host, n * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~Buf() { cudaFree(p); }
  std::vector<T> host() const {
    XGD_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<T> v(n);
    XGD_CUDA_CHECK(cudaMemcpy(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
    return v;
  }
};

__device__ unsigned lane_mask_of_warp() {  // existing lanes of the calling thread's warp
  const unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned n = blockDim.x * blockDim.y * blockDim.z, first = t & ~31u;
  const unsigned live = min(32u, n - first);
  return live == 32 ? 0xffffffffu : (1u << live) - 1u;
}

__global__ void reduce_sum_kernel(const float* x, int64_t n, float* result) {
  XGD_DYN_SHARED(float, warp_sums);  // (nwarps,)
  const unsigned t = threadIdx.x, lane = t % 32, warp = t / 32;
  const unsigned nwarps = (blockDim.x + 31) / 32, active = min(32u, blockDim.x - warp * 32);
  const unsigned mask = lane_mask_of_warp();
  float v = 0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + t; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    v += x[i];
  for (unsigned off = 16; off > 0; off >>= 1) {
    float o = __shfl_down_sync(mask, v, off);
    if (lane + off < active) v += o;
  }
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const unsigned size0 = min(32u, blockDim.x);
    float w = lane < nwarps ? warp_sums[lane] : 0.0f;
    for (unsigned off = 16; off > 0; off >>= 1) {
      float o = __shfl_down_sync(mask, w, off);
      if (lane + off < size0) w += o;
    }
    if (lane == 0) atomicAdd(result, w);
  }
}

__global__ void barrier_rotate_kernel(int* out, int rounds, unsigned sleep_ns) {
  XGD_DYN_SHARED(int, s);  // (B,)
  const unsigned t = threadIdx.x, B = blockDim.x;
  int v = static_cast<int>(t + 1000 * blockIdx.x);
  for (int r = 0; r < rounds; ++r) {
    if (t % 2 == 1 && sleep_ns) __nanosleep(sleep_ns);
    s[t] = v;
    __syncthreads();
    v = s[(t + 1) % B] + 1;
    __syncthreads();  // s is rewritten in the next round
  }
  out[blockIdx.x * B + t] = v;
}

__global__ void early_return_kernel(int* out, unsigned active) {
  __shared__ int s[1024];
  const unsigned t = threadIdx.x;
  if (t >= active) return;
  s[t] = static_cast<int>(t + 1);
  __syncthreads();  // counts only the threads that did not return
  const unsigned first = t & ~31u, live = min(32u, active - first);
  const unsigned mask = live == 32 ? 0xffffffffu : (1u << live) - 1u;
  int v = static_cast<int>(t + 1);
  for (unsigned off = 16; off > 0; off >>= 1) {
    int o = __shfl_down_sync(mask, v, off);
    if (t % 32 + off < live) v += o;
  }
  if (t == 0) {
    int sum = 0;
    for (unsigned i = 0; i < active; ++i) sum += s[i];
    out[0] = sum;
  }
  if (t % 32 == 0) out[1 + t / 32] = v;
}

__global__ void dyn_reverse_kernel(float* out, unsigned words) {
  XGD_DYN_SHARED(float, s);  // (words,)
  for (unsigned i = threadIdx.x; i < words; i += blockDim.x) s[i] = 0.5f * static_cast<float>(i);
  __syncthreads();
  for (unsigned i = threadIdx.x; i < words; i += blockDim.x) out[i] = s[words - 1 - i];
}

__global__ void dyn_initial_kernel(uint32_t* out, unsigned words) {
  XGD_DYN_SHARED(uint32_t, s);
  for (unsigned i = threadIdx.x; i < words; i += blockDim.x) out[i] = s[i];
}

__global__ void dyn_past_end_kernel(unsigned words) {
  XGD_DYN_SHARED(float, s);
  if (threadIdx.x == 0) s[words] = 1.0f;  // one past the end: the bug ASan must report
}

__global__ void warp_ops_kernel(int* out, unsigned n, int width, int src_lane, unsigned delta,
                                int lane_mask, int ballot_modulo) {
  const unsigned t = threadIdx.x, mask = lane_mask_of_warp();
  const int v = static_cast<int>(10 * t + 1);
  out[0 * n + t] = __shfl_sync(mask, v, src_lane, width);
  out[1 * n + t] = __shfl_up_sync(mask, v, delta, width);
  out[2 * n + t] = __shfl_down_sync(mask, v, delta, width);
  out[3 * n + t] = __shfl_xor_sync(mask, v, lane_mask, width);
  out[4 * n + t] = static_cast<int>(__ballot_sync(mask, t % ballot_modulo == 0));
  out[5 * n + t] = __any_sync(mask, t % 32 == 5);
  out[6 * n + t] = __all_sync(mask, t % ballot_modulo != 1);
}

__global__ void atomics_kernel(int* hist, float* fsum, double* dsum, int* imax, int* imin,
                               unsigned* inc, unsigned* sub, int* ticket, int* tickets, int* exch) {
  const int gid = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  atomicAdd(&hist[gid % 7], 1);
  atomicAdd(fsum, 0.5f);
  atomicAdd(dsum, 0.25);
  atomicMax(imax, 3 * gid - 100);
  atomicMin(imin, 50 - gid);
  atomicInc(inc, 9u);
  atomicSub(sub, 1u);
  int assumed = 0, old;
  while ((old = atomicCAS(ticket, assumed, assumed + 1)) != assumed) assumed = old;
  atomicAdd(&tickets[assumed], 1);
  atomicExch(exch, gid);
}

__global__ void sync_votes_kernel(int* out, int modulo) {
  const unsigned t = threadIdx.x, n = blockDim.x;
  int* o = out + 9 * t;
  const int p = t % modulo == 0;
  o[0] = __syncthreads_count(p);
  o[1] = __syncthreads_and(p);
  o[2] = __syncthreads_or(p);
  o[3] = __syncthreads_count(t < n);
  o[4] = __syncthreads_and(t < n);
  o[5] = __syncthreads_or(t < n);
  o[6] = __syncthreads_count(t == n);
  o[7] = __syncthreads_and(t == n);
  o[8] = __syncthreads_or(t == n);
}

__global__ void coords_kernel(int* out) {
  const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned inner = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  int* o = out + 6 * (block * blockDim.x * blockDim.y * blockDim.z + inner);
  o[0] = threadIdx.x, o[1] = threadIdx.y, o[2] = threadIdx.z;
  o[3] = blockIdx.x, o[4] = blockIdx.y, o[5] = blockIdx.z;
}

constexpr int kTile = 32, kRows = 8;
__global__ void transpose_kernel(const float* in, float* out, int rows, int cols) {
  __shared__ float tile[kTile][kTile + 1];  // static: one instance, blocks never overlap
  const int x = blockIdx.x * kTile + threadIdx.x, y0 = blockIdx.y * kTile;
  for (int j = threadIdx.y; j < kTile; j += kRows)
    if (x < cols && y0 + j < rows) tile[j][threadIdx.x] = in[(y0 + j) * cols + x];
  __syncthreads();
  const int ox = blockIdx.y * kTile + threadIdx.x, oy0 = blockIdx.x * kTile;
  for (int j = threadIdx.y; j < kTile; j += kRows)
    if (ox < rows && oy0 + j < cols) out[(oy0 + j) * rows + ox] = tile[threadIdx.x][j];
}

__global__ void empty_kernel(int* p) {
  if (p) *p = 0;
}

__global__ void bad_mask_kernel(int* out) {
  // Lane 0 calls with a mask that lacks it (undefined on a GPU; the emulator must refuse).
  out[threadIdx.x] = __shfl_sync(threadIdx.x == 0 ? 0x2u : 0xffffffffu, 1, 0);
}

}  // namespace

float reduce_sum(const std::vector<float>& x, unsigned blocks, unsigned threads) {
  Buf<float> dx(x.size(), x.data()), result(1);
  float zero = 0;
  XGD_CUDA_CHECK(cudaMemcpy(result.p, &zero, sizeof zero, cudaMemcpyHostToDevice));
  const size_t smem = (threads + 31) / 32 * sizeof(float);
  XGD_LAUNCH(reduce_sum_kernel, blocks, threads, smem, nullptr)(dx.p, int64_t(x.size()), result.p);
  XGD_CHECK_LAUNCH();
  return result.host()[0];
}

std::vector<int> barrier_rotate(unsigned blocks, unsigned threads, int rounds, unsigned sleep_ns) {
  Buf<int> out(size_t(blocks) * threads);
  XGD_LAUNCH(barrier_rotate_kernel, blocks, threads, threads * sizeof(int), nullptr)
  (out.p, rounds, sleep_ns);
  XGD_CHECK_LAUNCH();
  return out.host();
}

std::vector<int> early_return(unsigned threads, unsigned active) {
  Buf<int> out(1 + (threads + 31) / 32);
  XGD_CUDA_CHECK(cudaMemset(out.p, 0, out.n * sizeof(int)));
  XGD_LAUNCH(early_return_kernel, 1, threads, 0, nullptr)(out.p, active);
  XGD_CHECK_LAUNCH();
  return out.host();
}

std::vector<float> dyn_shared_reverse(unsigned words, unsigned threads) {
  Buf<float> out(words);
  const size_t bytes = size_t(words) * sizeof(float);
  if (bytes > 48 * 1024) XGD_SET_MAX_DYN_SHARED(dyn_reverse_kernel, bytes);
  XGD_LAUNCH(dyn_reverse_kernel, 1, threads, bytes, nullptr)(out.p, words);
  XGD_CHECK_LAUNCH();
  return out.host();
}

std::vector<uint32_t> dyn_shared_initial(unsigned words) {
  Buf<uint32_t> out(words);
  XGD_LAUNCH(dyn_initial_kernel, 1, 64, words * sizeof(uint32_t), nullptr)(out.p, words);
  XGD_CHECK_LAUNCH();
  return out.host();
}

void dyn_shared_write_past_end(unsigned words) {
  XGD_LAUNCH(dyn_past_end_kernel, 1, 32, words * sizeof(float), nullptr)(words);
  XGD_CHECK_LAUNCH();
  XGD_CUDA_CHECK(cudaDeviceSynchronize());
}

WarpResults warp_ops(unsigned threads, int width, int src_lane, unsigned delta, int lane_mask,
                     int ballot_modulo) {
  Buf<int> out(7 * size_t(threads));
  XGD_LAUNCH(warp_ops_kernel, 1, threads, 0, nullptr)
  (out.p, threads, width, src_lane, delta, lane_mask, ballot_modulo);
  XGD_CHECK_LAUNCH();
  std::vector<int> h = out.host();
  auto part = [&](int k) {
    return std::vector<int>(h.begin() + k * threads, h.begin() + (k + 1) * threads);
  };
  return {part(0), part(1), part(2), part(3), part(4), part(5), part(6)};
}

AtomicResults atomics(unsigned blocks, unsigned threads) {
  const unsigned n = blocks * threads;
  Buf<int> hist(7), imax(1), imin(1), ticket(1), tickets(n), exch(1);
  Buf<float> fsum(1);
  Buf<double> dsum(1);
  Buf<unsigned> inc(1), sub(1);
  const int lo = -1000000, hi = 1000000, zero = 0;
  const unsigned uzero = 0, start = 1000000;
  const float fz = 0;
  const double dz = 0;
  XGD_CUDA_CHECK(cudaMemset(hist.p, 0, 7 * sizeof(int)));
  XGD_CUDA_CHECK(cudaMemset(tickets.p, 0, n * sizeof(int)));
  XGD_CUDA_CHECK(cudaMemcpy(imax.p, &lo, sizeof lo, cudaMemcpyHostToDevice));
  XGD_CUDA_CHECK(cudaMemcpy(imin.p, &hi, sizeof hi, cudaMemcpyHostToDevice));
  XGD_CUDA_CHECK(cudaMemcpy(ticket.p, &zero, sizeof zero, cudaMemcpyHostToDevice));
  XGD_CUDA_CHECK(cudaMemcpy(exch.p, &lo, sizeof lo, cudaMemcpyHostToDevice));
  XGD_CUDA_CHECK(cudaMemcpy(inc.p, &uzero, sizeof uzero, cudaMemcpyHostToDevice));
  XGD_CUDA_CHECK(cudaMemcpy(sub.p, &start, sizeof start, cudaMemcpyHostToDevice));
  XGD_CUDA_CHECK(cudaMemcpy(fsum.p, &fz, sizeof fz, cudaMemcpyHostToDevice));
  XGD_CUDA_CHECK(cudaMemcpy(dsum.p, &dz, sizeof dz, cudaMemcpyHostToDevice));
  XGD_LAUNCH(atomics_kernel, blocks, threads, 0, nullptr)
  (hist.p, fsum.p, dsum.p, imax.p, imin.p, inc.p, sub.p, ticket.p, tickets.p, exch.p);
  XGD_CHECK_LAUNCH();
  AtomicResults r;
  r.hist = hist.host();
  r.fsum = fsum.host()[0];
  r.dsum = dsum.host()[0];
  r.imax = imax.host()[0];
  r.imin = imin.host()[0];
  r.inc = inc.host()[0];
  r.sub = sub.host()[0];
  r.tickets = tickets.host();
  r.exch = exch.host()[0];
  return r;
}

std::vector<int> sync_votes(unsigned threads, int modulo) {
  Buf<int> out(9 * size_t(threads));
  XGD_LAUNCH(sync_votes_kernel, 1, threads, 0, nullptr)(out.p, modulo);
  XGD_CHECK_LAUNCH();
  return out.host();
}

std::vector<int> coords(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz) {
  Buf<int> out(6 * size_t(gx) * gy * gz * bx * by * bz);
  XGD_LAUNCH(coords_kernel, dim3(gx, gy, gz), dim3(bx, by, bz), 0, nullptr)(out.p);
  XGD_CHECK_LAUNCH();
  return out.host();
}

std::vector<float> transpose(const std::vector<float>& in, int rows, int cols) {
  Buf<float> din(in.size(), in.data()), dout(in.size());
  dim3 grid((cols + kTile - 1) / kTile, (rows + kTile - 1) / kTile), block(kTile, kRows);
  XGD_LAUNCH(transpose_kernel, grid, block, 0, nullptr)(din.p, dout.p, rows, cols);
  XGD_CHECK_LAUNCH();
  return dout.host();
}

void launch_config(unsigned grid_x, unsigned block_x, unsigned block_y, unsigned block_z,
                   size_t dyn_smem) {
  XGD_LAUNCH(empty_kernel, grid_x, dim3(block_x, block_y, block_z), dyn_smem, nullptr)(nullptr);
  XGD_CHECK_LAUNCH();
  XGD_CUDA_CHECK(cudaDeviceSynchronize());
}

void shuffle_without_own_lane() {
  Buf<int> out(32);
  XGD_LAUNCH(bad_mask_kernel, 1, 32, 0, nullptr)(out.p);
  XGD_CHECK_LAUNCH();
}

}  // namespace xgd::test::model
