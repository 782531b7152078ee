// The one table of tolerances of the CUDA-vs-CPU parity tests (emu and gpu), after ggml's
// test-backend-ops: an element passes when |cuda - cpu| <= atol + rtol·|cpu| (NaN = NaN).
// rtol = ulps · eps(dtype), where ulps is the op's budget: the CUDA library's maximum error
// (CUDA C Programming Guide, "Mathematical Functions": expf 2, logf 1, powf 4; exp, log 1 and
// pow 2 in double) plus 1 for the host libm. IEEE-exact operations (+ - * /, sqrt with nvcc's
// default -prec-div/-prec-sqrt, comparisons) have budget 0: the backends agree bit for bit.
// Reductions add atol = 2 · length · eps(double) · max|input| for the summation order (both
// backends accumulate in double).
#pragma once
#include <cmath>
#include <limits>
#include <string>

#include "engine/error.h"

namespace xgd::test {

struct ParityEntry {
  const char* op;
  double ulps_f32, ulps_f64;
  bool reduction;
  const char* why;
};

inline constexpr ParityEntry kParityTable[] = {
    {"add", 0, 0, false, "IEEE add"},
    {"sub", 0, 0, false, "IEEE sub"},
    {"mul", 0, 0, false, "IEEE mul"},
    {"div", 0, 0, false, "IEEE div (-prec-div=true)"},
    {"scalar_affine", 0, 0, false, "x·s + t kept unfused (__fmul_rn), as the CPU"},
    {"scalar_rdiv", 0, 0, false, "IEEE div"},
    {"neg", 0, 0, false, "exact"},
    {"abs", 0, 0, false, "exact"},
    {"relu", 0, 0, false, "comparison"},
    {"relu6", 0, 0, false, "comparisons"},
    {"clamp", 0, 0, false, "comparisons"},
    {"sqrt", 0, 0, false, "IEEE sqrt (-prec-sqrt=true)"},
    {"exp", 3, 2, false, "expf 2 ulp / exp 1 ulp, host 1"},
    {"log", 2, 2, false, "logf 1 ulp / log 1 ulp, host 1"},
    {"pow", 5, 3, false, "powf 4 ulp / pow 2 ulp, host 1; x·x exactly for e = 2"},
    {"relu_backward", 0, 0, false, "select"},
    {"relu6_backward", 0, 0, false, "select"},
    {"clamp_backward", 0, 0, false, "select"},
    {"abs_backward", 0, 0, false, "dy · sign(x): exact"},
    {"pow_backward", 7, 5, false, "pow's budget + 2 roundings (dy · e · x^(e-1))"},
    {"sum_to", 1, 1, true, "double accumulation, one final rounding"},
    {"composite", 7, 5, false, "exact ops around one transcendental: its budget + 2 roundings"},
    // conv2d (kernels/cuda/conv.cu vs kernels/cpu/conv.cpp): sums of L products (forward
    // L = C/groups·KH·KW, backward-data K/groups·KH·KW, backward-weight and -bias N·OH·OW)
    // accumulated in T by both backends in different orders (64×64 implicit-GEMM tiles vs
    // im2col + blocked GEMM). Each is within ~eps(T)·Σ|terms| <= eps(T)·L·max|a|·max|b| of the
    // exact sum, so the tests pass max|a|·max|b|·eps(T)/eps(double) as max_abs (the reduction
    // atol assumes double accumulation): atol = 2·L·eps(T)·max|a|·max|b|, one bound per backend.
    {"conv2d_forward", 1, 1, true, "dot products in T; 1 ulp for the bias add"},
    {"conv2d_backward_data", 1, 1, true, "dot products in T (a gather: no atomics)"},
    {"conv2d_backward_weight", 1, 1, true, "dot products in T; split partials summed in T"},
    {"conv2d_backward_bias", 1, 1, true, "sums in T on the CPU, in double on CUDA"},
    // depthwise conv2d and pooling (kernels/cuda/conv_depthwise.cu, kernels/cuda/pool.cu).
    // Depthwise sums accumulate in T on both backends, in different orders (the GPU contracts
    // to FMA): reduction rows whose tests pass max_abs scaled by eps(T) / eps(double), so atol
    // = 2 · terms · eps(T) · max|term|; 2 ulps for the last roundings.
    {"depthwise_forward", 2, 2, true, "KH·KW products (+ bias) summed in T, another order"},
    {"depthwise_backward_data", 2, 2, true, "m·KH·KW products summed in T, another order"},
    {"depthwise_backward_weight", 2, 2, true, "N·OH·OW products summed in T: block tree order"},
    {"max_pool2d", 0, 0, false, "comparisons (max_pool_takes): the same element and index"},
    {"max_pool2d_backward", 0, 0, false, "gather in the CPU's scatter order: same additions"},
    {"avg_pool2d", 0, 0, false, "double window sum in the CPU's order, one division"},
    {"avg_pool2d_backward", 0, 0, false, "the CPU's shares (dy / divisor in T), in its order"},
    {"adaptive_avg_pool2d", 1, 1, true, "double sums (large bins: warp order), 1 final rounding"},
    {"adaptive_avg_pool2d_backward", 0, 0, false, "the CPU's shares, in its order"},
    // reductions, batch norm, matmul/linear (kernels/cuda/{reduce,norm,linear}.cu)
    {"reduce_sum", 1, 1, true, "double accumulation in both, order differs; one final rounding"},
    {"reduce_extreme", 0, 0, false, "max/min selects a value: exact (NaN = NaN)"},
    {"arg_extreme", 0, 0, false, "select and first index: exact"},
    {"scatter_index_backward", 0, 0, false, "copies g"},
    {"expand_reduced", 0, 0, false, "g · scale: one IEEE mul, as the CPU"},
    {"extreme_backward_even", 0, 0, false, "g / count with an exact tie count: one IEEE div"},
    {"batch_norm_stats", 4, 4, true,
     "double: Welford + Chan merges vs the CPU's two passes, a few roundings apart; the "
     "reduction atol covers the order (compare in double, f64 = true)"},
    {"batch_norm_eval_stats", 0, 0, false, "copy and 1/sqrt(v + eps): IEEE ops"},
    {"batch_norm_forward", 0, 0, false, "x·alpha + beta kept unfused (mul_rn), as the CPU"},
    {"batch_norm_update_running", 0, 0, false, "same double ops, kept unfused (mul_rn)"},
    {"batch_norm_backward", 4, 4, false,
     "the per-channel sums (double, order differs) are rounded to T in mean(dy) and k, then "
     "cancel in dy - mean(dy) - (x - mean)·k: the tests scale rtol by max|reference| as atol "
     "(engine tests of training mode: by max|x|·max|invstd·w|, alpha and beta being 1 ulp off)"},
    {"gemm", 2, 2, false,
     "T accumulation (FMA on the GPU) in another order than the CPU's: per product term; the "
     "test uses atol = rtol · K · max|op(A)| · max|op(B)| (the classic K·eps bound)"},
    {"sum_rows", 2, 2, false,
     "the CPU accumulates in T, the GPU in double: atol = rtol · rows · max|dy|, as gemm"},
    // interpolate, shape ops, fill/cast (kernels/cuda/{interpolate,shape_ops,tensor}.cu)
    {"bilinear_forward", 0, 0, false,
     "same taps (fma as the CPU), same unfused products and sums in the CPU's order"},
    {"bilinear_backward", 0, 0, false,
     "gather adds the CPU scatter's terms, unfused, in the CPU's order per element"},
    {"copy", 0, 0, false, "concat/slice/transpose/fill: byte copies"},
    {"one_hot", 0, 0, false, "writes 0 or 1"},
    {"cast", 0, 0, false, "static_cast on both sides, in-range values (IEEE rounding)"},
    // optim (kernels/cuda/optim.cu): the same fma / IEEE div / IEEE sqrt sequence on both sides
    {"sgd_step", 0, 0, false, "fma and IEEE ops in the order of kernels/common/optim.h"},
    {"adam_step", 0, 0, false, "fma, IEEE div and sqrt in the order of kernels/common/optim.h"},
    // cam (kernels/cuda/cam.cu)
    {"cam_channel_mean", 1, 1, true, "double accumulation (block tree vs sequential), 1 rounding"},
    {"gradcampp_weights", 3, 3, true,
     "Σ A rounded to T may differ by 1 ulp (summation order), moving each term by <= 2 ulps; "
     "then a double sum, 1 rounding"},
    {"cam_weighted_sum_relu", 0, 0, false, "exact products, double sum in k order on both sides"},
    {"cam_weighted_sum_relu_backward", 0, 0, false, "select and one IEEE mul"},
    {"minmax_normalise", 0, 0, false, "exact min/max, IEEE sub and div"},
    {"minmax_normalise_backward", 2, 2, true,
     "Σ dy, Σ dy·y in double (chunked tree vs sequential), divided and rounded, added to dy/D"},
    // softmax, losses, dropout, random fills (kernels/cuda/{softmax,loss,dropout,random}.cu).
    // The class sums: both backends add C terms in T, in class order, the device with online
    // rescaling (kernels/common/softmax.h); their tests add 2·C ulps for them (Higham's bound
    // (C − 1)·eps per side), relative to the value and, for log-domain values that cancel,
    // absolute in units of the logits' magnitude (tests/emu/softmax_parity_test.cpp, class_tol).
    {"softmax", 4, 3, false, "expf 2 / exp 1 ulp + host 1, one product (+ 2·C for the sum)"},
    {"log_softmax", 3, 3, false, "logf 1 / log 1 ulp + host 1, one subtraction (+ 2·C)"},
    {"softmax_backward", 2, 2, false, "dy − dot, · y: 2 roundings (+ 2·C for the dot)"},
    {"log_softmax_backward", 5, 4, false, "exp budget + 2 roundings (+ 2·C for Σ dy)"},
    {"cross_entropy", 6, 5, false, "per pixel exp + log budgets + 2 roundings (+ 2·C)"},
    {"cross_entropy_backward", 5, 4, false, "exp budget + 2 roundings (+ 2·C via lse)"},
    {"kl_div", 8, 7, false, "two log-sum-exps and log(S_t/S_s): exp + 2 log budgets (+ 2·C)"},
    {"kl_div_backward", 8, 7, false, "two exps (p_t, p_s) + 3 roundings (+ 2·C via lse, kl)"},
    {"mse", 1, 1, true, "double accumulation of exact squares, one final rounding"},
    {"mse_backward", 0, 0, false, "scale in double as the CPU, then IEEE sub and mul"},
    {"dropout", 0, 0, false, "the same Philox words, integer compares, one IEEE product"},
    {"uniform_fill", 0, 0, false, "the same Philox words, IEEE ops in double, rounded products"},
    {"normal_fill", 1, 5, false, "CUDA log 1 + cos 2 ulp in double + host 1, then rounding to T"},
};

struct Tol {
  double atol, rtol;
};

// Tolerance of `op` for float (f64 = false) or double, reductions of `length` terms of at most
// `max_abs` in magnitude. Unknown ops are an error, so every parity test is in the table.
inline Tol parity_tolerance(const std::string& op, bool f64, double length = 0,
                            double max_abs = 0) {
  for (const ParityEntry& e : kParityTable) {
    if (op != e.op) continue;
    const double eps = f64 ? std::numeric_limits<double>::epsilon()
                           : double(std::numeric_limits<float>::epsilon());
    Tol t{0, (f64 ? e.ulps_f64 : e.ulps_f32) * eps};
    if (e.reduction) t.atol = 2 * length * std::numeric_limits<double>::epsilon() * max_abs;
    return t;
  }
  XGD_FAIL("parity_tolerance: op ", op, " is not in the table (tests/emu/tolerance.h)");
}

}  // namespace xgd::test
