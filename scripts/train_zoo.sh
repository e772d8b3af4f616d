#!/usr/bin/env bash
# The exact commands that trained the shipped weights (weights/README.md), on ../shared/data.
# Each run writes runs/<model>/; stop a run with Ctrl-C or a kill and continue it by rerunning
# its line with --resume. Epochs are short (--steps-per-epoch) so backups are frequent.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
COMMON=(--data "$DATA/train" --val "$DATA/val" --image-size 128 --steps-per-epoch 100)
RESUME=${RESUME:-}

run() { .venv/bin/colorzoo train "$@" "${COMMON[@]}" ${RESUME:+--resume}; }

case "${1:-all}" in
  resnet18_decoder|all)
    run --model resnet18_decoder --width 0.5 --batch-size 32 --epochs "${EPOCHS:-40}" --out runs/resnet18_decoder ;;&
  zhang_classification|all)
    run --model zhang_classification --width 0.25 --batch-size 16 --learning-rate 3e-4 --epochs "${EPOCHS:-40}" --out runs/zhang_classification ;;&
  *) ;;
esac
