"""What a new run shape costs: a folder of photos of mixed formats, colorized by a shipped model.

``colorize`` runs a model at the photo's aspect ratio (``inference.run_size``), so every photo
format is another input shape. Each shipped model runs in a fresh process on a 0.3-megapixel
scikit-image photo cut to the 13 common formats (1:1, 4:3, 3:2, 16:9, 7:5, 2:1, 21:9, both
orientations), in that order, twice: the first pass pays what each new run shape costs
(a trace per shape for the models with Keras's bilinear ``UpSampling2D``, nothing but the call
where one trace serves every shape), the second is warm. It reports the first pass's total and
median, the warm pass's median, how many run shapes the formats make, and the Keras nodes the
pass left on the model's layers (a rebuild for a run shape, as colorzoo did before, adds one to
every shared layer, kept as long as the model lives).

Usage:

    .venv/bin/python bench/run_shapes.py                              # every shipped model
    .venv/bin/python bench/run_shapes.py --models ddcolor_lite,pix2pix
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402  (sets TF_CPP_MIN_LOG_LEVEL before TensorFlow loads)

FORMATS = [(1, 1), (4, 3), (3, 2), (16, 9), (7, 5), (2, 1), (21, 9)]
PHOTO_PIXELS = 300_000


def format_photos():
    """The scikit-image photo at PHOTO_PIXELS pixels in each format, landscape then portrait (1:1 once)."""
    aspects = [width / height for width, height in FORMATS]
    aspects += [1 / aspect for aspect in aspects[1:]]
    return [common.photo(PHOTO_PIXELS / 1e6, aspect=aspect) for aspect in aspects]


def node_count(model):
    return sum(len(layer._inbound_nodes) for layer in model._flatten_layers(include_self=False))


def timed_passes(name):
    """One model's two passes over :func:`format_photos` (a dict of seconds, shapes and nodes)."""
    import colorzoo
    from colorzoo import inference

    model = colorzoo.pretrained(name)
    photos = format_photos()
    nodes = node_count(model)
    passes = []
    for _ in range(2):
        seconds = []
        for photo in photos:
            start = time.perf_counter()
            inference.colorize(model, photo)
            seconds.append(time.perf_counter() - start)
        passes.append(seconds)
    shapes = {inference.run_size(model, image_shape=photo.shape[:2]) for photo in photos}
    return {"first": passes[0], "warm": passes[1], "shapes": len(shapes), "nodes_added": node_count(model) - nodes}


def main(argv=None):
    spec = common.worker_spec(argv)
    if spec is not None:
        common.report_result(timed_passes(spec["model"]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=common.model_names, help="comma-separated shipped models (default: all)")
    args = parser.parse_args(argv)
    from colorzoo import hub

    names = args.models.split(",") if args.models else sorted(hub.shipped_weights())
    load = os.getloadavg()[0]
    common.warn_if_busy(load)
    rows, failed = [], []
    for name in names:
        result = common.run_worker(os.path.abspath(__file__), {"model": name})
        if "error" in result:
            failed.append(f"{name}: {result['error']}")
            continue
        first, warm = result["first"], result["warm"]
        rows.append([
            name, str(len(first)), str(result["shapes"]), f"{sum(first):.2f}", f"{statistics.median(first):.3f}",
            f"{statistics.median(warm):.3f}", str(result["nodes_added"]),
        ])
    print(common.markdown_table(
        ["model", "photos", "run shapes", "first pass s", "first pass median s", "warm median s",
         "Keras nodes added"], rows))
    print(f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after")
    for failure in failed:
        print(f"failed: {failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
