// Bad-input tests: the call must throw xgd::Error whose message names what went wrong.
#pragma once
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "engine/error.h"

namespace xgd::test {

// Expects `fn` to throw xgd::Error whose message contains each of `parts`.
template <class Fn>
void expect_error(Fn fn, std::initializer_list<const char*> parts) {
  try {
    fn();
    ADD_FAILURE() << "expected xgd::Error containing '" << *parts.begin() << "'";
  } catch (const Error& e) {
    for (const char* p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "message '" << e.what() << "' lacks '" << p << "'";
  }
}

}  // namespace xgd::test
