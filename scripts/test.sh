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

# The CUDA kernels' CPU execution again under AddressSanitizer + UBSan (DESIGN.md §5: the emu
# layer runs under ASan in CI). Runs when no ctest arguments are given; XGD_SKIP_ASAN=1 skips it.
if [ $# -eq 0 ] && [ "${XGD_SKIP_ASAN:-0}" != 1 ]; then
  ASAN_DIR="$BUILD_DIR-asan"
  generator=()
  [ -f "$ASAN_DIR/CMakeCache.txt" ] || generator=(-G Ninja)
  cmake -S "$XGD_ROOT" -B "$ASAN_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DXGD_CUDA=OFF -DXGD_SANITIZE=ON >/dev/null
  cmake --build "$ASAN_DIR" -j "$JOBS" --target xgd_emu_tests
  ctest --test-dir "$ASAN_DIR" --output-on-failure -j "$JOBS" --timeout 900 -L emu
fi
