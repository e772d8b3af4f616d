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
# colourful kept epoch within 1.8 dB of gray on validation (runs/ddcolor_lite_chroma), `--float16` halves
# a file over the 50 MB limit (ddcolor_lite).
# DATA=folder (default ../shared/data) holds train/ and val/; RESUME=1 adds --resume to every run;
# DRY_RUN=1 prints the commands instead of running them.
set -euo pipefail
if [[ -n ${DATA:-} ]]; then DATA=$(realpath "$DATA"); fi  # a relative DATA is the caller's, not the repo's
cd "$(dirname "$0")/.."
DATA=$(realpath -m "${DATA:-../shared/data}")  # absolute: link_last_val_photos links to it
COMMON=(--data "$DATA/train" --image-size 128 --steps-per-epoch 100)
RESUME_FLAG=()
if [[ ${RESUME:-0} == 1 ]]; then RESUME_FLAG=(--resume); fi

perform() { if [[ ${DRY_RUN:-0} == 1 ]]; then echo "$*"; else "$@"; fi; }
run() { perform .venv/bin/colorzoo train "$@" "${COMMON[@]}" --val "${VAL:-$DATA/val}" "${RESUME_FLAG[@]}"; }

# Photos to choose epochs on that scripts/run_sizes.py --per-folder 30 (the first 30 of each
# folder) does not score: symlinks to the last 25 by name of each folder of $DATA/val.
link_last_val_photos() {
  local folder name target
  while read -r folder; do
    target="$1/${folder#"$DATA/val"}"
    mkdir -p "$target"
    find "$folder" -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort | tail -n 25 |
      while read -r name; do ln -sfn "$folder/$name" "$target/$name"; done
  done < <(find "$DATA/val" -type f -printf '%h\n' | LC_ALL=C sort -u)
}

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
    # The CPU-sized "lite" preset with ResNet-18's four stages as its encoder (backbone=resnet18,
    # random weights), in two stages under mixed_bfloat16 (this Xeon's AMX; seeded: rerun here, the
    # GAN stage gave the shipped file's weights bit for bit, the pixel stage's first 2 epochs the
    # same log.csv): the generator alone with the pixel loss (24 epochs), then the full loss, pixel + perceptual (hed VGG16) + adversarial +
    # colourfulness, with the per-pixel chroma shortfall loss and without DDColor's colour
    # enhancement (enhance_factor=1), every epoch kept. Both validate on the last 25 photos of each
    # val folder. The chroma weight, 31, was chosen among 20, 27, 31 and 35 by their scores on
    # run_sizes.py's validation photos. Ship the most colourful kept epoch within 1.8 dB of gray on
    # validation in float16 (13.4 M parameters are 53 MB in float32):
    # `ship_weights.py --checkpoint colourful --float16 runs/ddcolor_lite_chroma`: epoch 1. Its
    # run size, 224 px, was then chosen on validation photos:
    # `.venv/bin/python scripts/run_sizes.py ddcolor_lite --val ../shared/data/val --per-folder 30 --ship`,
    # and then its chroma gain, 1.07, by the same 1.8 dB floor on the same photos:
    # `.venv/bin/python scripts/chroma_gain.py ddcolor_lite --val ../shared/data/val --per-folder 30 --ship`.
    perform link_last_val_photos runs/val_last25
    DDC=(--model ddcolor_lite --option preset=lite --option backbone=resnet18 --dtype-policy mixed_bfloat16 --seed 28)
    VAL=runs/val_last25 run "${DDC[@]}" --batch-size 16 --no-gan --epochs "${EPOCHS_L1:-24}" --out runs/ddcolor_lite_l1
    VAL=runs/val_last25 run "${DDC[@]}" --batch-size 8 --perceptual-weights hed --init runs/ddcolor_lite_l1/best.keras \
      --learning-rate 2.5e-5 --trainer-option perceptual_weight=1 --trainer-option chroma_weight=31 \
      --trainer-option colourfulness_weight=1 --trainer-option chroma_per_pixel=true \
      --trainer-option enhance_factor=1 --keep-epochs --epochs "${EPOCHS:-2}" --out runs/ddcolor_lite_chroma ;;
esac
