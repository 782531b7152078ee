// xgd::Error: the one exception type of the engine. Messages name the op or file and the
// offending shapes/values; apps print "error: <message>" and exit 1.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace xgd {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  return s.str();
}
}  // namespace detail

}  // namespace xgd

// XGD_CHECK(cond, "op", parts...): throws xgd::Error("op: parts...") when cond is false.
#define XGD_CHECK(cond, ...)                                             \
  do {                                                                   \
    if (!(cond)) throw ::xgd::Error(::xgd::detail::concat(__VA_ARGS__)); \
  } while (0)

#define XGD_FAIL(...) throw ::xgd::Error(::xgd::detail::concat(__VA_ARGS__))
