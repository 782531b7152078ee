// xgd_run --model M --classes K --weights W.safetensors --input X.safetensors
//         --output Y.safetensors [--train [--no-dropout]] [--capture LAYER]... [--non-strict]
//         [--output-stride OS] [--seed S]
// One forward of tensor `input` (N×3×H×W, H and W multiples of the output stride, as smp) of a
// model loaded from a safetensors state dict (e.g. saved from segmentation_models_pytorch).
// Writes `logits` and each captured layer's output under its dotted name (DESIGN.md §4).
// --train: batch statistics in BatchNorm (PyTorch's train mode); --no-dropout keeps dropout
// off so the result is deterministic (otherwise masks come from --seed). --classes may be
// omitted: it is read from the weights (segmentation_head.0.bias). --non-strict loads as smp's
// load_state_dict(strict=False) and lists skipped keys on stderr.
// Errors print "error: <message>" and exit 1; usage errors exit 2.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/common/cli.h"
#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "models/registry.h"

namespace {

void print_keys(const char* what, const std::vector<std::string>& keys) {
  if (keys.empty()) return;
  std::fprintf(stderr, "warning: %s keys (%zu):\n", what, keys.size());
  for (auto& k : keys) std::fprintf(stderr, "  %s\n", k.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xgd_run: one forward of a model on a tensor, with captured layers"};
  std::string model_name, weights, input_path, output_path;
  int64_t classes = 0;
  int output_stride = 0;
  uint64_t seed = 0;
  bool train = false, no_dropout = false, non_strict = false;
  std::vector<std::string> captures;
  app.add_option("--model", model_name, "registered model name")->required();
  app.add_option("--classes", classes, "number of classes (default: from the weights)")
      ->check(CLI::PositiveNumber);
  app.add_option("--weights", weights, "state dict (.safetensors)")->required();
  app.add_option("--input", input_path, "safetensors file with tensor 'input' (N, 3, H, W)")
      ->required();
  app.add_option("--output", output_path, "safetensors file to write")->required();
  auto* train_flag = app.add_flag("--train", train, "train mode (BatchNorm batch statistics)");
  app.add_flag("--no-dropout", no_dropout, "keep dropout off in train mode")->needs(train_flag);
  app.add_option("--capture", captures, "layer whose output to write (repeatable)");
  app.add_flag("--non-strict", non_strict, "skip missing/unexpected/shape-mismatched keys");
  app.add_option("--output-stride", output_stride, "DeepLabV3+: 16 (default) or 8");
  app.add_option("--seed", seed, "dropout seed (train mode)");
  if (auto rc = xgd::apps::parse_args(app, argc, argv)) return *rc;
  return xgd::apps::report_errors([&] {
    using namespace xgd;
    io::SafetensorsFile w = io::load_safetensors(weights);
    // xgd_train's checkpoints (xgd/checkpoint.h) also hold the optimizer state as optim.*.
    std::erase_if(w.tensors, [](const auto& e) { return e.first.rfind("optim.", 0) == 0; });
    if (classes == 0) classes = models::classes_of_weights(w.tensors, weights);
    auto model = models::create_model(
        model_name,
        {.classes = classes, .output_stride = output_stride, .seed = seed, .init = false});
    models::LoadReport report;
    try {
      report = model->load_weights(w.tensors, !non_strict);
    } catch (const Error& e) {
      throw Error(weights + ": " + e.what());
    }
    print_keys("shape-mismatched (skipped)", report.mismatched_keys);
    print_keys("missing", report.missing_keys);
    print_keys("unexpected", report.unexpected_keys);

    io::SafetensorsFile in = io::load_safetensors(input_path);
    auto it = in.tensors.find("input");
    XGD_CHECK(it != in.tensors.end(), input_path, ": no tensor named 'input'");
    XGD_CHECK(is_floating(it->second.dtype()), input_path,
              ": 'input' must be float32 or float64, got ", it->second.str());
    Tensor x = it->second.to(DType::F32);

    model->train(train);
    if (train) model->set_dropout(!no_dropout);
    autograd::NoGradGuard no_grad;
    nn::Capture capture(*model, captures);
    std::map<std::string, Tensor> out;
    out["logits"] = (*model)(x);
    for (auto& name : captures) {
      XGD_CHECK(name != "logits", "--capture: 'logits' is the output's own name");
      out[name] = capture[name];
    }
    io::save_safetensors(output_path, out,
                         {{"model", model_name}, {"mode", train ? "train" : "eval"}});
    std::printf("logits: %s\n", shape_str(out["logits"].shape()).c_str());
    for (auto& name : captures)
      std::printf("%s: %s\n", name.c_str(), shape_str(out[name].shape()).c_str());
    return 0;
  });
}
