// CUDA kernels of batch normalisation: launchers on device pointers, enqueued on `stream`, never
// synchronising (DESIGN.md §2). Same contracts as kernels/cpu/norm.h: x, y, dy, dx are (N, C, HW)
// contiguous; per-channel statistics are device arrays of double (C). Every launcher
// overwrites its outputs (=). Per-element maths: kernels/common/norm.h. Plain C++: the engine
// includes it for NormTable.
//
// Workspace: batch_norm_stats and batch_norm_backward take a device buffer of
// batch_norm_workspace(g) doubles. Channels with many values are split into chunks (a
// shape-only choice) whose partial results are merged in chunk order: deterministic, no atomics.
#pragma once
#include <cstdint>

#include "kernels/cpu/norm.h"
#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

using cpu::BatchNormGeometry;
struct NormTable;

XGD_CUDA_ABI_BEGIN
int64_t batch_norm_workspace(const BatchNormGeometry& g);

// Training statistics with Welford's algorithm (per thread, then Chan's parallel merge across
// threads and chunks): mean, BIASED var and invstd = 1/sqrt(var + eps) per channel (C each).
template <class T>
void batch_norm_stats(const T* x, const BatchNormGeometry& g, double eps, double* mean, double* var,
                      double* invstd, double* workspace, cudaStream_t stream);

// Evaluation statistics from the running ones: mean = running_mean, invstd from running_var.
template <class T>
void batch_norm_eval_stats(const T* running_mean, const T* running_var, int64_t c, double eps,
                           double* mean, double* invstd, cudaStream_t stream);

// y = (x - mean)·invstd·weight + bias per channel; weight/bias may be null (1 and 0).
template <class T>
void batch_norm_forward(const T* x, T* y, const BatchNormGeometry& g, const double* mean,
                        const double* invstd, const T* weight, const T* bias, cudaStream_t stream);

// As cpu::batch_norm_backward: any of dx, dweight, dbias may be null; weight may be null.
template <class T>
void batch_norm_backward(const T* x, const T* dy, T* dx, T* dweight, T* dbias,
                         const BatchNormGeometry& g, const double* mean, const double* invstd,
                         const T* weight, bool training, double* workspace, cudaStream_t stream);

// As cpu::batch_norm_update_running (unbiased variance, PyTorch's momentum), in place.
template <class T>
void batch_norm_update_running(T* running_mean, T* running_var, const double* mean,
                               const double* var, int64_t c, int64_t count, double momentum,
                               cudaStream_t stream);

// *counter += 1 on the device (num_batches_tracked without a host round trip).
void increment_counter(int64_t* counter, cudaStream_t stream);

const NormTable& norm_table();
XGD_CUDA_ABI_END

template <class T>
struct NormFns {
  decltype(&cuda::batch_norm_stats<T>) stats;
  decltype(&cuda::batch_norm_eval_stats<T>) eval_stats;
  decltype(&cuda::batch_norm_forward<T>) forward;
  decltype(&cuda::batch_norm_backward<T>) backward;
  decltype(&cuda::batch_norm_update_running<T>) update_running;
};

struct NormTable {
  decltype(&cuda::batch_norm_workspace) workspace;
  decltype(&cuda::increment_counter) increment_counter;
  NormFns<float> f32;
  NormFns<double> f64;
  template <class T>
  const NormFns<T>& of() const {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

}  // namespace xgd::kernels::cuda
