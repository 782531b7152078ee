#!/usr/bin/env bash
# The prepared check for a machine with an NVIDIA GPU (DESIGN.md §5, layer gpu): configures the
# CUDA build for this GPU's architecture, builds the test programs, prints the device, runs the
# `gpu` tests (every CUDA kernel's parity with the CPU backend on the device, the execution-model
# tests on real hardware, the runtime) and the `emu` tests. Logs go to $OUT when it is set, else
# to $BUILD_DIR/gpu-check/. Without a GPU it says so, and the gpu tests skip themselves.
# Usage: scripts/gpu-check.sh   (env: BUILD_DIR, default build-gpu; JOBS, default nproc)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-gpu}"
JOBS="${JOBS:-$(nproc)}"
LOG_DIR="${OUT:-$BUILD_DIR/gpu-check}"
mkdir -p "$LOG_DIR"
SUMMARY="$LOG_DIR/summary.txt"
: >"$SUMMARY"
status=0
note() { echo "== $*" | tee -a "$SUMMARY"; }
# step NAME LOG CMD...: runs CMD, its output to the terminal and LOG, its result to the summary.
step() {
  local name="$1" log="$2" start=$SECONDS rc
  shift 2
  "$@" 2>&1 | tee "$LOG_DIR/$log"
  rc=${PIPESTATUS[0]}
  note "$name: $([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)") in $((SECONDS - start)) s (log: $log)"
  [ "$rc" -eq 0 ] || status=1
  return "$rc"
}

export PATH="$PATH:/usr/local/cuda/bin"
command -v nvcc >/dev/null || { note "nvcc not found: the CUDA toolkit is needed"; exit 1; }

# The GPU's architecture (compute capability 9.0 -> 90); the defaults (80;90) without a GPU.
arch=""
if command -v nvidia-smi >/dev/null && nvidia-smi >"$LOG_DIR/nvidia-smi.txt" 2>&1; then
  cat "$LOG_DIR/nvidia-smi.txt"
  arch="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')"
  [ -n "$arch" ] || arch=native
  note "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1), building for sm_$arch"
else
  note "no NVIDIA GPU found (nvidia-smi missing or failing): building for the default architectures; the gpu tests will skip"
fi

generator=()
[ -f "$BUILD_DIR/CMakeCache.txt" ] || generator=(-G Ninja)
step configure configure.log cmake -S "$ROOT" -B "$BUILD_DIR" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DXGD_CUDA=ON ${arch:+-DXGD_CUDA_ARCHS="$arch"} || exit 1
step build build.log cmake --build "$BUILD_DIR" -j "$JOBS" --target xgd_gpu_tests xgd_emu_tests \
  xgd_bench xgd_info || exit 1

# The device as the runtime sees it (versions, GPU, architectures built).
step device device.log "$BUILD_DIR/tests/emu/xgd_gpu_tests" \
  --gtest_filter='CudaRuntime.DescribeNamesVersionsAndGpu'
# One process per test under ctest: each starts the device afresh, as a program does.
step gpu-tests ctest-gpu.log ctest --test-dir "$BUILD_DIR" -L gpu --output-on-failure --timeout 300
note "gpu tests skipped (no device): $(grep -c '(Skipped)' "$LOG_DIR/ctest-gpu.log")"

# Benchmarks (each line ends in `ratio <peer / ours>`, > 1: ours is faster).
"$BUILD_DIR/apps/xgd_info/xgd_info" --device | tee "$LOG_DIR/xgd-info-device.log"
if [ -n "$arch" ]; then
  step bench-conv bench-conv.log "$BUILD_DIR/apps/xgd_bench/xgd_bench" conv --device cuda --backward
  B="${BENCH_BATCH:-8}"
  peer=()
  if python3 -c 'import torch' 2>/dev/null; then
    if ! python3 -c 'import segmentation_models_pytorch' 2>/dev/null && ls "$ROOT"/.whl/*.whl >/dev/null 2>&1; then
      python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/xgd-site \
        "$ROOT"/.whl/*.whl && export PYTHONPATH="/tmp/xgd-site${PYTHONPATH:+:$PYTHONPATH}"
    fi
    step pytorch-peer pytorch-peer.log python3 "$ROOT/apps/xgd_bench/pytorch_peer.py" --device cuda \
      --size 512 --batch "$B" --out "$LOG_DIR/peer.json" && peer=(--peer "$LOG_DIR/peer.json")
  else
    note "torch not importable: xgd_bench step runs without its PyTorch peer"
  fi
  step bench-step bench-step.log "$BUILD_DIR/apps/xgd_bench/xgd_bench" step --device cuda \
    --size 512 --batch "$B" "${peer[@]}"
fi
[ "${SKIP_EMU:-0}" = 1 ] || step emu-tests ctest-emu.log ctest --test-dir "$BUILD_DIR" -L emu \
  --output-on-failure -j "$JOBS" --timeout 300

echo
cat "$SUMMARY"
exit "$status"
