#include "xgd/metrics.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace xgd {

ConfusionMatrix::ConfusionMatrix(int64_t num_classes, int64_t ignore_index)
    : k_(num_classes), ignore_(ignore_index), m_(num_classes * num_classes, 0) {
  XGD_CHECK(num_classes > 0, "ConfusionMatrix: num_classes must be positive, got ", num_classes);
}

void ConfusionMatrix::add(const Tensor& predictions, const Tensor& labels) {
  XGD_CHECK(predictions.shape() == labels.shape(), "ConfusionMatrix: predictions ",
            predictions.str(), " and labels ", labels.str(), " differ in shape");
  XGD_CHECK(predictions.dtype() == DType::I64 && labels.dtype() == DType::I64,
            "ConfusionMatrix: predictions and labels must be int64, got ", predictions.str(),
            " and ", labels.str());
  Tensor p = predictions.to(Device::CPU), l = labels.to(Device::CPU);
  const int64_t* pp = p.data<int64_t>();
  const int64_t* lp = l.data<int64_t>();
  for (int64_t i = 0; i < p.numel(); ++i) {
    const int64_t y = lp[i];
    if (y == ignore_) continue;
    XGD_CHECK(y >= 0 && y < k_, "ConfusionMatrix: label ", y, " at flat index ", i,
              " is outside [0, ", k_, ") and is not ignore_index ", ignore_);
    XGD_CHECK(pp[i] >= 0 && pp[i] < k_, "ConfusionMatrix: prediction ", pp[i], " at flat index ", i,
              " is outside [0, ", k_, ")");
    ++m_[y * k_ + pp[i]];
  }
}

int64_t ConfusionMatrix::total() const {
  int64_t t = 0;
  for (int64_t v : m_) t += v;
  return t;
}

std::vector<double> ConfusionMatrix::iou() const {
  std::vector<double> out(k_);
  for (int64_t c = 0; c < k_; ++c) {
    int64_t tp = m_[c * k_ + c], row = 0, col = 0;
    for (int64_t j = 0; j < k_; ++j) row += m_[c * k_ + j], col += m_[j * k_ + c];
    const int64_t uni = row + col - tp;
    out[c] = uni == 0 ? std::numeric_limits<double>::quiet_NaN()
                      : static_cast<double>(tp) / static_cast<double>(uni);
  }
  return out;
}

double ConfusionMatrix::mean_iou() const {
  double s = 0;
  int n = 0;
  for (double v : iou())
    if (!std::isnan(v)) s += v, ++n;
  return n ? s / n : std::numeric_limits<double>::quiet_NaN();
}

double ConfusionMatrix::pixel_accuracy() const {
  int64_t tp = 0;
  for (int64_t c = 0; c < k_; ++c) tp += m_[c * k_ + c];
  const int64_t t = total();
  return t ? static_cast<double>(tp) / static_cast<double>(t)
           : std::numeric_limits<double>::quiet_NaN();
}

std::string ConfusionMatrix::table(const std::vector<std::string>& names) const {
  std::ostringstream o;
  char line[160];
  std::vector<double> ious = iou();
  o << "class                 IoU\n";
  for (int64_t c = 0; c < k_; ++c) {
    std::string name = c < static_cast<int64_t>(names.size()) ? names[c] : std::to_string(c);
    if (std::isnan(ious[c]))
      std::snprintf(line, sizeof line, "%-18s      -  (absent)\n", name.c_str());
    else
      std::snprintf(line, sizeof line, "%-18s %7.4f\n", name.c_str(), ious[c]);
    o << line;
  }
  std::snprintf(line, sizeof line, "pixel accuracy: %.4f\nmIoU: %.4f\n", pixel_accuracy(),
                mean_iou());
  o << line;
  return o.str();
}

}  // namespace xgd
