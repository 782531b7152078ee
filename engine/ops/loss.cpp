// Losses: forward and backward together. Kernels: kernels/cpu/loss.* on the CPU,
// kernels/cuda/loss.* on Device::CUDA (the registered LossTable; the loss, the pixel count and
// the upstream gradient stay on the device), per-element maths: kernels/common/loss.h.
//   cross_entropy  dx = dL / count · (softmax(x) − onehot(label)), 0 on ignored pixels
//   kl_div         ds = dL · tau / pixels · (p_s − p_t)
//                  dt = dL · tau / pixels · p_t · (log p_t − log p_s − KL_pixel)
//   mse            da = dL · 2 (a − b) / numel, db = −da
#include "engine/ops/loss.h"

#include <cmath>
#include <sstream>

#include "engine/ops/op_util.h"
#include "kernels/cpu/loss.h"
#include "kernels/cuda/loss.h"

namespace xgd {

using autograd::record;
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

namespace {

const kernels::cuda::LossTable& cuda_table(const char* op) {
  return ops::cuda_kernels<kernels::cuda::LossTable>(op);
}
// Scratch for the device's per-block partial sums (through the caching allocator).
Tensor cuda_workspace(int64_t items, Device device, const char* op) {
  const size_t bytes = cuda_table(op).workspace_bytes(items);
  return Tensor::empty({static_cast<int64_t>(bytes)}, DType::U8, device);
}

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

void fail_bad_label(int64_t label, const Shape& shape, int64_t at, int64_t C,
                    int64_t ignore_index) {
  XGD_FAIL("cross_entropy: label ", label, " at ", label_position(shape, at), " is outside [0, ", C,
           ") and is not ignore_index ", ignore_index);
}

// Device path: one fused pass gives lse, the loss and the count on the device.
Tensor cross_entropy_cuda(const Tensor& logits, const Tensor& labels, int64_t ignore_index) {
  const char* op = "cross_entropy";
  int64_t N, C, P;
  ncp(logits, N, C, P);
  const Device dev = logits.device();
  Tensor lse = Tensor::empty({N, P}, logits.dtype(), dev);  // per-pixel log-sum-exp
  Tensor out = Tensor::empty({}, logits.dtype(), dev);
  Tensor count = Tensor::empty({}, DType::I64, dev);  // non-ignored pixels, read by backward
  Tensor bad = Tensor::empty({}, DType::I64, dev);    // first bad label's index, or -1
  Tensor ws = cuda_workspace(N * P, dev, op);
  dispatch_float(logits.dtype(), op, [&]<class T>() {
    cuda_table(op).of<T>().cross_entropy_forward(logits.data<T>(), labels.data<int64_t>(), N, C, P,
                                                 ignore_index, lse.data<T>(), out.data<T>(),
                                                 count.data<int64_t>(), bad.data<int64_t>(),
                                                 ws.raw_data(), ops::cuda_stream());
  });
  // The one host read (a synchronisation) of the call: the labels are checked in the same pass
  // on the device, and a bad one must raise here, as on the CPU. The label's value is fetched
  // only on that error path.
  const auto at = static_cast<int64_t>(bad.item());
  if (at >= 0) {
    const int64_t label = labels.to(Device::CPU).data<int64_t>()[at];
    fail_bad_label(label, labels.shape(), at, C, ignore_index);
  }
  Tensor xs = logits.detach(), ys = labels.detach();
  return record(out, op, {logits},
                [xs, ys, lse, count, ignore_index, N, C, P, op](const Tensor& g, const Need&) {
                  Tensor dx = Tensor::empty(xs.shape(), xs.dtype(), xs.device());  // (N, C, P)
                  XGD_CHECK(g.device() == xs.device(), op, ": gradient ", g.str(),
                            " is not on the logits' device");
                  dispatch_float(xs.dtype(), op, [&]<class T>() {
                    cuda_table(op).of<T>().cross_entropy_backward(
                        xs.data<T>(), ys.data<int64_t>(), lse.data<T>(), N, C, P, ignore_index,
                        g.data<T>(), count.data<int64_t>(), dx.data<T>(), ops::cuda_stream());
                  });
                  return Grads{dx};
                });
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& labels, int64_t ignore_index) {
  const char* op = "cross_entropy";
  ops::check_float_input(logits, op, "logits");
  check_defined(labels, op, "labels");
  XGD_CHECK(labels.device() == logits.device(), op, ": logits ", logits.str(), " and labels ",
            labels.str(), " are on different devices");
  XGD_CHECK(labels.dtype() == DType::I64, op, ": labels must be int64, got ", labels.str());
  XGD_CHECK(logits.dim() >= 2, op, ": logits must be N×C or N×C×H×W, got ", logits.str());
  Shape want = logits.shape();
  want.erase(want.begin() + 1);  // labels: the logits' shape without the class dim
  XGD_CHECK(labels.shape() == want, op, ": labels ", labels.str(), " do not match logits ",
            logits.str(), " (expected labels of shape ", shape_str(want), ")");
  int64_t N, C, P;
  ncp(logits, N, C, P);
  XGD_CHECK(C > 0, op, ": logits have no classes: ", logits.str());
  if (logits.device() == Device::CUDA) return cross_entropy_cuda(logits, labels, ignore_index);
  const int64_t* y = labels.data<int64_t>();
  int64_t bad = kernels::cpu::first_bad_label(y, labels.numel(), C, ignore_index);
  if (bad >= 0) fail_bad_label(y[bad], labels.shape(), bad, C, ignore_index);

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
  if (t.device() == Device::CUDA) {
    // Fused softmax–KL: one pass over both logits per pixel; the loss stays on the device.
    Tensor out = Tensor::empty({}, t.dtype(), t.device());
    Tensor ws = cuda_workspace(pixels, t.device(), op);
    dispatch_float(t.dtype(), op, [&]<class T>() {
      cuda_table(op).of<T>().kl_div_forward(t.data<T>(), s.data<T>(), N, C, P, tau, lse_t.data<T>(),
                                            lse_s.data<T>(), kl.data<T>(), out.data<T>(),
                                            ws.raw_data(), ops::cuda_stream());
    });
    Tensor ts = t.detach(), ss = s.detach();
    return record(
        out, op, {t, s},
        [ts, ss, lse_t, lse_s, kl, tau, N, C, P, op](const Tensor& g, const Need& need) {
          Tensor dt = need[0] ? Tensor::empty(ts.shape(), ts.dtype(), ts.device()) : Tensor();
          Tensor ds = need[1] ? Tensor::empty(ss.shape(), ss.dtype(), ss.device()) : Tensor();
          XGD_CHECK(g.device() == ts.device(), op, ": gradient ", g.str(),
                    " is not on the logits' device");
          dispatch_float(ts.dtype(), op, [&]<class T>() {
            cuda_table(op).of<T>().kl_div_backward(
                ts.data<T>(), ss.data<T>(), lse_t.data<T>(), lse_s.data<T>(), kl.data<T>(), N, C, P,
                tau, g.data<T>(), need[0] ? dt.data<T>() : nullptr,
                need[1] ? ds.data<T>() : nullptr, ops::cuda_stream());
          });
          return Grads{dt, ds};
        });
  }
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
  XGD_CHECK(a.shape() == b.shape(), op, ": shapes differ: ", a.str(), " and ", b.str(),
            " (no broadcasting)");
  const int64_t n = a.numel();
  if (a.device() == Device::CUDA) {
    Tensor out = Tensor::empty({}, a.dtype(), a.device());  // n = 0: NaN, as the CPU
    Tensor ws = cuda_workspace(n, a.device(), op);
    dispatch_float(a.dtype(), op, [&]<class T>() {
      cuda_table(op).of<T>().mse_forward(a.data<T>(), b.data<T>(), n, out.data<T>(), ws.raw_data(),
                                         ops::cuda_stream());
    });
    Tensor as = a.detach(), bs = b.detach();
    return record(out, op, {a, b}, [as, bs, n, op](const Tensor& g, const Need& need) {
      Tensor da = need[0] ? Tensor::empty(as.shape(), as.dtype(), as.device()) : Tensor();
      Tensor db = need[1] ? Tensor::empty(bs.shape(), bs.dtype(), bs.device()) : Tensor();
      XGD_CHECK(g.device() == as.device(), op, ": gradient ", g.str(),
                " is not on the inputs' device");
      dispatch_float(as.dtype(), op, [&]<class T>() {
        cuda_table(op).of<T>().mse_backward(as.data<T>(), bs.data<T>(), n, g.data<T>(),
                                            need[0] ? da.data<T>() : nullptr,
                                            need[1] ? db.data<T>() : nullptr, ops::cuda_stream());
      });
      return Grads{da, db};
    });
  }
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
