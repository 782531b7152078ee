// Losses: forward and backward together. Kernels: kernels/cpu/loss.*, per-element maths:
// kernels/common/loss.h.
//   cross_entropy  dx = dL / count · (softmax(x) − onehot(label)), 0 on ignored pixels
//   kl_div         ds = dL · tau / pixels · (p_s − p_t)
//                  dt = dL · tau / pixels · p_t · (log p_t − log p_s − KL_pixel)
//   mse            da = dL · 2 (a − b) / numel, db = −da
#include "engine/ops/loss.h"

#include <cmath>
#include <sstream>

#include "engine/ops/op_util.h"
#include "kernels/cpu/loss.h"

namespace xgd {

using autograd::record;
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

namespace {

Tensor scalar_like(double v, const Tensor& like) {
  Tensor out = Tensor::empty({}, like.dtype(), like.device());
  dispatch_float(like.dtype(), "loss", [&]<class T>() { *out.data<T>() = static_cast<T>(v); });
  return out;
}

// (N, C, P) view of logits N×C×d1×…×dk; P = d1·…·dk (1 for N×C).
void ncp(const Tensor& x, int64_t& N, int64_t& C, int64_t& P) {
  N = x.shape()[0], C = x.shape()[1], P = 1;
  for (int64_t d = 2; d < x.dim(); ++d) P *= x.shape()[d];
}

// "(n, h, w) = (1, 3, 4)" for N×H×W labels, "(n) = (3)" for N labels.
std::string label_position(const Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  std::ostringstream s;
  if (shape.size() == 3)
    s << "(n, h, w) = (";
  else if (shape.size() == 1)
    s << "(n) = (";
  else
    s << "index (";
  for (size_t d = 0; d < idx.size(); ++d) s << (d ? ", " : "") << idx[d];
  s << ")";
  return s.str();
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& labels, int64_t ignore_index) {
  const char* op = "cross_entropy";
  ops::check_float_input(logits, op, "logits");
  check_defined(labels, op, "labels");
  ops::require_cpu(logits, op);
  ops::require_cpu(labels, op);
  XGD_CHECK(labels.dtype() == DType::I64, op, ": labels must be int64, got ", labels.str());
  XGD_CHECK(logits.dim() >= 2, op, ": logits must be N×C or N×C×H×W, got ", logits.str());
  Shape want = logits.shape();
  want.erase(want.begin() + 1);  // labels: the logits' shape without the class dim
  XGD_CHECK(labels.shape() == want, op, ": labels ", labels.str(), " do not match logits ",
            logits.str(), " (expected labels of shape ", shape_str(want), ")");
  int64_t N, C, P;
  ncp(logits, N, C, P);
  XGD_CHECK(C > 0, op, ": logits have no classes: ", logits.str());
  const int64_t* y = labels.data<int64_t>();
  int64_t bad = kernels::cpu::first_bad_label(y, labels.numel(), C, ignore_index);
  XGD_CHECK(bad < 0, op, ": label ", y[bad], " at ", label_position(labels.shape(), bad),
            " is outside [0, ", C, ") and is not ignore_index ", ignore_index);

  Tensor lse = Tensor::empty({N, P}, logits.dtype(), logits.device());  // per-pixel log-sum-exp
  double total = 0;
  int64_t count = 0;
  dispatch_float(logits.dtype(), op, [&]<class T>() {
    kernels::cpu::cross_entropy_forward<T>(logits.data<T>(), y, N, C, P, ignore_index,
                                           lse.data<T>(), &total, &count);
  });
  // Every pixel ignored: 0 with zero gradient (PyTorch gives 0/0 = NaN).
  Tensor out = scalar_like(count > 0 ? total / static_cast<double>(count) : 0.0, logits);
  Tensor xs = logits.detach(), ys = labels.detach();
  return record(out, op, {logits},
                [xs, ys, lse, count, ignore_index, N, C, P, op](const Tensor& g, const Need&) {
                  Tensor dx = Tensor::empty(xs.shape(), xs.dtype(), xs.device());  // (N, C, P)
                  const double scale = count > 0 ? g.item() / static_cast<double>(count) : 0.0;
                  dispatch_float(xs.dtype(), op, [&]<class T>() {
                    kernels::cpu::cross_entropy_backward<T>(xs.data<T>(), ys.data<int64_t>(),
                                                            lse.data<T>(), N, C, P, ignore_index,
                                                            T(scale), dx.data<T>());
                  });
                  return Grads{dx};
                });
}

Tensor kl_div(const Tensor& teacher_logits, const Tensor& student_logits, double tau) {
  const char* op = "kl_div";
  const Tensor &t = teacher_logits, &s = student_logits;
  ops::check_float_input(t, op, "teacher logits");
  ops::check_float_input(s, op, "student logits");
  check_same_device_dtype(t, s, op);
  ops::require_cpu(t, op);
  XGD_CHECK(t.shape() == s.shape(), op, ": teacher ", t.str(), " and student ", s.str(),
            " logits differ in shape");
  XGD_CHECK(t.dim() >= 2, op, ": logits must be N×C or N×C×H×W, got ", t.str());
  XGD_CHECK(tau > 0 && std::isfinite(tau), op, ": tau must be a positive number, got ", tau);
  int64_t N, C, P;
  ncp(t, N, C, P);
  const int64_t pixels = N * P;
  Tensor lse_t = Tensor::empty({N, P}, t.dtype(), t.device());
  Tensor lse_s = Tensor::empty({N, P}, t.dtype(), t.device());
  Tensor kl = Tensor::empty({N, P}, t.dtype(), t.device());  // per-pixel KL(p_t || p_s)
  double total = 0;
  dispatch_float(t.dtype(), op, [&]<class T>() {
    kernels::cpu::kl_div_forward<T>(t.data<T>(), s.data<T>(), N, C, P, T(1.0 / tau),
                                    lse_t.data<T>(), lse_s.data<T>(), kl.data<T>(), &total);
  });
  // A mean over zero pixels is NaN, as PyTorch's .mean() of an empty tensor.
  Tensor out = scalar_like(tau * tau * total / static_cast<double>(pixels), t);
  Tensor ts = t.detach(), ss = s.detach();
  return record(
      out, op, {t, s},
      [ts, ss, lse_t, lse_s, kl, tau, pixels, N, C, P, op](const Tensor& g, const Need& need) {
        Tensor dt = need[0] ? Tensor::empty(ts.shape(), ts.dtype(), ts.device()) : Tensor();
        Tensor ds = need[1] ? Tensor::empty(ss.shape(), ss.dtype(), ss.device()) : Tensor();
        const double coef = g.item() * tau * tau / static_cast<double>(pixels);
        dispatch_float(ts.dtype(), op, [&]<class T>() {
          kernels::cpu::kl_div_backward<T>(ts.data<T>(), ss.data<T>(), lse_t.data<T>(),
                                           lse_s.data<T>(), kl.data<T>(), N, C, P, T(1.0 / tau),
                                           T(coef), need[0] ? dt.data<T>() : nullptr,
                                           need[1] ? ds.data<T>() : nullptr);
        });
        return Grads{dt, ds};
      });
}

Tensor mse(const Tensor& a, const Tensor& b) {
  const char* op = "mse";
  ops::check_float_input(a, op, "a");
  ops::check_float_input(b, op, "b");
  check_same_device_dtype(a, b, op);
  ops::require_cpu(a, op);
  XGD_CHECK(a.shape() == b.shape(), op, ": shapes differ: ", a.str(), " and ", b.str(),
            " (no broadcasting)");
  const int64_t n = a.numel();
  double total = 0;
  dispatch_float(a.dtype(), op, [&]<class T>() {
    total = kernels::cpu::squared_error_sum<T>(a.data<T>(), b.data<T>(), n);
  });
  Tensor out = scalar_like(total / static_cast<double>(n), a);  // n = 0: NaN, as PyTorch
  Tensor as = a.detach(), bs = b.detach();
  return record(out, op, {a, b}, [as, bs, n, op](const Tensor& g, const Need& need) {
    Tensor da = need[0] ? Tensor::empty(as.shape(), as.dtype(), as.device()) : Tensor();
    Tensor db = need[1] ? Tensor::empty(bs.shape(), bs.dtype(), bs.device()) : Tensor();
    const double scale = 2.0 * g.item() / static_cast<double>(n);
    dispatch_float(as.dtype(), op, [&]<class T>() {
      kernels::cpu::mse_backward<T>(as.data<T>(), bs.data<T>(), n, T(scale),
                                    need[0] ? da.data<T>() : nullptr,
                                    need[1] ? db.data<T>() : nullptr);
    });
    return Grads{da, db};
  });
}

}  // namespace xgd
