// CPU kernels of batch normalisation: raw pointers and sizes only (DESIGN.md §2).
// x, y, dy, dx are (N, C, HW) contiguous; per-channel statistics are double (C).
// The backward kernel OVERWRITES dx, dweight and dbias (=).
#pragma once
#include <cstdint>

namespace xgd::kernels::cpu {

struct BatchNormGeometry {
  int64_t n = 0, c = 0, hw = 0;
};

// mean (C), var (C): batch mean and BIASED variance per channel, two passes in double.
template <class T>
void batch_norm_stats(const T* x, const BatchNormGeometry& g, double* mean, double* var);

// y = (x - mean)·invstd·weight + bias per channel; weight/bias may be null (1 and 0).
template <class T>
void batch_norm_forward(const T* x, T* y, const BatchNormGeometry& g, const double* mean,
                        const double* invstd, const T* weight, const T* bias);

// Gradients of batch_norm_forward. training: mean/invstd are the batch statistics and dx goes
// through them; otherwise they are the (constant) running statistics. Any of dx, dweight,
// dbias may be null (not needed); weight may be null (1).
template <class T>
void batch_norm_backward(const T* x, const T* dy, T* dx, T* dweight, T* dbias,
                         const BatchNormGeometry& g, const double* mean, const double* invstd,
                         const T* weight, bool training);

// running_mean/var (C) updated in place from the batch statistics (count = N·HW values per
// channel; running_var takes the unbiased variance var·count/(count-1)).
template <class T>
void batch_norm_update_running(T* running_mean, T* running_var, const double* mean,
                               const double* var, int64_t c, int64_t count, double momentum);

}  // namespace xgd::kernels::cpu
