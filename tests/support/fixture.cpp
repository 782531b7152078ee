#include "tests/support/fixture.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/io/safetensors.h"

namespace xgd::test {

Tensor Fixture::operator[](const std::string& name) const {
  auto it = tensors.find(name);
  XGD_CHECK(it != tensors.end(), path, ": fixture has no tensor '", name, "'");
  return it->second;
}

namespace {
nlohmann::json meta_json(const Fixture& f, const std::string& key) {
  auto it = f.metadata.find(key);
  XGD_CHECK(it != f.metadata.end(), f.path, ": fixture has no metadata '", key, "'");
  return nlohmann::json::parse(it->second);
}
}  // namespace

double Fixture::number(const std::string& key) const {
  auto j = meta_json(*this, key);
  return j.is_boolean() ? (j.get<bool>() ? 1.0 : 0.0) : j.get<double>();
}
bool Fixture::flag(const std::string& key) const { return number(key) != 0.0; }
std::vector<int64_t> Fixture::ints(const std::string& key) const {
  auto j = meta_json(*this, key);
  if (j.is_array()) return j.get<std::vector<int64_t>>();
  return {j.get<int64_t>()};
}

Fixture load_fixture(const std::string& op, const std::string& case_name) {
  Fixture f;
  f.path = std::string(XGD_FIXTURE_DIR) + "/" + op + "__" + case_name + ".safetensors";
  auto file = io::load_safetensors(f.path);
  f.tensors = std::move(file.tensors);
  f.metadata = std::move(file.metadata);
  return f;
}

std::vector<std::string> fixture_cases(const std::string& op) {
  std::vector<std::string> cases;
  const std::string prefix = op + "__", suffix = ".safetensors";
  for (auto& entry : std::filesystem::directory_iterator(XGD_FIXTURE_DIR)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && name.size() > prefix.size() + suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      cases.push_back(name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()));
  }
  std::sort(cases.begin(), cases.end());
  XGD_CHECK(!cases.empty(), "no fixtures for op '", op, "' in ", XGD_FIXTURE_DIR,
            " (run tests/reference/make_ops.py)");
  return cases;
}

::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double atol,
                                     double rtol) {
  if (!actual.defined() || !expected.defined())
    return ::testing::AssertionFailure() << "undefined tensor: actual " << actual.str()
                                         << ", expected " << expected.str();
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape mismatch: actual " << actual.str()
                                         << ", expected " << expected.str();
  std::vector<double> a = actual.to_vector(), e = expected.to_vector();
  size_t bad = 0, worst = 0;
  double worst_excess = -1;
  std::ostringstream first;
  for (size_t i = 0; i < a.size(); ++i) {
    double limit = atol + rtol * std::abs(e[i]);
    double err = std::abs(a[i] - e[i]);
    bool ok = err <= limit || (std::isnan(a[i]) && std::isnan(e[i])) ||
              (std::isinf(e[i]) && a[i] == e[i]);
    if (!ok) {
      if (bad < 5) first << "\n  [" << i << "] expected " << e[i] << ", actual " << a[i];
      ++bad;
      double excess = std::isnan(err) ? 1e300 : err / limit;
      if (excess > worst_excess) worst_excess = excess, worst = i;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << a.size() << " elements differ beyond atol " << atol << " + rtol "
         << rtol << "·|expected| (shape " << shape_str(actual.shape()) << "); worst at [" << worst
         << "]: expected " << e[worst] << ", actual " << a[worst] << first.str();
}

}  // namespace xgd::test
