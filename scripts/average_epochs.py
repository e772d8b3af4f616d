"""Average the weights of a run's kept epochs (SWA) and score the average on validation photos.

Usage: .venv/bin/python scripts/average_epochs.py runs/ddcolor_lite_chroma --epochs 3-7 --val ../shared/data/val

Writes ``RUN/averaged/epochs_FFF-LLL.keras`` (loadable with ``colorzoo.load_model``, usable with
``colorzoo colorize/evaluate --weights``) and prints the validation scores that the run logged
for each epoch (``val_psnr_over_gray``, ``val_colourfulness_ratio`` ...), measured the same way,
so the average can be compared with the epochs it came from. The run must have been trained
with ``--keep-epochs``.
"""

import argparse
import json
import os

from colorzoo import training
from colorzoo.data import make_dataset
from colorzoo.models import model_info


def average_epochs(run_dir, first, last, val=None):
    """Save the average of ``run_dir``'s kept epochs ``first``..``last`` (from 1); return its path
    and, when ``val`` is given, its :func:`colorzoo.training.validation_scores` there."""
    with open(os.path.join(run_dir, "run.json")) as file:
        run = json.load(file)
    paths = [training.epoch_checkpoint(run_dir, epoch) for epoch in range(first, last + 1)]
    missing = [path for path in paths if not os.path.exists(path)]
    if missing:
        raise SystemExit(f"{run_dir}: no kept epoch file {missing[0]} (train with --keep-epochs)")
    model = training.average_checkpoints(paths)
    color_space = model_info(model.name).color_space
    dataset = None
    if val is not None:  # a folder without (colour) photos is refused before any file is written
        dataset = make_dataset(val, run["image_size"], run["batch_size"], color_space=color_space, shuffle=False)
        dataset = dataset.cache()
        training.count_batches(dataset, val, "score the average on")
    target = os.path.join(run_dir, "averaged", f"epochs_{first:03d}-{last:03d}.keras")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    training.save_atomically(model, target)
    if dataset is None:
        return target, None
    scores, _ = training.validation_scores(model, dataset, color_space)
    return target, scores


def _epoch_range(text):
    first, _, last = text.partition("-")
    if not (first.isdigit() and last.isdigit()) or not 1 <= int(first) <= int(last):
        raise argparse.ArgumentTypeError(f"expected FIRST-LAST epochs counted from 1, e.g. 8-14, got {text!r}")
    return int(first), int(last)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run folder trained with --keep-epochs")
    parser.add_argument("--epochs", required=True, type=_epoch_range, help="FIRST-LAST kept epochs, e.g. 8-14")
    parser.add_argument("--val", help="folder of validation photos to score the average on")
    args = parser.parse_args()
    if not os.path.isfile(os.path.join(args.run, "run.json")):
        parser.error(f"{args.run}: not a colorzoo training run (no run.json)")
    if args.val is not None and not os.path.isdir(args.val):
        parser.error(f"--val {args.val}: no such folder")
    try:
        path, scores = average_epochs(args.run, *args.epochs, val=args.val)
    except ValueError as error:  # e.g. no (colour) photos in --val
        parser.exit(1, f"{parser.prog}: error: {error}\n")
    print(path, json.dumps({key: round(value, 4) for key, value in (scores or {}).items()}))
