"""Score a shipped model's chroma multiplied by a gain on validation photos; --ship records the gain the rule picks.

Usage: .venv/bin/python scripts/chroma_gain.py ddcolor_lite --val ../shared/data/val [--per-folder 30]
       [--skip 0] [--gains 1,1.01,...,1.2] [--ship]

A model trained with regression losses predicts colours pulled towards gray; multiplying its
chroma by a gain (`colorzoo.inference.with_chroma_gain`) trades PSNR for colourfulness, as the
temperature of zhang_classification's annealed mean does. For each gain, in ascending order, this
prints (as scripts/run_sizes.py does, at the shipped run size, on the photos at full resolution)
the PSNR gap to the gray baseline, the colourfulness as a share of the truth's, the mean CIEDE2000
and the seconds per image; it stops after the first gain whose gap falls below the floor of
``ship_weights.py --checkpoint colourful`` (1.8 dB below gray), as larger gains only lose more.
The rule, the same as that checkpoint's: the most colourful gain whose gap is within the floor
(a gain of 1, none, if no other is). Meant for models shipped for their colour, as that checkpoint
is. ``--ship`` writes it into weights/manifest.json as ``chroma_gain`` (removed if 1), so
`colorzoo.pretrained` returns the model with that gain, and renders the card.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from colorzoo import hub  # noqa: E402
from colorzoo.cli import positive_number  # noqa: E402
from colorzoo.inference import with_chroma_gain  # noqa: E402
from run_sizes import checked_shipped_entry, photos_to_score, score_sizes, validation_parser  # noqa: E402
from ship_weights import MIN_PSNR_OVER_GRAY, record_choice  # noqa: E402

DEFAULT_GAINS = [round(1 + step / 100, 2) for step in range(21)]  # 1.00, 1.01, ..., 1.20


def score_gains(model, files, size, gains, floor=MIN_PSNR_OVER_GRAY, report=print):
    """One :func:`run_sizes.score_sizes` row per gain (with ``gain``), in ascending order, up to and
    including the first whose ``psnr_over_gray`` is below ``floor``; each passed to ``report``."""
    rows = []
    for gain in sorted(gains):
        row = {"gain": gain, **score_sizes(with_chroma_gain(model, gain), files, [size])[0]}
        report(row)
        rows.append(row)
        if row["psnr_over_gray"] < floor:
            break
    return rows


def chosen_gain(rows, floor=MIN_PSNR_OVER_GRAY):
    """The gain the rule of the module docstring picks from :func:`score_gains` rows (1 if none is eligible)."""
    eligible = [row for row in rows if row["psnr_over_gray"] >= floor]
    return max(eligible, key=lambda row: row["colourfulness_ratio"])["gain"] if eligible else 1


def ship_chroma_gain(name, gain, weights_dir=hub.WEIGHTS_DIR):
    """Record ``gain`` as ``name``'s chroma gain in the manifest (none if 1); render the card. A changed
    gain drops the entry's ``psnr``, measured with the old one (rerun evaluate_zoo.py)."""
    record_choice(name, "chroma_gain", gain, 1, weights_dir)


def _gains(text):
    return [positive_number(gain) for gain in text.split(",")]


if __name__ == "__main__":
    parser = validation_parser(__doc__.splitlines()[0], "gain")
    parser.add_argument("--gains", type=_gains, default=DEFAULT_GAINS, help="default 1,1.01,...,1.2")
    args = parser.parse_args()
    entry = checked_shipped_entry(parser, args)
    files = photos_to_score(parser, args)
    size = entry.get("run_size", entry["image_size"])
    print(f"{args.model} at run size {size} on the colour photos of {args.val} ({len(files)} files)")
    print("| chroma gain | PSNR gap to gray dB | colourfulness / truth | CIEDE2000 | s / image |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    rows = score_gains(hub.pretrained(args.model), files, size, args.gains, report=lambda row: print(
        f"| {row['gain']:g} | {row['psnr_over_gray']:+.3f} | {row['colourfulness_ratio']:.1%} "
        f"| {row['ciede2000']:.2f} | {row['seconds']:.3f} |", flush=True))
    print(f"{rows[0]['images']} colour photos scored")
    if args.ship:
        gain = chosen_gain(rows)
        ship_chroma_gain(args.model, gain)
        print(f"shipped chroma gain {gain:g} for {args.model}")
