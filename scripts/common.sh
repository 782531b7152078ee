# Shared by scripts/test.sh and scripts/demo.sh: install what is missing, configure, build.
# Sourced, not run. Honours BUILD_DIR (default build), XGD_CUDA (default AUTO), JOBS.

XGD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$XGD_ROOT/build}"
JOBS="${JOBS:-$(nproc)}"
# Idle OpenMP threads sleep instead of spinning (engine/threads.h says why); the apps set this
# themselves, the tests (which train in-process) get it here.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"

# Debian packages the build needs (DESIGN.md: dependencies only from Debian).
XGD_PACKAGES=(cmake ninja-build g++ pkg-config libgtest-dev libstb-dev nlohmann-json3-dev
  libcli11-dev libopenblas-dev)

xgd_install_deps() {
  local missing=()
  for p in "${XGD_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# xgd_build [target...]: configures (once) and builds the targets (default: everything).
xgd_build() {
  local generator=() targets=()
  [ -f "$BUILD_DIR/CMakeCache.txt" ] || generator=(-G Ninja)
  [ $# -gt 0 ] && targets=(--target "$@")
  cmake -S "$XGD_ROOT" -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DXGD_CUDA="${XGD_CUDA:-AUTO}" >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS" "${targets[@]}"
}
