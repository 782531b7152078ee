// e2e: the xgd_data binary's behaviour, exit codes (0 ok, 1 error, 2 usage) and messages.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "data/dataset.h"
#include "tests/data/test_util.h"

namespace xgd::data {
namespace {

using test::sample;
using test::TempDir;

struct CliResult {
  int rc;
  std::string out;  // stdout and stderr
};

CliResult run(const std::string& args) {
  std::string cmd = std::string(XGD_DATA_APP) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(XgdDataCli, SynthThenInfo) {
  TempDir d("cli_synth");
  CliResult r = run("synth --out " + d.str() + " --seed 3 --train 4 --val 2 --test 2 --size 64");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("wrote 8 images (train 4, val 2, test 2) of 64x64"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("cable"), std::string::npos);
  EXPECT_EQ(open_folder(d.str(), "train").size(), 4);
  r = run("info --data " + d.str() + " --split val");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("samples: 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("classes: 5"), std::string::npos) << r.out;
  r = run("colorize --mask " + d / "masks/val_0000.png" + " --out " + d / "c.png");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(read_image(d / "c.png", 0).channels, 3);
}

TEST(XgdDataCli, ConvertLabelmeAndReadVoc) {
  TempDir d("cli_labelme");
  CliResult r = run("convert-labelme --in " + sample("labelme") + " --out " + d.str());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("converted 2 LabelMe files"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ignore (255)"), std::string::npos) << r.out;
  r = run("info --data " + sample("voc") + " --split trainval");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("Pascal VOC"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("samples: 2"), std::string::npos) << r.out;
}

TEST(XgdDataCli, UsageErrorsExit2) {
  EXPECT_EQ(run("").rc, 2);
  EXPECT_EQ(run("frobnicate").rc, 2);
  EXPECT_EQ(run("synth --seed 1").rc, 2);  // --out missing
  EXPECT_EQ(run("synth --out /tmp/x --seed 1 --size 5").rc, 2);
  EXPECT_EQ(run("synth --out /tmp/x --seed 1 --train -3").rc, 2);
  EXPECT_EQ(run("--help").rc, 0);
}

TEST(XgdDataCli, BadInputExits1WithAMessageNamingTheProblem) {
  CliResult r = run("info --data " + sample("folder") + " --split nope");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out.rfind("error: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("nope.txt"), std::string::npos) << r.out;
  TempDir d("cli_bad");
  r = run("convert-labelme --in " + sample("labelme_bad") + " --out " + d.str());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("unknown label 'insulator'"), std::string::npos) << r.out;
  std::filesystem::copy(sample("folder"), d.path() / "ds",
                        std::filesystem::copy_options::recursive);
  std::filesystem::copy_file(sample("bad/class_out_of_range.png"), d / "ds/masks/a.png",
                             std::filesystem::copy_options::overwrite_existing);
  r = run("info --data " + d / "ds");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("pixel (x=3, y=2) has class index 7"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace xgd::data
