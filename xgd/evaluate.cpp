#include "xgd/evaluate.h"

#include "data/loader.h"
#include "engine/autograd.h"
#include "engine/ops.h"

namespace xgd {

ConfusionMatrix evaluate(models::SegmentationModel& model, const data::Dataset& dataset,
                         Device device, int64_t batch, int workers) {
  XGD_CHECK(dataset.size() > 0, "evaluate: split '", dataset.split(), "' of ", dataset.root(),
            " is empty");
  XGD_CHECK(dataset.num_classes() == model.classes(), "evaluate: dataset ", dataset.root(), " has ",
            dataset.num_classes(), " classes but model ", model.model_name(), " has ",
            model.classes());
  data::LoaderOptions opt;
  opt.batch_size = batch;
  opt.workers = workers;
  opt.shuffle = false;
  opt.drop_last = false;
  opt.pad_multiple = static_cast<int>(model.output_stride());
  opt.augment.train = false;
  data::Loader loader(dataset, opt);
  const bool was_training = model.is_training();
  model.eval();
  ConfusionMatrix cm(model.classes());
  autograd::NoGradGuard no_grad;
  for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
    data::Batch batch_data = loader.next();
    Tensor logits = model(batch_data.images.to(device));
    cm.add(argmax(logits, 1), batch_data.labels.to(device));
  }
  model.train(was_training);
  return cm;
}

}  // namespace xgd
