#!/usr/bin/env bash
# The exact commands that trained the shipped weights (weights/README.md), on ../shared/data.
# Each run writes runs/<model>/; stop a run with Ctrl-C or a kill and continue it by rerunning
# its line with --resume. Epochs are short (--steps-per-epoch) so backups are frequent.
# The shipped runs were stopped by hand at the "epochs" of weights/README.md (best.keras is the
# epoch with the best validation loss); EPOCHS=n (EPOCHS_L1=n for a first stage) sets that length,
# e.g. `EPOCHS=28 scripts/train_zoo.sh unet_sequential`. ddcolor_lite's L1 stage ran 4 epochs.
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
  vgg16_autoencoder|all)
    run --model vgg16_autoencoder --encoder-weights hed --batch-size 16 --epochs "${EPOCHS:-40}" --out runs/vgg16_autoencoder ;;&
  pix2pix|all)
    # The report's two-stage recipe: L1 pretraining of the ResNet-18 U-Net generator, then GAN training.
    run --model pix2pix --option backbone=resnet18 --width 0.5 --batch-size 16 --no-gan --epochs "${EPOCHS_L1:-8}" --out runs/pix2pix_l1
    run --model pix2pix --option backbone=resnet18 --width 0.5 --batch-size 16 --init runs/pix2pix_l1/best.keras --epochs "${EPOCHS:-40}" --out runs/pix2pix ;;&
  unet_sequential|all)
    run --model unet_sequential --width 0.5 --batch-size 16 --epochs "${EPOCHS:-40}" --out runs/unet_sequential ;;&
  residual_encoder|all)
    run --model residual_encoder --encoder-weights hed --batch-size 16 --epochs "${EPOCHS:-40}" --out runs/residual_encoder ;;&
  ddcolor_lite|all)
    # The CPU-sized "lite" preset, in two stages like pix2pix: the generator alone with the pixel
    # loss, then the full loss: pixel + perceptual (hed VGG16) + adversarial + colourfulness.
    run --model ddcolor_lite --option preset=lite --batch-size 16 --no-gan --epochs "${EPOCHS_L1:-20}" --out runs/ddcolor_lite_l1
    run --model ddcolor_lite --option preset=lite --batch-size 8 --perceptual-weights hed --init runs/ddcolor_lite_l1/best.keras --epochs "${EPOCHS:-40}" --out runs/ddcolor_lite ;;&
  *) ;;
esac
