// Reference fixtures written by tests/reference/make_*.py (PyTorch) and read with the engine's
// own safetensors reader: tests/reference/fixtures/<op>__<case>.safetensors. Scalar/list
// parameters of a case are JSON values in the file's metadata.
#pragma once
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace xgd::test {

struct Fixture {
  std::string path;
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;

  bool has(const std::string& name) const { return tensors.count(name) > 0; }
  Tensor operator[](const std::string& name) const;  // throws naming the file when missing
  double number(const std::string& key) const;       // metadata JSON number or bool
  std::vector<int64_t> ints(const std::string& key) const;  // metadata JSON int or int list
  bool flag(const std::string& key) const;
};

Fixture load_fixture(const std::string& op, const std::string& case_name);
// All case names of an op, sorted. Fails the calling test (via throw) when there are none, so a
// missing fixture can never pass silently.
std::vector<std::string> fixture_cases(const std::string& op);

// |actual - expected| <= atol + rtol·|expected| element-wise (DESIGN.md §7). On failure the
// message gives the worst index, expected and actual, and the first few mismatches.
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double atol,
                                     double rtol);

}  // namespace xgd::test

#define EXPECT_ALL_CLOSE(actual, expected, atol, rtol) \
  EXPECT_TRUE(::xgd::test::all_close((actual), (expected), (atol), (rtol)))
