// Warp and block reductions for kernels/cuda (include after kernels/cuda/device.h).
#pragma once

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN

// Sum over the first `active` lanes of the warp (all lanes when active = 32), result in lane 0.
// Lanes past `active` (the missing tail of a block's last warp) are neither named in the mask
// nor read, as CUDA requires.
template <class T>
XGD_DEVICE T warp_sum(T v, unsigned active = 32) {
  const unsigned mask = active >= 32 ? 0xffffffffu : (1u << active) - 1u;
  const unsigned lane = (threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) % 32;
  for (unsigned offset = 16; offset > 0; offset >>= 1) {
    T other = __shfl_down_sync(mask, v, offset);
    if (lane + offset < active) v += other;
  }
  return v;
}

// Sum over all threads of the block (any shape, up to 1024 threads), returned to every thread.
// Every thread of the block must call it (it holds __syncthreads). Warp totals are added in
// warp order in every thread, so all threads get the same bits.
template <class T>
XGD_DEVICE T block_sum(T v) {
  __shared__ T warp_totals[32];
  const unsigned linear = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned nthreads = blockDim.x * blockDim.y * blockDim.z;
  const unsigned lane = linear % 32, warp = linear / 32, nwarps = (nthreads + 31) / 32;
  v = warp_sum(v, min(32u, nthreads - warp * 32));
  __syncthreads();  // a previous block_sum may still be reading warp_totals
  if (lane == 0) warp_totals[warp] = v;
  __syncthreads();
  T total = T(0);
  for (unsigned w = 0; w < nwarps; ++w) total += warp_totals[w];
  return total;
}

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
