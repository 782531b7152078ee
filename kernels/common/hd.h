// XGD_HD marks per-element maths shared by the CPU backend and the CUDA kernels.
#pragma once
#if defined(__CUDACC__)
#define XGD_HD __host__ __device__ __forceinline__
#else
#define XGD_HD inline
#endif

namespace xgd::kernels {
// a·b rounded on its own: nvcc would otherwise contract a·b + c into one FMA on the device, while
// the CPU build (no FMA) rounds twice; kernels whose sums must match the CPU bit for bit keep
// their products apart with this.
XGD_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
XGD_HD double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
}  // namespace xgd::kernels
