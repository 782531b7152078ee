#!/usr/bin/env bash
# The main job: XGD on the synthetic power-line set (TTPLA's classes), end to end.
#   1. generates the dataset if absent (xgd_data synth)
#   2. trains the teacher deeplabv3plus_resnet101
#   3. trains each student (deeplabv3plus_resnet18, deeplabv3plus_mobilenetv2, pspnet_resnet18)
#      as a baseline and with XGD, and the loss ablation of deeplabv3plus_resnet18
#   4. prints tables shaped like the paper's Tables 1 and 2 (mIoU train/val/test) and writes
#      Grad-CAM overlays (teacher and XGD student side by side)
# Usage: scripts/demo.sh [quick|paper]   (quick: CPU, ~20 min on 2 cores; paper: the paper's
# settings — 512 crops, Adam lr 1e-4, batch 8 — for a GPU). Env: RUNS (output folder),
# DATA (dataset folder; any dataset in the folder layout or VOC), SEED, DEVICE.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PRESET="${1:-quick}"
SEED="${SEED:-0}"
case "$PRESET" in
  quick)
    DEVICE="${DEVICE:-cpu}"; SIZE=128; NTRAIN=64; NVAL=16; NTEST=16
    CROP=128; BATCH=4; LR=1e-3; TEACHER_ITERS=500; STUDENT_ITERS=250 ;;
  paper)
    DEVICE="${DEVICE:-cuda}"; SIZE=640; NTRAIN=1000; NVAL=200; NTEST=200
    CROP=512; BATCH=8; LR=1e-4; TEACHER_ITERS=20000; STUDENT_ITERS=10000 ;;
  *) echo "usage: scripts/demo.sh [quick|paper]" >&2; exit 2 ;;
esac
RUNS="${RUNS:-$XGD_ROOT/runs/demo-$PRESET-seed$SEED}"
DATA="${DATA:-$XGD_ROOT/runs/synth-$SIZE}"

xgd_install_deps
xgd_build xgd_data_app xgd_train xgd_eval xgd_cam >/dev/null
BIN="$BUILD_DIR/apps"
START=$(date +%s)

if [ ! -f "$DATA/classes.txt" ]; then
  "$BIN/xgd_data/xgd_data" synth --out "$DATA" --seed 0 --train $NTRAIN --val $NVAL \
    --test $NTEST --size $SIZE
fi

common=(--data "$DATA" --batch $BATCH --crop $CROP --lr $LR --optim adam --seed $SEED
  --device "$DEVICE" --log-every 10 --resume)
TEACHER=deeplabv3plus_resnet101
TEACHER_W="$RUNS/teacher/best.safetensors"

train() {  # train <run name> <model> <iters> [xgd_train flags...]
  local name=$1 model=$2 iters=$3
  shift 3
  if [ -f "$RUNS/$name/metrics.json" ]; then
    echo "== $name: done already ($RUNS/$name/metrics.json)"
    return
  fi
  echo "== $name: $model $*"
  "$BIN/xgd_train/xgd_train" --model "$model" --out "$RUNS/$name" --iters "$iters" \
    "${common[@]}" "$@"
}

distill=(--teacher-model $TEACHER --teacher "$TEACHER_W")
train teacher $TEACHER $TEACHER_ITERS
for student in deeplabv3plus_resnet18 deeplabv3plus_mobilenetv2 pspnet_resnet18; do
  train "$student-baseline" $student $STUDENT_ITERS --method baseline
  train "$student-xgd" $student $STUDENT_ITERS --method xgd "${distill[@]}"
done
# Ablation (paper Table 2): L_seg, +L_pi, +L_sa, +L_pi+L_sa on deeplabv3plus_resnet18.
train deeplabv3plus_resnet18-pi deeplabv3plus_resnet18 $STUDENT_ITERS --method pi "${distill[@]}"
train deeplabv3plus_resnet18-sa deeplabv3plus_resnet18 $STUDENT_ITERS --method sa "${distill[@]}"

# Saliency overlays: XGD student (top) and teacher (bottom) on test images.
"$BIN/xgd_cam/xgd_cam" --model deeplabv3plus_resnet18 \
  --weights "$RUNS/deeplabv3plus_resnet18-xgd/best.safetensors" --teacher-model $TEACHER \
  --teacher "$TEACHER_W" --data "$DATA" --split test --limit 4 --out "$RUNS/cams" \
  --device "$DEVICE" >/dev/null

miou() {  # miou <run> <split>: the split's mIoU from metrics.json, as 0.xxxx
  awk -v s="\"$2\"" '$1 == s":" { gsub(",", "", $2); printf "%.4f", $2 }' "$RUNS/$1/metrics.json"
}
row() { echo "| $1 | $(miou "$2" train) | $(miou "$2" val) | $(miou "$2" test) |"; }

echo
echo "Table 1 — mIoU on the synthetic power-line set ($PRESET preset, seed $SEED)"
echo
echo "| model | train | val | test |"
echo "|---|---|---|---|"
row "teacher DeepLabV3+-R101" teacher
for s in deeplabv3plus_resnet18 deeplabv3plus_mobilenetv2 pspnet_resnet18; do
  row "$s (baseline)" "$s-baseline"
  row "$s (XGD)" "$s-xgd"
done
echo
echo "Table 2 — loss ablation, DeepLabV3+-R18 student"
echo
echo "| loss | train | val | test |"
echo "|---|---|---|---|"
row "L_seg" deeplabv3plus_resnet18-baseline
row "L_seg + L_pi" deeplabv3plus_resnet18-pi
row "L_seg + L_sa" deeplabv3plus_resnet18-sa
row "L_seg + L_pi + L_sa (XGD)" deeplabv3plus_resnet18-xgd
echo
echo "saliency overlays: $RUNS/cams"
echo "runs (log.jsonl, loss.png, checkpoints): $RUNS"
echo "total time: $(( $(date +%s) - START )) s"
