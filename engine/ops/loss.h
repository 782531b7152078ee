// Segmentation losses.
#pragma once
#include "engine/tensor.h"

namespace xgd {

// Cross-entropy of logits N×C×H×W (or N×C) against int64 labels N×H×W (or N), mean over the
// pixels whose label != ignore_index (PyTorch F.cross_entropy(reduction='mean')). A label
// outside [0, C) that is not ignore_index is an error naming the label and its position.
// When every pixel is ignored the loss is 0 with zero gradient (PyTorch gives NaN; a batch of
// pure padding must not poison training).
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, int64_t ignore_index = 255);

// Pixel-wise distillation loss: tau^2 * mean over pixels (N·H·W, or N for N×C) of
// KL(softmax(teacher/tau) || softmax(student/tau)) summed over classes (dim 1). Equals
// F.kl_div(F.log_softmax(s/tau,1), F.log_softmax(t/tau,1), log_target=True,
// reduction='none').sum(1).mean() * tau**2. Differentiable in both arguments.
Tensor kl_div(const Tensor& teacher_logits, const Tensor& student_logits, double tau = 1.0);

// Mean squared error, mean over all elements; shapes must match exactly.
Tensor mse(const Tensor& a, const Tensor& b);

}  // namespace xgd
