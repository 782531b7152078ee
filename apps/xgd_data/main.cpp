// xgd_data: dataset tools.
//   xgd_data synth --out DIR --seed S [--train N --val N --test N --size PX]
//   xgd_data convert-labelme --in DIR --out DIR [--seed S --val F --test F]
//   xgd_data info --data DIR [--split S]        (reads and validates every sample)
//   xgd_data colorize --mask M.png --out C.png  (class indices -> VOC colours)
// Errors print "error: <message>" and exit 1; usage errors exit 2 (DESIGN.md §3).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/common/cli.h"
#include "data/dataset.h"
#include "data/image_io.h"
#include "data/labelme.h"
#include "data/synth.h"
#include "engine/error.h"

namespace {

using namespace xgd::data;

void print_class_table(const std::vector<std::string>& names, const std::vector<int64_t>& pixels,
                       int64_t ignore_pixels) {
  int64_t total = ignore_pixels;
  for (int64_t p : pixels) total += p;
  for (size_t c = 0; c < names.size(); ++c)
    std::printf("  %-16s %6.3f%%  (%lld px)\n", names[c].c_str(),
                total ? 100.0 * pixels[c] / total : 0.0, static_cast<long long>(pixels[c]));
  if (ignore_pixels)
    std::printf("  %-16s %6.3f%%  (%lld px)\n", "ignore (255)", 100.0 * ignore_pixels / total,
                static_cast<long long>(ignore_pixels));
}

int run_info(const std::string& dir, const std::string& split) {
  Dataset ds = open_dataset(dir, split);
  std::vector<int64_t> pixels(ds.num_classes(), 0);
  int64_t ignore = 0;
  int hmin = 1 << 30, hmax = 0, wmin = 1 << 30, wmax = 0;
  for (int64_t i = 0; i < ds.size(); ++i) {
    Sample s = ds.load(i);
    hmin = std::min(hmin, s.image.height), hmax = std::max(hmax, s.image.height);
    wmin = std::min(wmin, s.image.width), wmax = std::max(wmax, s.image.width);
    for (uint8_t v : s.label.pixels) v == kIgnoreLabel ? ++ignore : ++pixels[v];
  }
  std::printf("dataset: %s (%s)\nsplit: %s\nsamples: %lld\nclasses: %d\n", ds.root().c_str(),
              find_voc_root(dir).empty() ? "folder layout" : "Pascal VOC", split.c_str(),
              static_cast<long long>(ds.size()), ds.num_classes());
  std::printf("image size: %d..%d x %d..%d (width x height)\npixels per class:\n", wmin, wmax, hmin,
              hmax);
  print_class_table(ds.classes(), pixels, ignore);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xgd_data: synthetic data, dataset conversion and checks"};
  app.require_subcommand(1);

  SynthOptions so;
  std::string synth_out;
  auto* synth = app.add_subcommand("synth", "write a synthetic power-line dataset (TTPLA classes)");
  synth->add_option("--out", synth_out, "output folder")->required();
  synth->add_option("--seed", so.seed, "random seed")->required();
  synth->add_option("--train", so.train, "training images")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  synth->add_option("--val", so.val, "validation images")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  synth->add_option("--test", so.test, "test images")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  synth->add_option("--size", so.size, "image size in pixels (square)")
      ->capture_default_str()
      ->check(CLI::Range(16, 4096));

  ConvertOptions co;
  std::string conv_in, conv_out;
  auto* conv = app.add_subcommand("convert-labelme", "LabelMe JSONs (TTPLA) -> folder layout");
  conv->add_option("--in", conv_in, "folder of LabelMe .json files and their images")->required();
  conv->add_option("--out", conv_out, "output dataset folder")->required();
  conv->add_option("--seed", co.seed, "seed of the random split (when IN has no split lists)")
      ->capture_default_str();
  conv->add_option("--val", co.val_fraction, "validation fraction")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  conv->add_option("--test", co.test_fraction, "test fraction")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));

  std::string info_dir, info_split = "train";
  auto* info = app.add_subcommand("info", "read and validate every sample of a split");
  info->add_option("--data", info_dir, "dataset folder (folder layout or Pascal VOC)")->required();
  info->add_option("--split", info_split, "split name")->capture_default_str();

  std::string col_mask, col_out;
  auto* col = app.add_subcommand("colorize", "colour a class-index mask with the VOC palette");
  col->add_option("--mask", col_mask, "mask PNG (8-bit class indices)")->required();
  col->add_option("--out", col_out, "output PNG")->required();

  if (auto rc = xgd::apps::parse_args(app, argc, argv)) return *rc;

  return xgd::apps::report_errors([&] {
    if (*synth) {
      auto t0 = std::chrono::steady_clock::now();
      SynthSummary s = write_synth_dataset(synth_out, so);
      double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("wrote %lld images (train %d, val %d, test %d) of %dx%d to %s in %.2f s\n",
                  static_cast<long long>(s.images), so.train, so.val, so.test, so.size, so.size,
                  synth_out.c_str(), sec);
      std::printf("pixels per class (images containing it):\n");
      int64_t total = 0;
      for (int64_t p : s.class_pixels) total += p;
      for (size_t c = 0; c < s.class_pixels.size(); ++c)
        std::printf("  %-16s %6.3f%%  (%lld images)\n", ttpla_classes()[c].c_str(),
                    100.0 * s.class_pixels[c] / std::max<int64_t>(total, 1),
                    static_cast<long long>(s.images_with_class[c]));
    } else if (*conv) {
      ConvertSummary s = convert_labelme(conv_in, conv_out, co);
      std::printf("converted %lld LabelMe files to %s (train %lld, val %lld, test %lld)\n",
                  static_cast<long long>(s.images), conv_out.c_str(),
                  static_cast<long long>(s.split_sizes[0]),
                  static_cast<long long>(s.split_sizes[1]),
                  static_cast<long long>(s.split_sizes[2]));
      std::vector<int64_t> known(s.class_pixels.begin(), s.class_pixels.end() - 1);
      print_class_table(ttpla_classes(), known, s.class_pixels.back());
    } else if (*info) {
      return run_info(info_dir, info_split);
    } else if (*col) {
      write_png(col_out, colorize_mask(read_mask(col_mask, MaskColours::Indices)));
      std::printf("wrote %s\n", col_out.c_str());
    }
    return 0;
  });
}
