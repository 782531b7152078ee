#include <gtest/gtest.h>

#include <cmath>

#include "xgd/metrics.h"

namespace xgd {
namespace {

Tensor labels(std::vector<double> v) {
  return Tensor::from_vector(v, {1, 1, static_cast<int64_t>(v.size())}, DType::I64);
}

TEST(Metrics, IoUFromTheConfusionMatrix) {
  ConfusionMatrix cm(3);
  // label:      0 0 0 1 1 2 255 2
  // prediction: 0 0 1 1 1 0 2   2
  cm.add(labels({0, 0, 1, 1, 1, 0, 2, 2}), labels({0, 0, 0, 1, 1, 2, 255, 2}));
  EXPECT_EQ(cm.total(), 7);  // the ignored pixel is not counted
  auto iou = cm.iou();
  EXPECT_DOUBLE_EQ(iou[0], 2.0 / 4.0);  // TP 2, FN 1 (->1), FP 1 (2->0)
  EXPECT_DOUBLE_EQ(iou[1], 2.0 / 3.0);  // TP 2, FP 1
  EXPECT_DOUBLE_EQ(iou[2], 1.0 / 2.0);  // TP 1, FN 1
  EXPECT_DOUBLE_EQ(cm.mean_iou(), (0.5 + 2.0 / 3.0 + 0.5) / 3.0);
  EXPECT_DOUBLE_EQ(cm.pixel_accuracy(), 5.0 / 7.0);
  EXPECT_NE(cm.table({"bg", "cable", "tower"}).find("mIoU: 0.5556"), std::string::npos);
}

TEST(Metrics, AbsentClassesAreLeftOutOfTheMean) {
  ConfusionMatrix cm(4);
  cm.add(labels({0, 1, 1}), labels({0, 1, 0}));
  auto iou = cm.iou();
  EXPECT_TRUE(std::isnan(iou[2]));
  EXPECT_TRUE(std::isnan(iou[3]));
  EXPECT_DOUBLE_EQ(cm.mean_iou(), (0.5 + 0.5) / 2.0);
}

TEST(Metrics, BadInputs) {
  ConfusionMatrix cm(2);
  EXPECT_THROW(cm.add(labels({0, 1}), labels({0, 2})), Error);  // label 2 of 2 classes
  EXPECT_THROW(cm.add(labels({0, 5}), labels({0, 1})), Error);  // prediction 5
  EXPECT_THROW(cm.add(labels({0}), labels({0, 1})), Error);     // shapes
  EXPECT_THROW(ConfusionMatrix(0), Error);
}

}  // namespace
}  // namespace xgd
