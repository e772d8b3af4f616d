#!/usr/bin/env bash
# The exact commands that trained the shipped weights (weights/README.md), on ../shared/data.
# Each run writes runs/<model>/; stop a run with Ctrl-C or a kill and continue it by rerunning
# its line with --resume. Epochs are short (--steps-per-epoch) so backups are frequent.
# The shipped runs were stopped by hand; every default length below is the number of epochs the
# shipped run trained (the "epochs" of weights/README.md; best.keras is the epoch with the best
# validation loss). EPOCHS=n sets the length of a model's last stage, EPOCHS_L1 and EPOCHS_GAN
# those of the earlier stages of the GANs, e.g. `EPOCHS=10 scripts/train_zoo.sh unet_sequential`. Ship a run with
# `.venv/bin/python scripts/ship_weights.py runs/<run>`: best.keras, or with `--checkpoint last`
# the last epoch, which pix2pix's last stage ships (runs/pix2pix_chroma; a GAN's best.keras is
# chosen by val_l1, which favours the least colourful epoch), or `--checkpoint colourful` the most
# colourful kept epoch within 1.8 dB of gray on validation (runs/ddcolor_lite_chroma).
# DATA=folder (default ../shared/data) holds train/ and val/; RESUME=1 adds --resume to every run.
set -euo pipefail
if [[ -n ${DATA:-} ]]; then DATA=$(realpath "$DATA"); fi  # a relative DATA is the caller's, not the repo's
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
COMMON=(--data "$DATA/train" --val "$DATA/val" --image-size 128 --steps-per-epoch 100)
RESUME_FLAG=()
if [[ ${RESUME:-0} == 1 ]]; then RESUME_FLAG=(--resume); fi

run() { .venv/bin/colorzoo train "$@" "${COMMON[@]}" "${RESUME_FLAG[@]}"; }

MODELS=(resnet18_decoder zhang_classification vgg16_autoencoder pix2pix unet_sequential residual_encoder hypercolumn ddcolor_lite)
if [[ $# -gt 1 || ${1:-all} == *" "* || " all ${MODELS[*]} " != *" ${1:-all} "* ]]; then
  echo "usage: scripts/train_zoo.sh [all | one of: ${MODELS[*]}]" >&2
  exit 2
fi

case "${1:-all}" in
  resnet18_decoder|all)
    run --model resnet18_decoder --width 0.5 --batch-size 32 --epochs "${EPOCHS:-55}" --out runs/resnet18_decoder ;;&
  zhang_classification|all)
    run --model zhang_classification --width 0.25 --batch-size 16 --learning-rate 3e-4 --epochs "${EPOCHS:-14}" --out runs/zhang_classification ;;&
  vgg16_autoencoder|all)
    run --model vgg16_autoencoder --encoder-weights hed --batch-size 16 --epochs "${EPOCHS:-3}" --out runs/vgg16_autoencoder ;;&
  pix2pix|all)
    # The report's two-stage recipe, L1 pretraining of the ResNet-18 U-Net generator, then GAN
    # training; then a third stage: the GAN fine-tuned at a quarter of the learning rate with the
    # chroma shortfall loss, against the desaturation L1 brings.
    P2P=(--model pix2pix --option backbone=resnet18 --width 0.5 --batch-size 16)
    run "${P2P[@]}" --no-gan --epochs "${EPOCHS_L1:-8}" --out runs/pix2pix_l1
    run "${P2P[@]}" --init runs/pix2pix_l1/best.keras --epochs "${EPOCHS_GAN:-3}" --out runs/pix2pix
    run "${P2P[@]}" --init runs/pix2pix/best.keras --learning-rate 5e-5 --trainer-option chroma_weight=20 \
      --epochs "${EPOCHS:-4}" --out runs/pix2pix_chroma ;;&
  unet_sequential|all)
    run --model unet_sequential --width 0.5 --batch-size 16 --epochs "${EPOCHS:-28}" --out runs/unet_sequential ;;&
  residual_encoder|all)
    run --model residual_encoder --encoder-weights hed --batch-size 16 --epochs "${EPOCHS:-6}" --out runs/residual_encoder ;;&
  hypercolumn|all)
    run --model hypercolumn --encoder-weights hed --batch-size 16 --epochs "${EPOCHS:-20}" --out runs/hypercolumn ;;&
  ddcolor_lite|all)
    # The CPU-sized "lite" preset in two stages: the generator alone with the pixel loss (24
    # epochs; validation PSNR flattened from epoch 16 on; a 4-epoch pretraining left GAN stages
    # painting one cast over whole photos), then the full loss, pixel + perceptual (hed VGG16) +
    # adversarial + colourfulness, with the per-pixel chroma shortfall loss added and without
    # DDColor's colour enhancement (enhance_factor=1; the run predates the option), every epoch
    # kept. Ship the most colourful kept epoch within 1.8 dB of gray on validation
    # (`ship_weights.py --checkpoint colourful`; log.csv's val_colourfulness_ratio and
    # val_psnr_over_gray): epoch 3. Its run size, 224 px, was then chosen on validation photos:
    # `.venv/bin/python scripts/run_sizes.py ddcolor_lite --val ../shared/data/val --per-folder 30 --ship`.
    DDC=(--model ddcolor_lite --option preset=lite)
    run "${DDC[@]}" --batch-size 16 --no-gan --epochs "${EPOCHS_L1:-24}" --out runs/ddcolor_lite_l1
    run "${DDC[@]}" --batch-size 8 --perceptual-weights hed --init runs/ddcolor_lite_l1/best.keras \
      --learning-rate 2.5e-5 --trainer-option perceptual_weight=1 --trainer-option chroma_weight=20 \
      --trainer-option chroma_per_pixel=true --trainer-option enhance_factor=1 --keep-epochs --epochs "${EPOCHS:-7}" \
      --out runs/ddcolor_lite_chroma ;;
esac
