// xgd_info --model M --classes K [--size S] [--output-stride OS] [--layers]
// xgd_info --device: CUDA runtime, driver and cuDNN versions, the GPU and the architectures this
// build has kernels for; exit 1 (with the reason) when no usable device is found.
// Prints the parameter count and the cost of one forward (DESIGN.md §4):
//   params: <count>
//   gflops: <2 × multiply-accumulates of the convolutions at S×S, default 512>
// --layers also lists every module (name, type, parameters): the names --capture,
// Grad-CAM's --layer and feature distillation accept.
// Errors print "error: <message>" and exit 1; usage errors exit 2.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "apps/common/cli.h"
#include "engine/error.h"
#include "models/flops.h"
#include "models/registry.h"
#if defined(XGD_HAVE_CUDA)
#include "kernels/cuda/runtime.h"
#endif

namespace {
int print_device() {
#if defined(XGD_HAVE_CUDA)
  std::string why;
  if (!xgd::cuda::device_available(&why)) {
    std::printf("GPU: none (%s)\n", why.c_str());
    return 1;
  }
  std::fputs(xgd::cuda::describe().c_str(), stdout);
  return 0;
#else
  std::printf("GPU: none (this build has no CUDA backend: configure with -DXGD_CUDA=ON)\n");
  return 1;
#endif
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xgd_info: parameters and GFLOPs of a registered model"};
  std::string model_name;
  int64_t classes = 21, size = 512;
  int output_stride = 0;
  bool layers = false, device = false;
  std::string names;
  for (auto& n : xgd::models::model_names()) names += (names.empty() ? "" : ", ") + n;
  auto* model_opt = app.add_option("--model", model_name, "model name: " + names);
  app.add_flag("--device", device, "print the CUDA device, driver, runtime and cuDNN versions");
  app.add_option("--classes", classes, "number of classes (default 21)")
      ->check(CLI::PositiveNumber);
  app.add_option("--size", size, "square input side for the GFLOPs (default 512)")
      ->check(CLI::PositiveNumber);
  app.add_option("--output-stride", output_stride, "DeepLabV3+: 16 (default) or 8");
  app.add_flag("--layers", layers, "list every module: name, type, parameters");
  if (auto rc = xgd::apps::parse_args(app, argc, argv)) return *rc;
  if (device && model_opt->count() == 0) return xgd::apps::report_errors(print_device);
  if (model_opt->count() == 0) {
    std::fprintf(stderr, "error: --model is required (or --device)\n");
    return 2;
  }
  return xgd::apps::report_errors([&] {
    if (device && print_device() != 0) return 1;
    auto model = xgd::models::create_model(
        model_name, {.classes = classes, .output_stride = output_stride, .init = false});
    auto cost = xgd::models::forward_cost(*model, size, size);
    std::printf("model: %s (classes %lld, output stride %lld, input %lldx%lld", model_name.c_str(),
                static_cast<long long>(classes), static_cast<long long>(model->output_stride()),
                static_cast<long long>(size), static_cast<long long>(size));
    if (cost.padded_h != size)
      std::printf(", padded to %lldx%lld", static_cast<long long>(cost.padded_h),
                  static_cast<long long>(cost.padded_w));
    std::printf(")\n");
    std::printf("params: %lld\n", static_cast<long long>(model->num_parameters()));
    std::printf("gflops: %.2f\n", 2.0 * static_cast<double>(cost.macs) / 1e9);
    if (layers) {
      for (auto& [name, m] : model->named_modules()) {
        if (name.empty()) continue;
        int64_t own = 0;
        for (auto& [pn, p] : m->local_parameters()) own += p.numel();
        std::printf("%-48s %-20s %lld\n", name.c_str(), m->type_name().c_str(),
                    static_cast<long long>(own));
      }
    }
    return 0;
  });
}
