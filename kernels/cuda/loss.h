// CUDA kernels of the fused losses, as kernels/cpu/loss.h: logits viewed as (N, C, P) with
// P = H·W pixels (1 for N×C). Launchers on device pointers, enqueued on `stream`, never
// synchronising: the loss, its pixel count and the first bad label stay on the device as
// one-element outputs, and the backward launchers read the upstream gradient dloss (one
// element) on the device too. Backward kernels overwrite (=). Per-element maths from
// kernels/common/loss.h. Plain C++: the engine includes it for LossTable.
//
// Totals are deterministic: each block of the per-pixel pass sums its pixels in double and
// writes one partial into `workspace` (loss_workspace_bytes(items) bytes, items = N·P pixels or
// the n elements of mse; the caller allocates it, no cudaMalloc here); one block then adds the
// partials in a fixed order. Reruns give the same bits.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

struct LossTable;

XGD_CUDA_ABI_BEGIN
size_t loss_workspace_bytes(int64_t items);

// Per-pixel log-sum-exp into lse (N, P); loss (1,) = mean over the pixels whose label is not
// ignore_index of lse − x[label], 0 when there are none; count (1,) = their number;
// first_bad (1,) = the flat index of the first label outside [0, C) that is not ignore_index,
// or −1 (such pixels are skipped, never read out of range).   x: (N, C, P), labels: (N, P)
template <class T>
void cross_entropy_forward(const T* x, const int64_t* labels, int64_t N, int64_t C, int64_t P,
                           int64_t ignore_index, T* lse, T* loss, int64_t* count,
                           int64_t* first_bad, void* workspace, cudaStream_t stream);
// dx (N, C, P) = (dloss / count) · (softmax − onehot) on non-ignored pixels, 0 on ignored
// ones (and everywhere when count = 0). The scale is taken in double, as the CPU's.
template <class T>
void cross_entropy_backward(const T* x, const int64_t* labels, const T* lse, int64_t N, int64_t C,
                            int64_t P, int64_t ignore_index, const T* dloss, const int64_t* count,
                            T* dx, cudaStream_t stream);

// Fused softmax–KL: one pass over t, s (N, C, P) per pixel gives lse_t, lse_s of t/tau, s/tau
// and kl = KL(p_t || p_s) (N, P); loss (1,) = tau² · Σ kl / (N·P).
template <class T>
void kl_div_forward(const T* t, const T* s, int64_t N, int64_t C, int64_t P, double tau, T* lse_t,
                    T* lse_s, T* kl, T* loss, void* workspace, cudaStream_t stream);
// dt, ds (N, C, P) (either may be null) of dloss · tau² / (N·P) · Σ kl.
template <class T>
void kl_div_backward(const T* t, const T* s, const T* lse_t, const T* lse_s, const T* kl, int64_t N,
                     int64_t C, int64_t P, double tau, const T* dloss, T* dt, T* ds,
                     cudaStream_t stream);

// loss (1,) = Σ (a − b)² / n, summed in double.   a, b: (n,)
template <class T>
void mse_forward(const T* a, const T* b, int64_t n, T* loss, void* workspace, cudaStream_t stream);
// da = (2 · dloss / n) · (a − b), db = −da (either may be null).
template <class T>
void mse_backward(const T* a, const T* b, int64_t n, const T* dloss, T* da, T* db,
                  cudaStream_t stream);

const LossTable& loss_table();
XGD_CUDA_ABI_END

template <class T>
struct LossFns {
  decltype(&cuda::cross_entropy_forward<T>) cross_entropy_forward;
  decltype(&cuda::cross_entropy_backward<T>) cross_entropy_backward;
  decltype(&cuda::kl_div_forward<T>) kl_div_forward;
  decltype(&cuda::kl_div_backward<T>) kl_div_backward;
  decltype(&cuda::mse_forward<T>) mse_forward;
  decltype(&cuda::mse_backward<T>) mse_backward;
};

struct LossTable {
  decltype(&cuda::loss_workspace_bytes) workspace_bytes;
  LossFns<float> f32;
  LossFns<double> f64;
  template <class T>
  const LossFns<T>& of() const {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

}  // namespace xgd::kernels::cuda
