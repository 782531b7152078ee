// Shared helpers of the data tests: sample paths, temporary folders, the label formulas that
// data/samples/make_samples.py wrote, and error-message assertions.
#pragma once
#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/error.h"

namespace xgd::data::test {

namespace fs = std::filesystem;

inline std::string sample(const std::string& rel) {
  return std::string(XGD_DATA_SAMPLES) + "/" + rel;
}

// A fresh folder under the system temp dir, removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path_ = fs::temp_directory_path() / ("xgd_data_test_" + tag + "_" + std::to_string(::getpid()) +
                                         "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  fs::path path() const { return path_; }
  std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  fs::path path_;
};

// (5x + 3y) % k: the PNG variants of data/samples/png/.
inline int png_formula(int x, int y, int k) {
  return (5 * x + 3 * y) % k;
}

// data/samples/voc: rectangles with a 1-pixel 255 ring (VOC's boundary).
struct VocRect {
  int cls, x0, y0, x1, y1;
};
inline int voc_formula(const std::vector<VocRect>& rects, int x, int y) {
  int v = 0;
  for (const auto& r : rects) {
    if (x >= r.x0 - 1 && x <= r.x1 && y >= r.y0 - 1 && y <= r.y1) v = 255;
    if (x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1) v = r.cls;
  }
  return v;
}

// data/samples/folder masks.
inline int folder_formula(const std::string& id, int x, int y) {
  if (id == "a") return (x + y) % 3;
  if (x == 9 && y == 5) return 255;
  return (x * y) % 3;
}

// Runs fn, expecting an xgd::Error whose message contains every one of `parts`.
template <class Fn>
::testing::AssertionResult throws_with(Fn&& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
  } catch (const xgd::Error& e) {
    std::string msg = e.what();
    for (const auto& p : parts)
      if (msg.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message \"" << msg << "\" lacks \"" << p << "\"";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-xgd exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

}  // namespace xgd::data::test

#define EXPECT_ERROR(stmt, ...) \
  EXPECT_TRUE(::xgd::data::test::throws_with([&] { stmt; }, {__VA_ARGS__}))
