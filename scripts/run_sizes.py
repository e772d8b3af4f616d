"""Score a shipped model at several run sizes on validation photos; --ship records the size the rule picks.

Usage: .venv/bin/python scripts/run_sizes.py ddcolor_lite --val ../shared/data/val [--sizes 128,160,192,224]
       [--skip 30] [--per-folder 30] [--ship]

A shipped model runs at the size it was trained at, but the same weights run at any multiple of
its stride (`colorzoo.inference.at_input_size`). For each size (the pixel count of a size x size
square at each photo's aspect ratio, as `colorize` runs) this prints, on the validation photos
at their full resolution (scored by `colorzoo.metrics.evaluate`), the
PSNR gap to the gray baseline, the colourfulness as a share of the truth's, the mean CIEDE2000
and the seconds per image. The rule (fixed for ddcolor_lite before any other size was measured):
among the sizes whose PSNR gap is at most 0.25 dB below the trained size's, the most colourful,
if it is at least 3 points more colourful than the trained size; else the trained size.
``--ship`` writes that size into weights/manifest.json as ``run_size`` (removed if it is the
trained size), so `colorzoo.pretrained` returns the model at that size, and renders the card.
A shipped chroma gain is left out of the scores: it is chosen after the size (scripts/chroma_gain.py).
"""

import argparse
import collections
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from colorzoo import hub, metrics  # noqa: E402
from colorzoo.cli import non_negative_int, positive_int  # noqa: E402
from colorzoo.data import image_files  # noqa: E402
from colorzoo.inference import with_chroma_gain  # noqa: E402
from evaluate_zoo import truth_colorfulness  # noqa: E402
from ship_weights import record_choice  # noqa: E402

MAX_PSNR_LOSS = 0.25  # dB below the trained size's gap to gray
MIN_GAIN = 0.03  # colourfulness ratio above the trained size's


def validation_files(folder, per_folder=None, skip=0):
    """The image files under ``folder``: of each subfolder's (sorted), the first ``skip`` left out,
    then at most ``per_folder``."""
    groups = collections.defaultdict(list)
    for path in image_files(folder):
        groups[os.path.dirname(path)].append(path)
    end = None if per_folder is None else skip + per_folder
    return [path for _, paths in sorted(groups.items()) for path in sorted(paths)[skip:end]]


def score_sizes(model, files, sizes):
    """One row per size: ``size``, ``images`` (scored: grayscale photos are left out), ``psnr_over_gray``,
    ``colourfulness_ratio``, ``ciede2000``, ``seconds``."""
    rows, truth = [], None
    for size in sizes:
        result = metrics.evaluate(model, files, size=size, progress=False)
        if not result["images"]:
            raise SystemExit(f"no colour photo could be scored among the {len(files)} files")
        if truth is None:  # the photos scored (grayscale ones left out) are the same at every size
            truth = truth_colorfulness(sorted({row["file"] for row in result["rows"]}))
        means, gray = result["means"][model.name], result["means"][metrics.GRAY_BASELINE]
        rows.append({
            "size": size,
            "images": result["images"],
            "psnr_over_gray": means["psnr"] - gray["psnr"],
            "colourfulness_ratio": means["colorfulness_hasler"] / truth,
            "ciede2000": means["ciede2000"],
            "seconds": means["seconds"],
        })
    return rows


def chosen_size(rows, trained_size):
    """The size the rule of the module docstring picks from :func:`score_sizes` rows."""
    trained = next((row for row in rows if row["size"] == trained_size), None)
    if trained is None:
        raise SystemExit(f"--sizes must include the trained size {trained_size}")
    eligible = [row for row in rows if row["psnr_over_gray"] >= trained["psnr_over_gray"] - MAX_PSNR_LOSS]
    best = max(eligible, key=lambda row: row["colourfulness_ratio"])
    return best["size"] if best["colourfulness_ratio"] >= trained["colourfulness_ratio"] + MIN_GAIN else trained_size


def ship_run_size(name, size, weights_dir=hub.WEIGHTS_DIR):
    """Record ``size`` as ``name``'s run size in the manifest (none if it is the trained size); render
    the card. A changed size drops the entry's ``psnr`` and ``chroma_gain``, chosen at the old one."""
    trained_size = hub.shipped_weights(weights_dir)[name]["image_size"]
    record_choice(name, "run_size", size, trained_size, weights_dir, chosen_after=("chroma_gain",))


def model_without_chroma_gain(name, weights_dir=hub.WEIGHTS_DIR):
    """The shipped model ``name`` (at its run size) without the chroma gain the manifest may give, which
    is chosen after the run size (scripts/chroma_gain.py)."""
    model = hub.pretrained(name, weights_dir)  # with_chroma_gain refuses bin-logit models: only if it has one
    return with_chroma_gain(model, 1) if "chroma_gain" in hub.shipped_weights(weights_dir)[name] else model


def validation_parser(description, chosen):
    """The command line run_sizes.py and chroma_gain.py share: a shipped model, its validation photos
    (--val, --skip, --per-folder) and --ship, which records the ``chosen`` setting."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("model", help="a model with shipped weights")
    parser.add_argument("--val", required=True, help="folder of validation photos")
    parser.add_argument("--skip", type=non_negative_int, default=0, metavar="N",
                        help="leave out the first N photos of each subfolder (e.g. ones a choice was made on)")
    parser.add_argument("--per-folder", type=positive_int, help="score only the first N photos of each subfolder "
                        "(after --skip)")
    parser.add_argument("--ship", action="store_true", help=f"record the {chosen} the rule picks in weights/")
    return parser


def checked_shipped_entry(parser, args):
    """The manifest entry of ``args.model``, after a usage error for a model without shipped weights or a
    missing ``--val`` folder."""
    entries = hub.shipped_weights()
    if args.model not in entries:
        parser.error(f"{args.model}: no shipped weights; shipped: {', '.join(sorted(entries))}")
    if not os.path.isdir(args.val):
        parser.error(f"--val {args.val}: no such folder")
    return entries[args.model]


def photos_to_score(parser, args):
    """:func:`validation_files` of the command line; a usage error if there are none."""
    files = validation_files(args.val, args.per_folder, args.skip)
    if not files:
        parser.error(f"--val {args.val}: no images")
    return files


def _sizes(text):
    return [positive_int(size) for size in text.split(",")]


if __name__ == "__main__":
    parser = validation_parser(__doc__.splitlines()[0], "size")
    parser.add_argument("--sizes", type=_sizes, default=[128, 160, 192, 224], help="default %(default)s")
    args = parser.parse_args()
    trained_size = checked_shipped_entry(parser, args)["image_size"]
    if args.ship and trained_size not in args.sizes:  # before any scoring: the rule compares with it
        parser.error(f"--sizes must include the trained size {trained_size} with --ship")
    files = photos_to_score(parser, args)
    rows = score_sizes(model_without_chroma_gain(args.model), files, args.sizes)
    print(f"{args.model} on {rows[0]['images']} colour photos of {args.val} ({len(files)} files)")
    print("| run size | PSNR gap to gray dB | colourfulness / truth | CIEDE2000 | s / image |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['size']} | {row['psnr_over_gray']:+.3f} | {row['colourfulness_ratio']:.1%} "
              f"| {row['ciede2000']:.2f} | {row['seconds']:.3f} |")
    if args.ship:
        size = chosen_size(rows, trained_size)
        ship_run_size(args.model, size)
        print(f"shipped run size {size} for {args.model} (trained at {trained_size})")
