// Segmentation metrics over a whole dataset (the standard definition, as mmsegmentation and
// torchmetrics compute it): one confusion matrix accumulated over every pixel whose label is
// not ignore_index, IoU_c = TP / (TP + FP + FN), mIoU the mean over classes whose union is
// non-empty (a class absent from both labels and predictions is left out, not scored 1 as the
// paper's public code does per image).
#pragma once
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace xgd {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int64_t num_classes, int64_t ignore_index = 255);
  // predictions, labels: int64 N×H×W (any device; read on the host: evaluation only).
  // A label outside [0, K) that is not ignore_index is an error; so is a prediction outside.
  void add(const Tensor& predictions, const Tensor& labels);
  int64_t num_classes() const { return k_; }
  int64_t count(int64_t label, int64_t prediction) const { return m_[label * k_ + prediction]; }
  int64_t total() const;
  std::vector<double> iou() const;  // per class; NaN where the union is empty
  double mean_iou() const;          // over classes with a non-empty union; NaN if none
  double pixel_accuracy() const;    // correct / counted pixels
  // A per-class table ("class  IoU") and the final "mIoU: 0.xxxx" line of xgd_eval.
  std::string table(const std::vector<std::string>& class_names) const;

 private:
  int64_t k_, ignore_;
  std::vector<int64_t> m_;  // (label, prediction) counts, row-major K×K
};

}  // namespace xgd
