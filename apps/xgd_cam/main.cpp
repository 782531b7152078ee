// xgd_cam: Grad-CAM saliency of a model (and a teacher beside it), as the paper's Figure 2:
// one PNG per image with panels image | ground truth | prediction | saliency overlay
// (DESIGN.md §4). With --input/--output it writes the raw maps of a tensor instead:
// `cam` (N×h×w at the layer, after ReLU) and `saliency` (N×H×W, as the loss uses it).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "apps/common/cli.h"
#include "data/dataset.h"
#include "data/transforms.h"
#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "engine/nn.h"
#include "engine/ops.h"
#include "engine/threads.h"
#include "models/registry.h"
#include "xgd/cam.h"
#include "xgd/checkpoint.h"
#include "xgd/overlay.h"

namespace {

using namespace xgd;

struct Net {
  std::shared_ptr<models::SegmentationModel> model;
  std::string layer;
};

Net load_net(const std::string& name, const std::string& weights, int64_t classes,
             const std::string& layer, Device device) {
  Net n{models::create_model(name, {.classes = classes}), layer};
  load_model_weights(weights, *n.model);
  n.model->to(device);
  n.model->eval();
  for (Tensor& p : n.model->parameters()) p.requires_grad_(false);
  if (n.layer.empty()) n.layer = n.model->default_target_layer();
  return n;
}

// Prediction (H×W int64) and normalised saliency (H×W) of one image tensor of any size.
std::pair<Tensor, Tensor> run_one(Net& net, cam::Method method, const Tensor& x) {
  const int64_t H = x.size(2), W = x.size(3);
  auto [ph, pw] = models::padded_size(H, W, net.model->output_stride());
  nn::Capture capture(*net.model, {net.layer}, /*cut_graph=*/true);
  Tensor logits = (*net.model)(models::pad_bottom_right(x, ph, pw));
  Tensor a = capture[net.layer];
  cam::CamResult r = cam::compute(method, logits, a, {}, ph, pw);
  autograd::NoGradGuard no_grad;
  Tensor pred = argmax(models::crop_top_left(logits, H, W), 1).reshape({H, W});
  // min-max of the crop = min-max of the cropped, already normalised map (affine invariance).
  Tensor s = models::crop_top_left(r.saliency.reshape({1, 1, ph, pw}), H, W).reshape({1, H, W});
  return {pred, cam::normalise_saliency(s, H, W).reshape({H, W})};
}

}  // namespace

int main(int argc, char** argv) {
  xgd::use_passive_openmp_wait(argv);
  std::string model, weights, image, data_dir, split = "val", out, method_name = "gradcam", layer;
  std::string teacher_model, teacher, teacher_layer, input, output, device = "cpu";
  int64_t classes = 0, limit = 8;
  CLI::App app{"xgd_cam: Grad-CAM overlays of a segmentation model"};
  app.add_option("--model", model, "model name")->required();
  app.add_option("--weights", weights, "weights or checkpoint (.safetensors)")->required();
  app.add_option("--image", image, "one image (JPEG/PNG)");
  app.add_option("--data", data_dir, "dataset folder");
  app.add_option("--split", split, "dataset split")->capture_default_str();
  app.add_option("--limit", limit, "images of the split to draw (0 = all)")->capture_default_str();
  app.add_option("--classes", classes, "class count (default: the dataset's, else 5)");
  app.add_option("--out", out, "output folder for the PNGs");
  app.add_option("--method", method_name,
                 "gradcam | gradcampp | hirescam | eigengradcam | layercam")
      ->capture_default_str();
  app.add_option("--layer", layer, "target layer (default: the first decoder layer)");
  app.add_option("--teacher-model", teacher_model, "teacher model, drawn in a second row");
  app.add_option("--teacher", teacher, "teacher weights");
  app.add_option("--teacher-layer", teacher_layer, "teacher target layer");
  app.add_option("--input", input, "raw mode: safetensors with tensor `input` (N×3×H×W)");
  app.add_option("--output", output, "raw mode: writes `cam` and `saliency`");
  app.add_option("--device", device, "cpu | cuda")->capture_default_str();
  if (auto rc = xgd::apps::parse_args(app, argc, argv)) return *rc;
  const bool raw = !input.empty() || !output.empty();
  if (raw ? (input.empty() || output.empty())
          : (out.empty() || image.empty() == data_dir.empty())) {
    std::fprintf(stderr,
                 "usage: give --input and --output, or --out with one of --image and --data\n");
    return 2;
  }
  return xgd::apps::report_errors([&] {
    XGD_CHECK(device == "cpu" || device == "cuda", "--device: expected cpu or cuda, got ", device);
    const Device dev = device == "cuda" ? Device::CUDA : Device::CPU;
    const cam::Method method = cam::parse_method(method_name);
    data::Dataset ds;
    if (!data_dir.empty()) {
      ds = data::open_dataset(data_dir, split);
      if (classes == 0) classes = ds.num_classes();
    }
    if (classes == 0) classes = 5;
    Net student = load_net(model, weights, classes, layer, dev);

    if (raw) {
      auto file = io::load_safetensors(input);
      XGD_CHECK(file.tensors.count("input"), input, ": no tensor named 'input'");
      Tensor x = file.tensors.at("input").to(dev);
      nn::Capture capture(*student.model, {student.layer}, true);
      Tensor logits = (*student.model)(x);
      cam::CamResult r =
          cam::compute(method, logits, capture[student.layer], {}, x.size(2), x.size(3));
      io::save_safetensors(output, {{"cam", r.cam.detach()}, {"saliency", r.saliency.detach()}},
                           {{"layer", student.layer}, {"method", method_name}});
      std::printf("wrote %s (cam %s, saliency %s)\n", output.c_str(), r.cam.str().c_str(),
                  r.saliency.str().c_str());
      return 0;
    }

    Net teacher_net;
    if (!teacher.empty()) {
      XGD_CHECK(!teacher_model.empty(), "--teacher needs --teacher-model");
      teacher_net = load_net(teacher_model, teacher, classes, teacher_layer, dev);
    }
    std::filesystem::create_directories(out);
    std::vector<std::pair<std::string, data::Sample>> items;
    if (!image.empty()) {
      items.push_back({std::filesystem::path(image).stem().string(),
                       data::Sample{"", data::read_image(image), {}}});
    } else {
      const int64_t n = limit > 0 ? std::min(limit, ds.size()) : ds.size();
      for (int64_t i = 0; i < n; ++i) {
        data::Sample s = ds.load(i);
        items.push_back({s.id, s});
      }
    }
    for (auto& [id, sample] : items) {
      Tensor x = data::image_to_tensor(sample.image).to(dev);
      std::vector<data::Image> rows;
      for (Net* net : {&student, &teacher_net}) {
        if (!net->model) continue;
        auto [pred, sal] = run_one(*net, method, x);
        std::vector<data::Image> panels = {sample.image};
        if (sample.label.height > 0) panels.push_back(data::colorize_mask(sample.label));
        panels.push_back(class_map_image(pred));
        panels.push_back(saliency_overlay(sample.image, sal));
        rows.push_back(hconcat(panels));
      }
      const std::string path = out + "/" + id + ".png";
      data::write_png(path, vconcat(rows));
      std::printf("%s\n", path.c_str());
    }
    return 0;
  });
}
