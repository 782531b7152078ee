// Include first in every kernels/cuda/*.cu. Under nvcc it is CUDA; under the host compiler
// (xgd_kernels_emu, XGD_EMU) it is the CPU execution of the CUDA model in kernels/emu/emu.h.
// Kernel sources use only what works in both:
//   XGD_LAUNCH(kernel, grid, block, smem, stream)(args...)   never kernel<<<...>>>
//   XGD_DYN_SHARED(T, name);                                  never extern __shared__
//   XGD_SET_MAX_DYN_SHARED(kernel, bytes)                     to go above 48 KiB
//   XGD_CHECK_LAUNCH() after each launch                      (cudaGetLastError, checked)
// A kernel whose template arguments contain a comma is parenthesised:
//   XGD_LAUNCH((my_kernel<T, F>), grid, block, 0, stream)(args...);
#pragma once
#include "kernels/common/hd.h"
#include "kernels/cuda/api.h"

#if defined(__CUDACC__)
#include <cuda_runtime.h>

#define XGD_LAUNCH(kernel, grid, block, smem, stream) kernel<<<(grid), (block), (smem), (stream)>>>
// Every extern __shared__ array starts at the block's dynamic shared memory.
#define XGD_DYN_SHARED(T, name)                                          \
  extern __shared__ __align__(16) unsigned char xgd_dyn_shared_##name[]; \
  T* name = reinterpret_cast<T*>(xgd_dyn_shared_##name)
#define XGD_SET_MAX_DYN_SHARED(kernel, bytes)                                              \
  XGD_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, \
                                      static_cast<int>(bytes)))
// Device-only helpers (may use device intrinsics such as __fmul_rn).
#define XGD_DEVICE __device__ __forceinline__

#else
#if !defined(XGD_EMU)
#error \
    "kernels/cuda sources build with nvcc, or with the host compiler in xgd_kernels_emu (XGD_EMU)"
#endif
#include "kernels/emu/emu.h"
#define XGD_DEVICE inline
#endif

#include "kernels/cuda/check.h"

#define XGD_CHECK_LAUNCH() XGD_CUDA_CHECK(cudaGetLastError())
