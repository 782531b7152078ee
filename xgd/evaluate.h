// Evaluation of a segmentation model on a dataset split: whole images (no augmentation),
// padded to a multiple of the model's output stride with ignored labels, so padding never
// counts; one confusion matrix over the split (xgd/metrics.h).
#pragma once
#include "data/dataset.h"
#include "models/segmentation_model.h"
#include "xgd/metrics.h"

namespace xgd {

// The model is put in eval mode for the pass and restored to its previous mode after.
ConfusionMatrix evaluate(models::SegmentationModel& model, const data::Dataset& dataset,
                         Device device, int64_t batch = 1, int workers = 0);

}  // namespace xgd
