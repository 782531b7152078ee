// Every op family's kernel table, registered with the engine's dispatch (engine/ops/op_util.h).
// Included by the two backends that make Device::CUDA: the CUDA runtime (kernels/cuda/backend.cpp,
// nvcc-built launchers) and the emulator (kernels/emu/backend.cpp, XGD_EMU: the same launchers
// compiled for the CPU), so both register the same list. A new op family adds one line here.
#pragma once
#include "engine/ops/op_util.h"
#include "kernels/cuda/cam.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/conv_depthwise.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/interpolate.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/pointwise.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/random.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/shape_ops.h"
#include "kernels/cuda/softmax.h"
#include "kernels/cuda/tensor.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN  // the emulated build's tables are other functions: keep the two apart

    inline void
    register_kernel_tables() {
  ops::register_cuda_kernels(&pointwise_table());
  ops::register_cuda_kernels(&conv_table());
  ops::register_cuda_kernels(&depthwise_table());
  ops::register_cuda_kernels(&pool_table());
  ops::register_cuda_kernels(&reduce_table());
  ops::register_cuda_kernels(&norm_table());
  ops::register_cuda_kernels(&linear_table());
  ops::register_cuda_kernels(&interpolate_table());
  ops::register_cuda_kernels(&shape_ops_table());
  ops::register_cuda_kernels(&tensor_table());
  ops::register_cuda_kernels(&optim_table());
  ops::register_cuda_kernels(&cam_table());
  ops::register_cuda_kernels(&softmax_table());
  ops::register_cuda_kernels(&loss_table());
  ops::register_cuda_kernels(&dropout_table());
  ops::register_cuda_kernels(&random_table());
}

XGD_CUDA_ABI_END

}  // namespace xgd::kernels::cuda
