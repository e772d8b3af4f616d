"""Evaluate every shipped model and the gray baseline on CBSD68 and Kodak24; write docs/results.md.

Usage: .venv/bin/python scripts/evaluate_zoo.py [--data ../shared/data/eval] [--out docs]

Prints the tables it writes. Each model colorizes every photo at full resolution (the model
runs at the pixel count of its shipped size, the size it was trained at unless weights/README.md
gives a run size, with the photo's aspect ratio; its ab, times the chroma gain the card gives, is
upsampled and recombined with the photo's own L), exactly as `colorzoo colorize` does. Writes
docs/results.md, docs/results.png and the mean PSNR of each model into weights/manifest.json
(which `colorzoo demo` uses to pick the best model) and weights/README.md. With another --out it writes results.md and results.png
there only (refusing to replace them) and leaves weights/ as it is.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from colorzoo import hub, inference, metrics, notebook  # noqa: E402
from colorzoo.data import image_files  # noqa: E402
from ship_weights import write_manifest, write_model_card  # noqa: E402

SETS = ("cbsd68", "kodak24")
DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs")
OUTPUTS = ("results.md", "results.png")
COLUMNS = (
    ("psnr", "PSNR dB", "{:.2f}"),
    ("ssim", "SSIM", "{:.4f}"),
    ("colorfulness_hasler", "colourful.", "{:.1f}"),
    ("colorfulness_absolute", "colourful. abs", "{:.1f}"),
    ("delta_colorfulness_hasler", "Δcolourful.", "{:.1f}"),
    ("ciede2000", "CIEDE2000", "{:.2f}"),
    ("seconds", "s / image", "{:.3f}"),
)
FIGURE_PHOTOS = 3  # per set
COLOURFUL_MODELS = ("zhang_classification", "pix2pix", "ddcolor_lite")  # held to the colourfulness target


def truth_colorfulness(files):
    """The mean colourfulness (Hasler-Suesstrunk) of the original photos ``files``."""
    return float(np.mean([metrics.colorfulness(inference.to_float_rgb(inference.load_image(f))) for f in files]))


def table(set_name, means, truth):
    """The markdown results table of one evaluation set: a row per method, the truth's colourfulness beside."""
    lines = [f"### {set_name}\n", "| method | " + " | ".join(label for _, label, _ in COLUMNS) + " |"]
    lines.append("| --- |" + " ---: |" * len(COLUMNS))
    for method, scores in means.items():
        cells = [fmt.format(scores[key]) for key, _, fmt in COLUMNS]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines.append(f"| ground truth | | | {truth:.1f} | | | | |")
    return "\n".join(lines)


def gain_over_gray(results, set_name, name, spaces):
    """PSNR of model ``name`` minus that of the gray baseline of its colour space, in dB."""
    means = results[set_name]
    return means[name]["psnr"] - means[metrics.GRAY_ROWS[spaces[name]]]["psnr"]


def verdicts(results, truths, spaces):
    """One line per model: whether it beats the gray baseline on both sets and whether it is desaturated."""
    lines = []
    for name in spaces:
        parts = []
        for set_name in SETS:
            gain = gain_over_gray(results, set_name, name, spaces)
            share = results[set_name][name]["colorfulness_hasler"] / truths[set_name]
            gray = metrics.GRAY_ROWS[spaces[name]]
            parts.append(f"{set_name}: {gain:+.2f} dB vs {gray}, {share:.0%} of the truth's colourfulness")
        beats = all(gain_over_gray(results, s, name, spaces) > 0 for s in SETS)
        desaturated = any(results[s][name]["colorfulness_hasler"] < 0.7 * truths[s] for s in SETS)
        verdict = ("beats" if beats else "does not beat") + " the gray baseline"
        verdict += "; desaturated (under 70 % of the truth's colourfulness)" if desaturated else "; colourful"
        lines.append(f"- `{name}` {verdict} ({'; '.join(parts)}).")
    return "\n".join(lines)


def targets(results, truths, spaces, chroma_gains=None):
    """The targets of the trained-weights issue, each with its numbers on the weaker of the two sets
    (each number's own weaker set, named); a model's gain is over the gray baseline of its own colour space.
    ``chroma_gains``: the manifest's chroma gain of the models that have one, named in their line."""
    chroma_gains = chroma_gains or {}
    names = list(spaces)
    gain = {name: min((gain_over_gray(results, s, name, spaces), s) for s in SETS) for name in names}
    share = {name: min((results[s][name]["colorfulness_hasler"] / truths[s], s) for s in SETS) for name in names}
    best = max(names, key=lambda name: gain[name][0])
    lines = [
        f"- The best model beats the gray baseline by at least 1.0 dB on both sets: `{best}`, "
        f"{gain[best][0]:+.2f} dB on its weaker set ({gain[best][1]}): **{'met' if gain[best][0] >= 1.0 else 'missed'}**."
    ]
    for name in (name for name in COLOURFUL_MODELS if name in names):
        (lowest_share, share_set), (lowest_gain, gain_set) = share[name], gain[name]
        met = lowest_share >= 0.7 and lowest_gain >= -1.0
        lines.append(
            f"- `{name}` reaches at least 70 % of the truth's colourfulness, at most 1 dB below the gray "
            f"baseline, on both sets: {lowest_share:.0%} ({share_set}) and {lowest_gain:+.2f} dB ({gain_set}), "
            f"each on its weaker set: **{'met' if met else 'missed'}**{_gain_note(chroma_gains.get(name))}."
        )
    return "\n".join(lines)


def _gain_note(gain):
    if gain is None:
        return ""
    return (f", with its chroma multiplied by {gain:g}: a setting added after this target was first measured "
            "here, its value chosen on validation photos (weights/README.md)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join("..", "shared", "data", "eval"),
                        help="folder holding the evaluation sets cbsd68/ and kodak24/ (default %(default)s)")
    parser.add_argument("--out", default=DOCS, help="folder for results.md and results.png (default: the "
                        "repository's docs/, whose scores also go into weights/manifest.json and weights/README.md)")
    args = parser.parse_args()
    missing = [os.path.join(args.data, name) for name in SETS if not os.path.isdir(os.path.join(args.data, name))]
    if missing:
        parser.error(f"--data {args.data}: no {', '.join(missing)} (the evaluation sets of ../shared/data/eval)")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        parser.error(f"--out {args.out}: an existing file, not a folder")
    official = os.path.realpath(args.out) == os.path.realpath(DOCS)
    taken = [os.path.join(args.out, name) for name in OUTPUTS if os.path.lexists(os.path.join(args.out, name))]
    if taken and not official:
        parser.error(f"--out {args.out}: {', '.join(taken)} already exist; give a new folder or remove them")
    empty = [os.path.join(args.data, name) for name in SETS if not image_files(os.path.join(args.data, name))]
    if empty:
        parser.error(f"--data {args.data}: no images in {', '.join(empty)}")
    shipped = hub.shipped_weights()
    names = sorted(shipped)
    models = {name: hub.pretrained(name) for name in names}
    spaces = {name: inference.model_spec(model).color_space for name, model in models.items()}
    results, truths, photos = {}, {}, []
    for set_name in SETS:
        files = image_files(os.path.join(args.data, set_name))
        grays, means = {}, {}
        for name, model in models.items():
            result = metrics.evaluate(model, files, progress=False)
            if not result["images"]:
                raise SystemExit(f"{os.path.join(args.data, set_name)}: no colour photo could be scored")
            means[name] = result["means"][name]
            # the gray baseline of the model's colour space: the same for every model of that space
            grays[metrics.GRAY_ROWS[spaces[name]]] = result["means"][metrics.GRAY_BASELINE]
        scored = sorted({row["file"] for row in result["rows"]})  # unreadable and grayscale files left out
        truths[set_name] = truth_colorfulness(scored)
        photos += scored[:: max(1, len(scored) // FIGURE_PHOTOS)][:FIGURE_PHOTOS]
        results[set_name] = {**dict(sorted(grays.items())), **means}
        print(table(set_name, results[set_name], truths[set_name]), "\n")
    summary = verdicts(results, truths, spaces)
    goals = targets(results, truths, spaces, {
        name: entry["chroma_gain"] for name, entry in shipped.items() if "chroma_gain" in entry
    })
    print(summary, "\n\n" + goals)
    os.makedirs(args.out, exist_ok=True)
    grid = notebook.colorize_grid(models, photos)
    grid.savefig(os.path.join(args.out, "results.png"), dpi=70)
    with open(os.path.join(args.out, "results.md"), "w") as file:
        file.write("# Results\n\n")
        file.write(
            "Every shipped model (weights/) and the gray baseline (ab = 0) on the held-out sets, at full "
            "resolution: the model runs at the pixel count of its shipped size (the size it was trained at, "
            "or the run size of [weights/README.md](../weights/README.md), chosen on validation photos) "
            "with the photo's aspect ratio, its chroma (times the chroma gain weights/README.md gives, chosen on "
            "validation photos too) is upsampled and recombined with the photo's own L. "
            "`gray` is the photo's L with ab = 0, the baseline of the Lab models; `gray (YUV)` its Y with "
            f"UV = 0, the baseline of the YUV models ({', '.join(n for n, s in spaces.items() if s == 'yuv')}), "
            "against which their gains are measured (Y with UV = 0 is the closer of the two grays to the photos). "
            "Produced by `.venv/bin/python scripts/evaluate_zoo.py` on a 2-core CPU; rerun it to reproduce "
            "every score (s / image is the machine's timing and varies run to run). PSNR and SSIM on RGB (SSIM: 11x11 Gaussian, sigma 1.5); colourfulness after "
            "Hasler & Suesstrunk (signed form, and the absolute form DDColor and CT2 report); "
            "Δcolourfulness = |C(prediction) - C(truth)|; CIEDE2000 mean over pixels; "
            "s / image = wall time of `colorize` on this CPU.\n\n"
        )
        for set_name in SETS:
            file.write(table(set_name, results[set_name], truths[set_name]) + "\n\n")
        file.write("## Verdicts\n\n" + summary + "\n\n")
        file.write("## Targets\n\n" + goals + "\n\n")
        file.write("![gray | every model | original](results.png)\n")
    if official:
        manifest = hub.shipped_weights()
        for name in names:
            manifest[name]["psnr"] = round(float(np.mean([results[s][name]["psnr"] for s in SETS])), 3)
        write_manifest(manifest)
        write_model_card()


if __name__ == "__main__":
    main()
