// Matrix products: forward and backward together, all through kernels/cpu/gemm on the CPU and
// kernels/cuda/linear's tiled GEMM on Device::CUDA (row-major, transposes instead of transposed
// copies). Backward overwrites (=) fresh gradient tensors;
// autograd accumulates them into .grad.
//   matmul  C = A·B        dA = dC·Bᵀ          dB = Aᵀ·dC          (per batch when 3-D)
//   linear  y = x·Wᵀ + b   dx = dy·W           dW = dyᵀ·x          db = Σ_rows dy
#include "engine/ops/linear.h"

#include "engine/ops/op_util.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/linear.h"
#include "kernels/cuda/linear.h"

namespace xgd {

using autograd::record;
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

namespace {

bool on_cpu(const Tensor& t) {
  return t.device() == Device::CPU;
}
template <class T>
const kernels::cuda::LinearFns<T>& cuda_fns(const char* op) {
  return ops::cuda_kernels<kernels::cuda::LinearTable>(op).template of<T>();
}

// C (m×n) = op(A)·op(B) [+ bias per column] on either device; lda/ldb as stored, ldc = n.
template <class T>
void gemm_on(const Tensor& like, const char* op, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
             const T* a, int64_t lda, const T* b, int64_t ldb, const T* bias, T* c) {
  if (on_cpu(like)) {
    T beta = T(0);
    if (bias) {
      kernels::cpu::fill_rows<T>(bias, c, m, n);
      beta = T(1);
    }
    return kernels::cpu::gemm<T>(ta, tb, m, n, k, T(1), a, lda, b, ldb, beta, c, n);
  }
  cuda_fns<T>(op).gemm(ta, tb, 1, m, n, k, T(1), a, lda, 0, b, ldb, 0, bias, T(0), c, n, 0,
                       ops::cuda_stream());
}

// out[b] = op(a[b]) · op(b[b]) for `batch` stacked row-major matrices; op(a[b]) is m×k and
// op(b[b]) is k×n (stored k×m / n×k when transposed). out must be (batch, m, n).
template <class T>
void batched_gemm(bool ta, bool tb, int64_t batch, int64_t m, int64_t n, int64_t k, const T* a,
                  const T* b, T* out) {
  const int64_t lda = ta ? m : k, ldb = tb ? k : n;
  const int64_t sa = m * k, sb = k * n, sc = m * n;
  // Small matrices: one single-threaded gemm per batch entry across threads (gemm runs on the
  // calling thread inside a parallel region); large ones: gemm threads each product itself.
  // Tiny totals (< 2 MFLOP, gemm's own threshold) stay on this thread: waking a team costs more.
  const double flop = 2.0 * double(m) * double(n) * double(k);
  const bool per_batch = batch > 1 && flop < 4e6 && flop * double(batch) > 2e6;
#pragma omp parallel for schedule(static) if (per_batch)
  for (int64_t i = 0; i < batch; ++i)
    kernels::cpu::gemm<T>(ta, tb, m, n, k, T(1), a + i * sa, lda, b + i * sb, ldb, T(0),
                          out + i * sc, n);
}

// op(a)·op(b) on (…, rows, cols) tensors of rank 2 or 3 with the shapes already checked.
Tensor mm(const Tensor& a, bool ta, const Tensor& b, bool tb, const char* op) {
  const bool batched = a.dim() == 3;
  const int64_t batch = batched ? a.size(0) : 1;
  const int64_t m = ta ? a.size(-1) : a.size(-2), k = ta ? a.size(-2) : a.size(-1);
  const int64_t n = tb ? b.size(-2) : b.size(-1);
  Tensor out = Tensor::empty(batched ? Shape{batch, m, n} : Shape{m, n}, a.dtype(), a.device());
  dispatch_float(a.dtype(), op, [&]<class T>() {
    if (on_cpu(a))
      return batched_gemm<T>(ta, tb, batch, m, n, k, a.data<T>(), b.data<T>(), out.data<T>());
    cuda_fns<T>(op).gemm(ta, tb, batch, m, n, k, T(1), a.data<T>(), ta ? m : k, m * k, b.data<T>(),
                         tb ? k : n, k * n, nullptr, T(0), out.data<T>(), n, m * n,
                         ops::cuda_stream());
  });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  ops::check_float_input(a, "matmul", "a");
  ops::check_float_input(b, "matmul", "b");
  check_same_device_dtype(a, b, "matmul");
  XGD_CHECK((a.dim() == 2 && b.dim() == 2) || (a.dim() == 3 && b.dim() == 3),
            "matmul: expected two 2-d (M×K, K×N) or two 3-d (B×M×K, B×K×N) tensors, got ", a.str(),
            " and ", b.str());
  XGD_CHECK(a.size(-1) == b.size(-2), "matmul: inner dimensions differ: ", shape_str(a.shape()),
            " · ", shape_str(b.shape()), " (", a.size(-1), " vs ", b.size(-2), ")");
  XGD_CHECK(a.dim() == 2 || a.size(0) == b.size(0),
            "matmul: batch sizes differ: ", shape_str(a.shape()), " · ", shape_str(b.shape()));
  Tensor out = mm(a, false, b, false, "matmul");
  Tensor sa = a.detach(), sb = b.detach();
  return record(out, "matmul", {a, b}, [sa, sb](const Tensor& dc, const Need& need) {
    return Grads{need[0] ? mm(dc, false, sb, true, "matmul_backward") : Tensor(),   // dC·Bᵀ
                 need[1] ? mm(sa, true, dc, false, "matmul_backward") : Tensor()};  // Aᵀ·dC
  });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  ops::check_float_input(x, "linear", "input");
  ops::check_float_input(weight, "linear", "weight");
  check_same_device_dtype(x, weight, "linear");
  XGD_CHECK(x.dim() >= 1, "linear: input must have at least 1 dim, got ", x.str());
  XGD_CHECK(weight.dim() == 2, "linear: weight must be 2-d (out_features×in_features), got ",
            weight.str());
  XGD_CHECK(x.size(-1) == weight.size(1), "linear: input ", shape_str(x.shape()), " has ",
            x.size(-1), " features but weight ", shape_str(weight.shape()), " expects ",
            weight.size(1));
  const int64_t in = weight.size(1), outf = weight.size(0);
  if (bias.defined()) {
    ops::check_float_input(bias, "linear", "bias");
    check_same_device_dtype(x, bias, "linear");
    XGD_CHECK(bias.dim() == 1 && bias.size(0) == outf, "linear: bias must be [", outf,
              "] for weight ", shape_str(weight.shape()), ", got ", bias.str());
  }
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);  // (…, out): x's leading dims
  const int64_t rows = shape_numel(out_shape);
  out_shape.push_back(outf);
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());  // (rows, out)
  dispatch_float(x.dtype(), "linear", [&]<class T>() {
    // y (rows, out) = x (rows, in) · Wᵀ (in, out) [+ bias]
    gemm_on<T>(x, "linear", false, true, rows, outf, in, x.data<T>(), in, weight.data<T>(), in,
               bias.defined() ? bias.data<T>() : nullptr, y.data<T>());
  });
  Tensor sx = x.detach(), sw = weight.detach();
  Shape x_shape = x.shape();
  return record(y, "linear", {x, weight, bias},
                [sx, sw, x_shape, rows, in, outf](const Tensor& dy, const Need& need) {
                  Grads g(3);
                  dispatch_float(dy.dtype(), "linear_backward", [&]<class T>() {
                    if (need[0]) {  // dx (rows, in) = dy (rows, out) · W (out, in)
                      g[0] = Tensor::empty(x_shape, dy.dtype(), dy.device());
                      gemm_on<T>(dy, "linear_backward", false, false, rows, in, outf, dy.data<T>(),
                                 outf, sw.data<T>(), in, nullptr, g[0].data<T>());
                    }
                    if (need[1]) {  // dW (out, in) = dyᵀ (out, rows) · x (rows, in)
                      g[1] = Tensor::empty({outf, in}, dy.dtype(), dy.device());
                      gemm_on<T>(dy, "linear_backward", true, false, outf, in, rows, dy.data<T>(),
                                 outf, sx.data<T>(), in, nullptr, g[1].data<T>());
                    }
                    if (need[2]) {  // db (out) = Σ_rows dy
                      g[2] = Tensor::empty({outf}, dy.dtype(), dy.device());
                      if (on_cpu(dy))
                        kernels::cpu::sum_rows<T>(dy.data<T>(), g[2].data<T>(), rows, outf);
                      else
                        cuda_fns<T>("linear_backward")
                            .sum_rows(dy.data<T>(), g[2].data<T>(), rows, outf, ops::cuda_stream());
                    }
                  });
                  return g;
                });
}

}  // namespace xgd
