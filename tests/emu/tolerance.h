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
    {"batch_norm_forward", 0, 0, false, "x·alpha + beta kept unfused (bn_mul), as the CPU"},
    {"batch_norm_update_running", 0, 0, false, "same double ops, kept unfused (bn_mul)"},
    {"batch_norm_backward", 4, 4, false,
     "the per-channel sums (double, order differs) are rounded to T in mean(dy) and k, then "
     "cancel in dy - mean(dy) - (x - mean)·k: the tests scale rtol by max|reference| as atol "
     "(engine tests of training mode: by max|x|·max|invstd·w|, alpha and beta being 1 ulp off)"},
    {"gemm", 2, 2, false,
     "T accumulation (FMA on the GPU) in another order than the CPU's: per product term; the "
     "test uses atol = rtol · K · max|op(A)| · max|op(B)| (the classic K·eps bound)"},
    {"sum_rows", 2, 2, false,
     "the CPU accumulates in T, the GPU in double: atol = rtol · rows · max|dy|, as gemm"},
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
