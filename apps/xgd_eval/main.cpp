// xgd_eval: per-class IoU, pixel accuracy and mIoU of a model on a dataset split
// (DESIGN.md §4). The last line is `mIoU: 0.xxxx`. Exit codes: 0 done, 1 error, 2 usage.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "apps/common/cli.h"
#include "data/dataset.h"
#include "engine/threads.h"
#include "models/registry.h"
#include "xgd/checkpoint.h"
#include "xgd/evaluate.h"

int main(int argc, char** argv) {
  xgd::use_passive_openmp_wait(argv);
  std::string model, weights, data, split = "test", device = "cpu";
  int64_t batch = 1;
  int workers = 0;
  CLI::App app{"xgd_eval: confusion-matrix IoU per class and mIoU"};
  app.add_option("--model", model, "model name (e.g. deeplabv3plus_resnet18)")->required();
  app.add_option("--weights", weights, "weights or checkpoint (.safetensors)")->required();
  app.add_option("--data", data, "dataset folder (folder layout or Pascal VOC)")->required();
  app.add_option("--split", split, "train | val | test")->capture_default_str();
  app.add_option("--device", device, "cpu | cuda")->capture_default_str();
  app.add_option("--batch", batch, "images per forward (padded to a common size)")
      ->capture_default_str();
  app.add_option("--workers", workers, "data loader threads (0 = one per core)");
  if (auto rc = xgd::apps::parse_args(app, argc, argv)) return *rc;
  return xgd::apps::report_errors([&] {
    xgd::data::Dataset ds = xgd::data::open_dataset(data, split);
    auto net = xgd::models::create_model(model, {.classes = ds.num_classes()});
    xgd::load_model_weights(weights, *net);
    XGD_CHECK(device == "cpu" || device == "cuda", "--device: expected cpu or cuda, got ", device);
    xgd::Device dev = device == "cuda" ? xgd::Device::CUDA : xgd::Device::CPU;
    net->to(dev);
    xgd::ConfusionMatrix cm = xgd::evaluate(*net, ds, dev, batch, workers);
    std::printf("%s on %s (%s, %lld images)\n", model.c_str(), data.c_str(), split.c_str(),
                static_cast<long long>(ds.size()));
    std::printf("%s", cm.table(ds.classes()).c_str());
    return 0;
  });
}
