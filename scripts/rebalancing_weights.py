"""Write the class-rebalancing weights of a folder of photos for ddcolor_lite's rebalanced pixel loss.

Usage: .venv/bin/python scripts/rebalancing_weights.py ../shared/data/train --out runs/rebalancing_weights.npy
       [--image-size 128] [--batch-size 16] [--batches 50] [--seed 0]

Estimates the ab prior of ``--batches`` shuffled batches of ``--image-size`` photos (grayscale
photos dropped, as in training) and saves Zhang et al.'s rebalancing weights over the 313 ab bins
(`colorzoo.models.zhang_classification.rebalancing_weights_from_data`), for
`colorzoo train --trainer-option rebalancing=FILE`. Refuses to overwrite an existing file; creates
the file's folder if missing.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from colorzoo.cli import positive_int  # noqa: E402
from colorzoo.data import make_dataset  # noqa: E402
from colorzoo.models.zhang_classification import PRIOR_BATCHES, rebalancing_weights_from_data  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="folder of training photos")
    parser.add_argument("--out", required=True, help="the .npy file to write (.npy is added if missing)")
    parser.add_argument("--image-size", type=positive_int, default=128)
    parser.add_argument("--batch-size", type=positive_int, default=16)
    parser.add_argument("--batches", type=positive_int, default=PRIOR_BATCHES)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.out.endswith(("/", os.sep)) or os.path.isdir(args.out):
        parser.error(f"--out {args.out}: a folder; give the file to write, e.g. {os.path.join(args.out, 'weights.npy')}")
    out = args.out if args.out.endswith(".npy") else f"{args.out}.npy"  # the name np.save would write
    if os.path.lexists(out):
        parser.error(f"{out} exists; remove it or choose another --out")
    folder = os.path.dirname(out)
    if folder and os.path.exists(folder) and not os.path.isdir(folder):
        parser.error(f"--out {out}: {folder} is a file, not a folder")
    if not os.path.isdir(args.data):
        parser.error(f"{args.data}: no such folder")
    try:
        dataset = make_dataset(args.data, args.image_size, args.batch_size, seed=args.seed)
        weights = rebalancing_weights_from_data(dataset, args.batches)
    except ValueError as error:  # e.g. no colour photos in the folder
        parser.exit(1, f"{parser.prog}: error: {error}\n")
    if folder:
        os.makedirs(folder, exist_ok=True)  # runs/ of a fresh clone, as colorzoo train makes its --out
    with open(out, "xb") as handle:  # exclusive: a file that appeared meanwhile is not replaced either
        np.save(handle, weights)
    print(f"{out}: {weights.size} weights, {weights.min():.2f} to {weights.max():.2f}")


if __name__ == "__main__":
    main()
