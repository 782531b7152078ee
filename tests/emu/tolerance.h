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
