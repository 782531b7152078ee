// CPU kernels of the fused losses: raw pointers and sizes only (DESIGN.md §2). Logits are
// viewed as (N, C, P) with P = H·W pixels (1 for N×C), so the per-class loops stride P and the
// pixel loops are contiguous. Backward kernels overwrite (=).
#pragma once
#include <cstdint>

namespace xgd::kernels::cpu {

// Index of the first label outside [0, C) that is not ignore_index, or -1.   labels: (n,)
int64_t first_bad_label(const int64_t* labels, int64_t n, int64_t C, int64_t ignore_index);

// Per-pixel log-sum-exp into lse (N, P); *loss_sum = Σ over non-ignored pixels of
// lse − x[label] (in double), *count = their number. Labels must be valid (first_bad_label).
template <class T>
void cross_entropy_forward(const T* x, const int64_t* labels, int64_t N, int64_t C, int64_t P,
                           int64_t ignore_index, T* lse, double* loss_sum, int64_t* count);
// dx (N, C, P) = scale · (softmax − onehot) on non-ignored pixels, 0 on ignored ones.
template <class T>
void cross_entropy_backward(const T* x, const int64_t* labels, const T* lse, int64_t N, int64_t C,
                            int64_t P, int64_t ignore_index, T scale, T* dx);

// Per pixel of t, s (N, C, P): lse_t, lse_s of t/tau, s/tau and kl = KL(p_t || p_s), all
// (N, P); *kl_sum = Σ kl in double.
template <class T>
void kl_div_forward(const T* t, const T* s, int64_t N, int64_t C, int64_t P, T inv_tau, T* lse_t,
                    T* lse_s, T* kl, double* kl_sum);
// dt, ds (N, C, P) (either may be null) of coef · Σ kl, coef = dL · tau² / pixels.
template <class T>
void kl_div_backward(const T* t, const T* s, const T* lse_t, const T* lse_s, const T* kl, int64_t N,
                     int64_t C, int64_t P, T inv_tau, T coef, T* dt, T* ds);

// Σ (a − b)² in double (fixed chunking: independent of the thread count).
template <class T>
double squared_error_sum(const T* a, const T* b, int64_t n);
// da = scale · (a − b), db = −da (either may be null).
template <class T>
void mse_backward(const T* a, const T* b, int64_t n, T scale, T* da, T* db);

}  // namespace xgd::kernels::cpu
