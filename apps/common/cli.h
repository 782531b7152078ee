// The command-line contract every app keeps (DESIGN.md §3): a usage error exits 2 (CLI11 prints
// it), any other error prints "error: <message>" on stderr and exits 1. One definition here.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <optional>

namespace xgd::apps {

// Parses argv; an exit code to return when parsing ended the program (--help: 0, usage: 2).
inline std::optional<int> parse_args(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return std::nullopt;
}

// Runs the app's body (returning its exit code); an exception becomes "error: ..." and exit 1.
template <class Body>
int report_errors(Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace xgd::apps
