#include "xgd/losses.h"

#include "engine/ops.h"

namespace xgd {

DistillTerms distill_loss(const DistillWeights& w, cam::Method method, const Tensor& student_logits,
                          const Tensor& student_activations, const Tensor& labels,
                          const Tensor& teacher_logits, const Tensor& teacher_saliency) {
  XGD_CHECK(w.alpha >= 0 && w.beta >= 0 && w.tau > 0,
            "distill_loss: need alpha >= 0, beta >= 0, "
            "tau > 0, got alpha ",
            w.alpha, ", beta ", w.beta, ", tau ", w.tau);
  DistillTerms t;
  t.seg = cross_entropy(student_logits, labels);
  t.total = t.seg;
  const int64_t H = student_logits.size(2), W = student_logits.size(3);
  if (w.alpha > 0) {
    check_defined(teacher_logits, "distill_loss", "teacher_logits");
    Tensor zt = teacher_logits.detach();
    if (zt.size(2) != H || zt.size(3) != W) zt = interpolate_bilinear(zt, H, W, false);
    t.pi = kl_div(zt, student_logits, w.tau);
    t.total = add(t.total, mul(t.pi, w.alpha));
  }
  if (w.beta > 0) {
    check_defined(teacher_saliency, "distill_loss", "teacher_saliency");
    cam::CamResult s = cam::compute(method, student_logits, student_activations, {}, H, W);
    Tensor mt = teacher_saliency.detach();
    XGD_CHECK(mt.shape() == s.saliency.shape(), "distill_loss: teacher saliency ", mt.str(),
              " does not match the student's ", s.saliency.str());
    t.sa = mse(mt, s.saliency);
    t.total = add(t.total, mul(t.sa, w.beta));
  }
  return t;
}

}  // namespace xgd
