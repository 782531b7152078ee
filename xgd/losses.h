// The XGD objective (paper Eq. and DESIGN.md §1):
//   L = L_seg + α·L_pi + β·L_sa
//   L_seg = CE(z_S, y), ignore 255
//   L_pi  = τ²·mean_pixels KL(softmax(z_T/τ) ‖ softmax(z_S/τ))
//   L_sa  = mean (M̂_T − M̂_S)², M̂ the normalised Grad-CAM saliency at the target layer;
//           M̂_T a constant, M̂_S differentiable (first-order mode, xgd/cam.h).
#pragma once
#include "engine/tensor.h"
#include "xgd/cam.h"

namespace xgd {

struct DistillWeights {
  double alpha = 1.0;  // pixel-wise KL
  double beta = 1.0;   // saliency MSE
  double tau = 1.0;    // temperature
};

struct DistillTerms {
  Tensor total;        // scalar, differentiable
  Tensor seg, pi, sa;  // scalars; pi/sa undefined when their weight is 0
};

// Teacher logits are resized (bilinear, align_corners false) to the student's when they
// differ; the teacher's tensors are treated as constants (detached).
// student_activations: the student's target layer output, in the graph of student_logits.
DistillTerms distill_loss(const DistillWeights& w, cam::Method method, const Tensor& student_logits,
                          const Tensor& student_activations, const Tensor& labels,
                          const Tensor& teacher_logits, const Tensor& teacher_saliency);

}  // namespace xgd
