#!/usr/bin/env bash
# The tests: installs missing packages, configures and builds incrementally, runs every ctest
# label that needs no GPU (unit, reference, gradcheck, emu, e2e; gpu tests skip themselves
# without a device). Usage: scripts/test.sh [ctest args], e.g. scripts/test.sh -L reference
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
xgd_install_deps
xgd_build
cd "$BUILD_DIR"
ctest --output-on-failure -j "$JOBS" --timeout 900 "$@"
