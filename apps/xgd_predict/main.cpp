// xgd_predict --model M --weights W.safetensors --image in.jpg --out mask.png [--overlay o.png]
//             [--classes K] [--indices] [--alpha A] [--output-stride OS]
// Segments one image: RGB, ImageNet mean/std normalisation (data/transforms.h, as the training
// loader), zero padding (the mean colour) at the bottom/right up to a multiple of the model's
// output stride, eval-mode forward, crop back to the image, argmax over classes.
// Writes the mask in the Pascal VOC colours (--indices: the class indices as a grey PNG) and,
// with --overlay, the image blended with the colours (alpha A, default 0.5). --classes may be
// omitted: it is read from the weights (segmentation_head.0.bias).
// Errors print "error: <message>" and exit 1; usage errors exit 2.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/common/cli.h"
#include "data/image_io.h"
#include "data/transforms.h"
#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/ops/reduce.h"
#include "models/registry.h"

int main(int argc, char** argv) {
  CLI::App app{"xgd_predict: segment an image with a trained model"};
  std::string model_name, weights, image_path, out_path, overlay_path;
  int64_t classes = 0;
  int output_stride = 0;
  double alpha = 0.5;
  bool indices = false;
  app.add_option("--model", model_name, "registered model name")->required();
  app.add_option("--weights", weights, "state dict (.safetensors)")->required();
  app.add_option("--image", image_path, "input image (JPEG, PNG, ...)")->required();
  app.add_option("--out", out_path, "mask PNG to write")->required();
  app.add_option("--overlay", overlay_path, "image blended with the mask colours (.png/.jpg)");
  app.add_option("--classes", classes, "number of classes (default: from the weights)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--indices", indices, "write class indices (grey) instead of colours");
  app.add_option("--alpha", alpha, "overlay opacity of the mask colours (default 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--output-stride", output_stride, "DeepLabV3+: 16 (default) or 8");
  if (auto rc = xgd::apps::parse_args(app, argc, argv)) return *rc;
  return xgd::apps::report_errors([&] {
    using namespace xgd;
    auto t0 = std::chrono::steady_clock::now();
    io::SafetensorsFile w = io::load_safetensors(weights);
    // xgd_train's checkpoints (xgd/checkpoint.h) also hold the optimizer state as optim.*.
    std::erase_if(w.tensors, [](const auto& e) { return e.first.rfind("optim.", 0) == 0; });
    if (classes == 0) classes = models::classes_of_weights(w.tensors, weights);
    XGD_CHECK(classes <= 256, "xgd_predict: ", classes, " classes do not fit an 8-bit mask");
    auto model = models::create_model(
        model_name, {.classes = classes, .output_stride = output_stride, .init = false});
    try {
      model->load_weights(w.tensors, /*strict=*/true);
    } catch (const Error& e) {
      throw Error(weights + ": " + e.what());
    }
    model->eval();

    data::Image image = data::read_image(image_path, 3);  // (H, W, 3)
    const int H = image.height, W = image.width;
    auto [ph, pw] = models::padded_size(H, W, model->output_stride());
    Tensor x = Tensor::empty({1, 3, ph, pw});  // (1, 3, ph, pw) normalised, zero-padded
    std::vector<int64_t> unused_labels(static_cast<size_t>(ph * pw));
    data::AugmentParams identity{.scaled_h = H, .scaled_w = W, .top = 0, .left = 0, .flip = false};
    data::render_sample(image, data::Image(H, W, 1), identity, data::Normalization{},
                        static_cast<int>(ph), static_cast<int>(pw), x.data<float>(),
                        unused_labels.data());
    Tensor pred;
    {
      autograd::NoGradGuard no_grad;
      Tensor logits = models::crop_top_left((*model)(x), H, W);  // (1, K, H, W)
      pred = argmax(logits, 1);                                  // (1, H, W) int64
    }
    const int64_t* p = pred.data<int64_t>();
    data::Image mask(H, W, 1);
    std::vector<int64_t> counts(static_cast<size_t>(classes), 0);
    for (int64_t i = 0; i < static_cast<int64_t>(H) * W; ++i) {
      mask.pixels[static_cast<size_t>(i)] = static_cast<uint8_t>(p[i]);
      ++counts[static_cast<size_t>(p[i])];
    }
    data::Image colours = data::colorize_mask(mask);  // (H, W, 3)
    data::write_png(out_path, indices ? mask : colours);
    if (!overlay_path.empty()) {
      data::Image blend(H, W, 3);
      for (size_t i = 0; i < blend.pixels.size(); ++i)
        blend.pixels[i] =
            static_cast<uint8_t>((1.0 - alpha) * image.pixels[i] + alpha * colours.pixels[i] + 0.5);
      data::write_image(overlay_path, blend);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("image: %s (%dx%d, run at %lldx%lld)\n", image_path.c_str(), W, H,
                static_cast<long long>(pw), static_cast<long long>(ph));
    std::printf("classes present:");
    for (int64_t c = 0; c < classes; ++c)
      if (counts[static_cast<size_t>(c)])
        std::printf(" %lld (%.1f%%)", static_cast<long long>(c),
                    100.0 * counts[static_cast<size_t>(c)] / (static_cast<double>(H) * W));
    std::printf("\nmask: %s\n", out_path.c_str());
    if (!overlay_path.empty()) std::printf("overlay: %s\n", overlay_path.c_str());
    std::printf("time: %.2f s\n", secs);
    return 0;
  });
}
