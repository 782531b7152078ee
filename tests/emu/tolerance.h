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
