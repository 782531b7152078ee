// XGD_HD marks per-element maths shared by the CPU backend and the CUDA kernels.
#pragma once
#if defined(__CUDACC__)
#define XGD_HD __host__ __device__ __forceinline__
#else
#define XGD_HD inline
#endif
