// The host-side face of the CUDA backend, for code that must not include CUDA headers (the
// engine, tests, the emulator): the stream type, and the ABI namespace that keeps the kernels
// compiled for the emulator (kernels/emu, XGD_EMU) apart from the same sources built by nvcc,
// so both libraries can exist in one build without colliding symbols.
#pragma once

// Identical to the typedef in CUDA's driver_types.h, so both may be seen by one translation unit.
struct CUstream_st;
typedef struct CUstream_st* cudaStream_t;

#if defined(XGD_EMU)
// Launchers compiled under the emulator live in xgd::kernels::cuda::emu; callers still write
// xgd::kernels::cuda::f and get the emulated f when they are built with XGD_EMU.
#define XGD_CUDA_ABI_BEGIN inline namespace emu {
#define XGD_CUDA_ABI_END }
#else
#define XGD_CUDA_ABI_BEGIN
#define XGD_CUDA_ABI_END
#endif

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
// Upper bound on the blocks of the grid-stride launches (default 4096: ~4 waves of 256-thread
// blocks on an H100's 132 SMs). Tests lower it to drive the grid-stride loops with few blocks.
unsigned max_grid_blocks();
void set_max_grid_blocks(unsigned blocks);  // 0 restores the default
XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
