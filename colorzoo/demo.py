"""``colorzoo demo``: colorize scikit-image's sample photos with the best shipped model.

The colour photos that ship with scikit-image are turned gray, colorized at their full
resolution, and written with a gray | colorized | original grid to the output folder; PSNR and
colourfulness against the originals are printed beside the gray baseline.

Example::

    colorzoo demo --out demo
"""

import json
import os
import sys
import time

import numpy as np
import skimage.data
from PIL import Image

from colorzoo import files, hub, inference, metrics

DEMO_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")
DEMO_OUTPUTS = (*(f"{folder}/{name}.png" for folder in ("gray", "colorized") for name in DEMO_PHOTOS), "comparison.png")
RECORD = ".colorzoo-demo.json"  # the sha256 of every file the demo wrote: those, unchanged, it may replace


def best_shipped_model():
    """The shipped model with the highest mean PSNR on the evaluation sets (from the manifest)."""
    entries = hub.shipped_weights()
    if not entries:
        return None
    return max(entries, key=lambda name: entries[name].get("psnr", float("-inf")))


def comparison_figure(rows):
    """One figure: a row per photo, columns gray | colorized | original."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 3.6 * len(rows)))
    FigureCanvasAgg(figure)
    for row, (name, gray, colorized, original) in enumerate(rows):
        for column, (title, image) in enumerate((("gray", gray), ("colorized", colorized), ("original", original))):
            axes = figure.add_subplot(len(rows), 3, 3 * row + column + 1)
            axes.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255)
            axes.set_title(f"{name}: {title}")
            axes.axis("off")
    figure.tight_layout()
    return figure


class DemoOutputs:
    """The demo's files in ``out_dir``: it replaces only what it wrote itself, unchanged since.

    Each written file's sha256 goes to ``out_dir/.colorzoo-demo.json`` at once, so a re-run (also
    after an interrupted one) replaces the demo's own outputs, while a file of the user's under
    one of the demo's names is never touched.
    """

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.record_path = os.path.join(out_dir, RECORD)
        self.record = {}
        if os.path.isfile(self.record_path):
            with open(self.record_path) as handle:
                try:
                    self.record = json.load(handle)
                except ValueError as error:
                    self._refuse_record(f"not JSON: {error}")
            if not isinstance(self.record, dict) or not all(isinstance(sha, str) for sha in self.record.values()):
                self._refuse_record("not a name -> sha256 mapping")

    def _refuse_record(self, reason):
        raise ValueError(f"{self.record_path}: damaged ({reason}); remove it and the demo outputs beside it, "
                         "or give another --out")

    def foreign(self):
        """Demo output names taken by files the demo did not write (or that changed since)."""
        paths = ((name, os.path.join(self.out_dir, name)) for name in DEMO_OUTPUTS)
        return [path for name, path in paths if os.path.lexists(path) and self.record.get(name) != _sha256(path)]

    def write(self, name, write):
        """Write demo output ``name`` atomically (``write(handle)``) and record its sha256."""
        path = os.path.join(self.out_dir, name)
        files.write_atomically(path, write)
        self.record[name] = hub.sha256_of(path)
        files.write_atomically(self.record_path, lambda handle: handle.write(json.dumps(self.record).encode()))
        return path


def _sha256(path):
    return hub.sha256_of(path) if os.path.isfile(path) else None


def run_demo(out_dir="demo"):
    """Colorize the sample photos into ``out_dir`` with the best shipped model; returns a process
    exit code.

    Files of the user's under the demo's output names stop it before any work (exit 1).
    """
    model_name = best_shipped_model()
    if model_name is None:
        print(f"colorzoo: error: no shipped weights in {hub.WEIGHTS_DIR} (see weights/README.md)", file=sys.stderr)
        return 1
    outputs = DemoOutputs(out_dir)
    foreign = outputs.foreign()
    if foreign:
        print(f"colorzoo: error: {foreign[0]} was not written by colorzoo demo ({len(foreign)} such file(s)); "
              "move them or choose another --out", file=sys.stderr)
        return 1
    model = hub.pretrained(model_name)
    print(f"model: {model_name} (shipped weights, sha256 checked)")
    print(f"{'photo':22} {'size':>10} {'seconds':>8} {'PSNR gray':>10} {'PSNR model':>11} {'colourful':>10} {'truth':>7}")
    rows = []
    for name in DEMO_PHOTOS:
        original = getattr(skimage.data, name)()[..., :3]
        gray = np.asarray(Image.fromarray(original).convert("L"))
        gray_path = outputs.write(f"gray/{name}.png", lambda handle: Image.fromarray(gray).save(handle, format="PNG"))
        start = time.perf_counter()
        colorized = inference.colorize(model, gray_path)
        seconds = time.perf_counter() - start
        outputs.write(f"colorized/{name}.png", lambda handle: Image.fromarray(colorized).save(handle, format="PNG"))
        baseline = inference.to_gray(gray_path)
        truth = original / 255.0
        print(
            f"{name:22} {original.shape[1]:>4}x{original.shape[0]:<5} {seconds:8.2f} "
            f"{float(metrics.psnr(truth, baseline / 255.0)):10.2f} {float(metrics.psnr(truth, colorized / 255.0)):11.2f} "
            f"{float(metrics.colorfulness(colorized)):10.1f} {float(metrics.colorfulness(original)):7.1f}"
        )
        rows.append((name, gray, colorized, original))
    grid = outputs.write("comparison.png", lambda handle: comparison_figure(rows).savefig(handle, format="png", dpi=80))
    print(f"colorized photos: {os.path.join(out_dir, 'colorized')}/  comparison grid: {grid}")
    return 0
