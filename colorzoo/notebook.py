"""Helpers for the notebooks in ``notebooks/``: smoke mode, GPU set-up, data, run folders, plots.

The notebooks call only the library; what they share beyond it lives here. A notebook runs in
one of two modes:

- **smoke** (environment variable ``COLORZOO_SMOKE=1``, the default where there is no GPU): a
  tiny folder of scikit-image's colour photos (:func:`sample_photo_folder`), each model's
  ``small`` configuration and one short epoch, to check that every cell works in a minute.
- **full** (``COLORZOO_SMOKE=0``, the default on a GPU, e.g. Colab): Imagenette
  (:func:`download_imagenette`, see ``datasets.md``), native sizes and real epochs.

Example:

>>> from colorzoo import notebook
>>> SMOKE = notebook.smoke_mode()
>>> notebook.setup_gpu()
>>> config = notebook.run_config("unet_sequential", smoke=SMOKE)
>>> photos = notebook.sample_photo_folder("data/sample_photos")
>>> notebook.plot_history(history)
"""

import csv
import dataclasses
import io
import os
import pathlib

import keras
import matplotlib.pyplot as plt
import numpy as np
import skimage.color
import skimage.data
import tensorflow as tf
from PIL import Image

from colorzoo import inference
from colorzoo.data import file_list, find_grayscale, image_files, split_files
from colorzoo.files import write_atomically
from colorzoo.metrics import GRAY_BASELINE, GRAY_ROWS
from colorzoo.models import model_info
from colorzoo.models.zhang_classification import GRID, gamut_bins
from colorzoo.training import tpu_attached, use_mixed_precision_on_gpu

SMOKE_ENV = "COLORZOO_SMOKE"
FALSE_VALUES = ("0", "false", "no", "off")
# Natural colour photos that ship with scikit-image (no download needed).
SAMPLE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")
# Copies of the (blue-dominated) rocket photo with its hues turned to these, in degrees: colour-
# biased subsets for select_by_dominant_hue. The sky's hue is about 215 degrees.
TINTS = {"yellow": -160.0, "green": -95.0}
GRAY_PHOTO = "camera"
# Crops of each photo: (top, left, side) as fractions of its shorter side, from the centre.
CROPS = ((0.0, 0.0, 1.0), (-0.125, -0.125, 0.75), (0.125, 0.125, 0.75))
IMAGENETTE_URL = "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2{suffix}.tgz"
IMAGENETTE_SIZES = {None: "", 320: "-320", 160: "-160"}
KODAK_URL = "https://r0k.us/graphics/kodak/kodak/kodim{index:02d}.png"
KODAK_COUNT = 24
DEFAULT_SCORES = ("psnr", "ssim", "ciede2000", "colorfulness_hasler")
# Full-run settings that differ from run_config's defaults: DDColor-tiny's GAN step at 256 px
# needs about 5.5 GiB per 4 photos in float32 (BENCHMARKS.md), too much at 16 for a 16 GB T4.
FULL_OVERRIDES = {"ddcolor_lite": {"batch_size": 8}}
VAL_COUNT = 500  # full runs validate on this many photos (seeded), not on all of Imagenette's 3,925


# === Mode and hardware ===


def smoke_mode():
    """Whether to run the notebook's smoke version: ``COLORZOO_SMOKE`` if set, else "no GPU".

    ``COLORZOO_SMOKE=1`` forces the smoke run (tiny data, small models, a few steps);
    ``COLORZOO_SMOKE=0`` forces the full run even on a CPU. A TPU runtime has no GPU, so it gets
    the smoke run: the full runs train on one GPU (:func:`setup_gpu` says so).

    Example:

    >>> SMOKE = smoke_mode()
    """
    value = os.environ.get(SMOKE_ENV, "").strip().lower()
    if value:
        return value not in FALSE_VALUES
    return not tf.config.list_physical_devices("GPU")


def setup_gpu():
    """Print the accelerators found and turn on ``mixed_float16`` when a GPU exists.

    Returns whether mixed precision is on. Call it before building any model.

    Example:

    >>> MIXED_PRECISION = setup_gpu()
    """
    gpus = tf.config.list_physical_devices("GPU")
    mixed = use_mixed_precision_on_gpu()
    names = ", ".join(gpu.name for gpu in gpus) or ("none (a TPU machine)" if tpu_attached() else "none (CPU only)")
    print(f"GPUs: {names}; mixed precision: {'on' if mixed else 'off'}")
    if not gpus and tpu_attached():
        print("The notebooks' full runs train on one GPU, so on a TPU they run in smoke mode (COLORZOO_SMOKE=0 "
              "would train on the host's CPU). Train on the TPU with `colorzoo train --strategy tpu` or "
              "`colorzoo.training.train(name, ..., strategy=\"tpu\")`.")
    return mixed


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """How a notebook trains and evaluates one architecture (see :func:`run_config`)."""

    name: str
    image_size: int
    model_kwargs: dict
    batch_size: int
    epochs: int
    steps_per_epoch: int | None
    eval_count: int
    val_count: int | None


def run_config(name, smoke, **overrides):
    """Training settings of architecture ``name`` for a smoke or a full run.

    Smoke: the registry's ``small`` configuration (64 px), batches of 2, one epoch of 2 steps,
    2 evaluation photos, every other validation photo. Full: the native size and the builder's
    defaults (the report's network), batches of 16 (8 for ddcolor_lite, :data:`FULL_OVERRIDES`),
    10 epochs over the data, 100 evaluation photos and :data:`VAL_COUNT` validation photos
    (:func:`split_evaluation`). ``overrides`` replace any field, e.g. ``epochs=30``.

    Example:

    >>> config = run_config("pix2pix", smoke=True)
    >>> config.image_size, config.model_kwargs
    (64, {'width': 0.125})
    """
    info = model_info(name)
    if smoke:
        kwargs = dict(info.small)
        settings = dict(image_size=kwargs.pop("image_size", 64), model_kwargs=kwargs, batch_size=2, epochs=1,
                        steps_per_epoch=2, eval_count=2, val_count=None)
    else:
        settings = dict(image_size=info.native_size, model_kwargs={}, batch_size=16, epochs=10,
                        steps_per_epoch=None, eval_count=100, val_count=VAL_COUNT)
        settings.update(FULL_OVERRIDES.get(name, {}))
    settings.update(overrides)
    return RunConfig(name=name, **settings)


def new_run_dir(base):
    """``base`` if it is missing or an empty folder, else the first such ``base_2``, ``base_3``, ...

    ``colorzoo.training.train`` refuses to train into a folder holding files (a run, an
    interrupted run, anything else) and ``colorize_files`` to replace outputs, so re-running a
    notebook cell trains, or colorizes, into a fresh folder.

    Example:

    >>> run_dir = new_run_dir("runs/unet_sequential")
    """
    candidate, index = base, 1
    while os.path.exists(candidate) and (not os.path.isdir(candidate) or os.listdir(candidate)):
        index += 1
        candidate = f"{base}_{index}"
    return candidate


def run_folder(base, resume=False):
    """The folder a notebook's training cell trains into: a fresh one (:func:`new_run_dir`), or
    with ``resume`` the newest run made from ``base`` (``base``, ``base_2``, ...; one holding
    ``run.json``), to continue with ``train(..., resume=True)`` after an interruption. With
    ``resume`` and no run yet, a fresh folder: ``train`` starts a run there.

    Example:

    >>> run_dir = run_folder("runs/unet_sequential", resume=RESUME)
    >>> train(model, photos, out_dir=run_dir, resume=RESUME)
    """
    runs = [folder for folder in _numbered_folders(base) if os.path.isfile(os.path.join(folder, "run.json"))]
    return runs[-1] if resume and runs else new_run_dir(base)


def _numbered_folders(base):
    """``base``, ``base_2``, ``base_3``, ... as long as they exist (the folders :func:`new_run_dir` makes)."""
    candidate, index = base, 1
    while os.path.isdir(candidate):
        yield candidate
        index += 1
        candidate = f"{base}_{index}"


def find_run(base, checkpoint="best.keras"):
    """The trained model of the newest run :func:`new_run_dir` made from ``base``, or ``None``.

    Looks at ``base``, ``base_2``, ``base_3``, ... and returns the ``checkpoint`` (else
    ``last.keras``) of the last one that holds a model; a GAN stage's model is its
    ``last.keras`` (its ``best.keras``, chosen by validation L1, is the least colourful epoch).

    Example:

    >>> path = find_run("runs/unet_sequential")              # e.g. "runs/unet_sequential_2/best.keras"
    >>> path = find_run("runs/pix2pix", checkpoint="last.keras")
    """
    found = None
    for folder in _numbered_folders(base):
        models = [os.path.join(folder, file) for file in (checkpoint, "last.keras")]
        found = next((path for path in models if os.path.isfile(path)), found)
    return found


# === Data ===


def _square_crop(photo, top, left, side):
    height, width = photo.shape[:2]
    shorter = min(height, width)
    size = int(round(shorter * side))
    y = (height - size) // 2 + int(round(top * shorter))
    x = (width - size) // 2 + int(round(left * shorter))
    y, x = min(max(y, 0), height - size), min(max(x, 0), width - size)
    return photo[y : y + size, x : x + size]


def _rotate_hue(rgb, degrees):
    hsv = skimage.color.rgb2hsv(rgb)
    hsv[..., 0] = (hsv[..., 0] + degrees / 360.0) % 1.0
    return (skimage.color.hsv2rgb(hsv) * 255.0).round().astype(np.uint8)


def _resized(array, size):
    return np.asarray(Image.fromarray(array).resize((size, size), Image.BILINEAR))


def sample_photo_folder(folder, size=64):
    """Write a tiny photo dataset from scikit-image's colour photos; returns the sorted paths.

    Three square crops of each photo of :data:`SAMPLE_PHOTOS`, three crops of the rocket photo
    with its hues turned yellow and green (so that :func:`colorzoo.data.select_by_dominant_hue`
    finds blue, yellow and green subsets) and one grayscale photo (``camera``, which
    ``make_dataset(drop_grayscale=True)`` and :func:`colorzoo.data.find_grayscale` catch):
    22 JPEG files of ``size`` x ``size`` pixels. A file already there is kept if it is the one this
    writes (a re-run), and refused (``FileExistsError``) if it is another: nobody's photo is replaced.

    Example:

    >>> files = sample_photo_folder("data/sample_photos", size=64)
    """
    os.makedirs(folder, exist_ok=True)
    images = {}
    for name in SAMPLE_PHOTOS:
        photo = getattr(skimage.data, name)()[..., :3]
        for index, crop in enumerate(CROPS):
            images[f"{name}_{index}"] = _resized(_square_crop(photo, *crop), size)
    for tint, degrees in TINTS.items():
        for index in range(len(CROPS)):
            images[f"rocket_{tint}_{index}"] = _rotate_hue(images[f"rocket_{index}"], degrees)
    images[f"{GRAY_PHOTO}_gray"] = _resized(getattr(skimage.data, GRAY_PHOTO)(), size)
    encoded = {}
    for name, image in images.items():
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=95)
        encoded[os.path.join(folder, f"{name}.jpg")] = buffer.getvalue()
    for path, content in encoded.items():  # all checked before any file is written
        if os.path.lexists(path) and not (os.path.isfile(path) and pathlib.Path(path).read_bytes() == content):
            raise FileExistsError(f"{path}: not a sample photo of this function; refusing to replace it")
    for path, content in encoded.items():
        if not os.path.exists(path):
            write_atomically(path, lambda handle, content=content: handle.write(content), replace=False)
    return sorted(encoded)


def _find_folder_with(root, names):
    """The first folder under ``root`` (``root`` included) holding every subfolder in ``names``."""
    for folder, subfolders, _ in os.walk(root):
        if all(name in subfolders for name in names):
            return folder
    raise FileNotFoundError(f"no folder with {', '.join(names)} under {root}")


def download_imagenette(cache_dir="data", size=320):
    """Download and extract Imagenette (fast.ai); returns the folder holding ``train/`` and ``val/``.

    Args:
        cache_dir: where the archive and its extraction go (``<cache_dir>/datasets/``).
        size: 320 (shorter side 320 px, 326 MB), 160 (94 MB) or ``None`` (full size, 1.5 GB).

    The download is skipped when the archive is already there. Each class is a folder named
    by its WordNet id, e.g. ``train/n01440764/*.JPEG``.

    Example:

    >>> root = download_imagenette("data")
    >>> train_files = image_files(os.path.join(root, "train"))
    """
    if size not in IMAGENETTE_SIZES:
        raise ValueError(f"size must be one of {sorted(IMAGENETTE_SIZES, key=str)}, got {size!r}")
    url = IMAGENETTE_URL.format(suffix=IMAGENETTE_SIZES[size])
    os.makedirs(cache_dir, exist_ok=True)  # get_file falls back to /tmp for a missing folder
    path = keras.utils.get_file(origin=url, extract=True, cache_dir=os.path.abspath(cache_dir))
    # Where Keras extracts differs between versions: look for train/ and val/ near the archive.
    return _find_folder_with(path if os.path.isdir(path) else os.path.dirname(path), ("train", "val"))


def training_photos(cache_dir="data", data_dir=None):
    """The training and validation files of a full run: ``data_dir``'s photos split 90 / 10
    (seed 0), or Imagenette's own split (:func:`download_imagenette`, shorter side 320 px).

    Example:

    >>> train_files, val_files = training_photos("data", os.environ.get("COLORZOO_DATA"))
    """
    if data_dir:
        return split_files(data_dir, val_fraction=0.1, seed=0)
    root = download_imagenette(cache_dir, size=320)
    return image_files(os.path.join(root, "train")), image_files(os.path.join(root, "val"))


def split_evaluation(val_files, eval_count, val_count=None, seed=0):
    """``(validation files, evaluation files)``: a seeded draw of ``eval_count`` colour photos of
    ``val_files`` to evaluate on, and the rest (at most ``val_count`` of them, also drawn) to
    validate on, so that the photos scored in the end did not pick the checkpoint. Both lists
    keep the drawn order, so their first photos (the figures, ``train``'s sample grid) vary too.

    A draw, not the first files: sorted folders of classes (Imagenette's ``val/n01440764`` holds
    387 photos of tench) would otherwise give photos of one class. Grayscale photos go to neither
    list. At most half the colour photos are drawn for evaluation, so that validation keeps the
    other half (a small folder of one's own). ``val_files``: a list, a folder or one file.

    Example:

    >>> val_files, eval_files = split_evaluation(val_files, eval_count=100, val_count=500)
    """
    val_files = file_list(val_files)
    gray = set(find_grayscale(val_files))
    colour = [path for path in val_files if path not in gray]
    if not colour:
        raise ValueError(f"no colour photos among the {len(val_files)} validation files to draw from")
    eval_count = min(eval_count, len(colour) // 2)
    order = np.random.default_rng(seed).permutation(len(colour))
    drawn = [colour[index] for index in order]
    validation = drawn[eval_count:] if val_count is None else drawn[eval_count : eval_count + val_count]
    return validation, drawn[:eval_count]  # in drawn order: the first few are as varied as the rest


def download_kodak24(folder="data/kodak24"):
    """Download the 24 Kodak PNGs (768 x 512) from r0k.us into ``folder``; returns their paths.

    Files already present are not downloaded again.

    Example:

    >>> kodak = download_kodak24()
    """
    folder = os.path.abspath(folder)
    os.makedirs(folder, exist_ok=True)
    return [
        keras.utils.get_file(origin=KODAK_URL.format(index=index), cache_dir=folder, cache_subdir="")
        for index in range(1, KODAK_COUNT + 1)
    ]


# === Plots ===


class StepHistory(keras.callbacks.Callback):
    """Record the training logs after every step, for curves finer than one point per epoch.

    The values are what ``fit`` shows: each metric's running mean since the epoch began.
    :func:`plot_history` draws them against the step.

    Example:

    >>> steps = StepHistory()
    >>> trainer.fit(data, epochs=2, callbacks=[steps])
    >>> plot_history(steps, keys=["d_loss", "g_loss"])
    """

    unit = "step"

    def on_train_begin(self, logs=None):
        self.history = {}

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))


def _history_dict(history):
    if isinstance(history, (str, os.PathLike)):
        with open(history, newline="") as file:
            rows = list(csv.DictReader(file))
        # Keras's CSVLogger writes "NA" for a metric an epoch did not log (val_loss without validation)
        columns = {key: [np.nan if row[key] in ("NA", "") else float(row[key]) for row in rows]
                   for key in (rows[0] if rows else ()) if key != "epoch"}
        return {key: values for key, values in columns.items() if not np.isnan(values).all()}
    return dict(getattr(history, "history", history))


def plot_history(history, keys=None, title=None):
    """Training curves: one panel per metric, its validation value (``val_<key>``) beside it.

    Args:
        history: a ``keras.callbacks.History``, its ``.history`` dict, a run's ``log.csv``, or
            a :class:`StepHistory` (plotted against the step).
        keys: metrics to plot (default: every logged metric that is not a ``val_`` one).
        title: figure title.

    Returns the matplotlib figure (shown inline in a notebook).

    Example:

    >>> plot_history(history)
    >>> plot_history("runs/pix2pix/log.csv", keys=["d_loss", "g_adversarial", "l1"])
    """
    logs = _history_dict(history)
    keys = keys or [key for key in logs if not key.startswith("val_") and key != "learning_rate"]
    if not keys:
        raise ValueError("plot_history: no metric to plot (an empty history, or a run that logged no epoch yet)")
    figure, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3), squeeze=False)
    for axis, key in zip(axes[0], keys):
        for name in (key, f"val_{key}"):
            if name in logs:
                axis.plot(np.arange(1, len(logs[name]) + 1), logs[name], marker="o", label=name)
        axis.set_title(key)
        axis.set_xlabel(getattr(history, "unit", "epoch"))
        axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def compare_histories(histories, keys=("loss", "val_loss"), title=None):
    """Curves of several runs side by side: one panel per metric, one line per run.

    Args:
        histories: ``{label: history}``, each anything :func:`plot_history` takes.
        keys: the metrics to plot; a run that did not log one is left out of its panel.

    Example:

    >>> compare_histories({"kernel 3": history3, "kernel 5": history5}, keys=["val_loss"])
    """
    logs = {label: _history_dict(history) for label, history in histories.items()}
    figure, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2), squeeze=False)
    for axis, key in zip(axes[0], keys):
        for label, values in logs.items():
            if key in values:
                axis.plot(np.arange(1, len(values[key]) + 1), values[key], marker="o", label=label)
        axis.set_title(key)
        axis.set_xlabel("epoch")
        axis.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def format_grid(table, digits=2):
    """A ``{row: {column: value}}`` table as aligned text, rows and columns in insertion order.

    Example:

    >>> print(format_grid({"blue model": {"blue": 24.1, "green": 21.3}}))
    """
    columns = list(dict.fromkeys(column for row in table.values() for column in row))
    first = max([0] + [len(str(row)) for row in table])
    widths = [max(len(str(column)), digits + 5) for column in columns]
    lines = ["  ".join(["".ljust(first), *(str(column).rjust(width) for column, width in zip(columns, widths))])]
    for name, row in table.items():
        cells = (f"{row[column]:.{digits}f}" if column in row else "-" for column in columns)
        lines.append("  ".join([str(name).ljust(first), *(cell.rjust(width) for cell, width in zip(cells, widths))]))
    return "\n".join(lines)


def plot_grid(table, ylabel=None, title=None):
    """Grouped bars of a ``{row: {column: value}}`` table: a group per column, a bar per row.

    Example:

    >>> plot_grid(psnr_by_model_and_test_set, ylabel="PSNR (dB)")
    """
    columns = list(dict.fromkeys(column for row in table.values() for column in row))
    width = 0.8 / max(1, len(table))
    figure, axis = plt.subplots(figsize=(max(5.0, 0.3 * len(columns) * len(table) + 2.0), 3.6))
    for index, (name, row) in enumerate(table.items()):
        present = [place for place, column in enumerate(columns) if column in row]
        positions = np.array(present) + (index - (len(table) - 1) / 2) * width
        axis.bar(positions, [row[columns[place]] for place in present], width, label=str(name))
    axis.set_xticks(np.arange(len(columns)), [str(column) for column in columns])
    axis.set_ylabel(ylabel or "")
    axis.legend(fontsize=8, ncol=2)
    if title:
        axis.set_title(title)
    figure.tight_layout()
    return figure


def show_images(images, titles=None, columns=None, size=2.4):
    """A grid of images (arrays, PIL images or paths) with optional titles; returns the figure.

    Example:

    >>> show_images(train_files[:8], titles=[os.path.basename(f) for f in train_files[:8]])
    """
    images = [inference.load_image(image) for image in images]
    if not images or (titles is not None and len(titles) != len(images)):
        raise ValueError(f"show_images needs images and one title per image, got {len(images)} images and "
                         f"{'no' if titles is None else len(titles)} titles")
    columns = columns or min(len(images), 6)
    rows = -(-len(images) // columns)
    aspect = max(image.shape[0] / image.shape[1] for image in images)  # height / width of a panel
    figure, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows * aspect + 0.3 * rows),
                                squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < len(images):
            axis.imshow(images[index], cmap="gray" if images[index].ndim == 2 else None)
            if titles:
                axis.set_title(titles[index], fontsize=9)
    figure.tight_layout()
    return figure


def colorize_grid(models, files, size=None):
    """One row per photo: gray input | each model's colorization | original; returns the figure.

    Args:
        models: ``{title: model}``, a list of models or one model (titled by their name).
        files: photos with their true colours: a list, a folder or one file.
        size: model run size (see :func:`colorzoo.inference.colorize`).

    The gray input is the luminance the models see: YUV's Y if every model is a YUV one, else
    Lab's L.

    Example:

    >>> colorize_grid({"unet": model}, eval_files[:3])
    """
    if isinstance(models, keras.Model):
        models = [models]
    if not isinstance(models, dict):
        models = {model.name: model for model in models}
    files = file_list(files)
    if not models or not files:
        raise ValueError(f"colorize_grid needs models and photos, got {len(models)} models and {len(files)} photos")
    spaces = {inference.model_spec(inference.colorizing_model(model, "colorize_grid")).color_space
              for model in models.values()}
    gray_space = spaces.pop() if len(spaces) == 1 else "lab"
    columns = len(models) + 2
    figure, axes = plt.subplots(len(files), columns, figsize=(2.4 * columns, 2.4 * len(files)), squeeze=False)
    for row, path in enumerate(files):
        original = inference.load_image(path)
        panels = [("gray", inference.to_gray(original, gray_space))]
        panels += [(title, inference.colorize(model, original, size)) for title, model in models.items()]
        panels.append(("original", original))
        for axis, (title, image) in zip(axes[row], panels):
            axis.imshow(image, cmap="gray" if image.ndim == 2 else None)
            axis.set_title(title, fontsize=9)
            axis.axis("off")
    figure.tight_layout()
    return figure


def merge_results(results):
    """Merge :func:`colorzoo.metrics.evaluate` results on the same photos into one result.

    ``results`` is a list, or a dict ``{label: result}`` whose labels replace the model names
    (needed when several models of one architecture are compared). The means of every model
    and of the gray baselines end up in one result, which :func:`colorzoo.metrics.format_table`
    prints and :func:`plot_scores` plots: ``"gray"`` (L with ab = 0) for the Lab models and
    ``"gray (YUV)"`` (Y with UV = 0) for the YUV ones, each once and last.

    Example:

    >>> merged = merge_results({"kernel 3": evaluate(k3, files), "kernel 5": evaluate(k5, files)})
    >>> print(format_table(merged))
    """
    labelled = results.items() if isinstance(results, dict) else [(None, result) for result in results]
    means, grays, rows, skipped, images = {}, {}, [], set(), 0
    photos = None
    for label, result in labelled:
        label = label or result["model"]
        images = result["images"]
        scored = {row["file"] for row in result["rows"] if row["method"] == result["model"]}
        if photos is not None and scored != photos:
            raise ValueError(f"{label} was scored on other photos than the results before it: compare on the same files")
        photos = scored
        skipped.update(result["skipped"])
        if label in means:
            raise ValueError(f"two results score a method named {label!r}; label them with a dict")
        if result["model"] in result["means"]:  # none when every photo was skipped
            means[label] = result["means"][result["model"]]
        gray = GRAY_ROWS[result.get("color_space", "lab")]
        if gray not in grays and GRAY_BASELINE in result["means"]:
            grays[gray] = result["means"][GRAY_BASELINE]
            rows += [{**row, "method": gray} for row in result["rows"] if row["method"] == GRAY_BASELINE]
        rows += [{**row, "method": label} for row in result["rows"] if row["method"] == result["model"]]
    models = ", ".join(means)
    return {"model": models, "images": images, "skipped": sorted(skipped), "rows": rows, "means": {**means, **grays}}


def group_means(result, groups, score="psnr", method=None):
    """Mean ``score`` of one method of an :func:`colorzoo.metrics.evaluate` result per group of
    files, and over all of them (``"all"``).

    Args:
        result: an ``evaluate`` result.
        groups: ``{group: files}`` (a list, a folder or one file); files the result did not
            score are ignored.
        method: the model's name (default) or ``"gray"`` for the baseline.

    Example:

    >>> group_means(evaluate(model, blue + green), {"blue": blue, "green": green})
    {'blue': 23.9, 'green': 21.2, 'all': 22.6}
    """
    method = method or result["model"]
    rows = [row for row in result["rows"] if row["method"] == method]
    means = {}
    for group, files in groups.items():
        members = set(file_list(files))
        values = [row[score] for row in rows if row["file"] in members]
        means[group] = float(np.mean(values)) if values else float("nan")
    means["all"] = float(np.mean([row[score] for row in rows])) if rows else float("nan")
    return means


def plot_scores(result, scores=DEFAULT_SCORES):
    """Bar charts of an :func:`colorzoo.metrics.evaluate` (or merged) result: one panel per score.

    The gray baseline is drawn in gray. Returns the figure.

    Example:

    >>> plot_scores(merge_results(results), scores=("psnr", "ciede2000"))
    """
    methods = list(result["means"])
    palette = [f"C{index}" for index in range(10) if index != 7]  # C7 is gray, kept for the baseline
    colours = [
        "0.6" if method in GRAY_ROWS.values() else palette[index % len(palette)] for index, method in enumerate(methods)
    ]
    figure, axes = plt.subplots(1, len(scores), figsize=(max(3.0, 0.5 * len(methods) + 1.5) * len(scores), 3.4),
                                squeeze=False)
    for axis, score in zip(axes[0], scores):
        axis.bar(methods, [result["means"][method][score] for method in methods], color=colours)
        axis.set_title(score)
        axis.tick_params(axis="x", rotation=60, labelsize=8)
    figure.tight_layout()
    return figure


def plot_ab_bins(values, title=None, log=False, axis=None):
    """Show one value per ab bin of ``zhang_classification`` (e.g. the prior or the rebalancing
    weights) as an image on the ab plane; bins outside the gamut stay blank.

    Args:
        values: ``(Q,)`` values for the ``"gamut313"`` bins.
        title: axis title.
        log: plot ``log10`` of the values (priors span several orders of magnitude); bins of
            value 0 stay blank.
        axis: a matplotlib axis to draw on (default: a new figure).

    Example:

    >>> plot_ab_bins(ab_prior(train_data), "ab prior", log=True)
    """
    centres = gamut_bins()
    values = np.asarray(values, "float64").ravel()
    if values.shape != (len(centres),):
        raise ValueError(f"expected {len(centres)} values, one per gamut bin, got shape {values.shape}")
    if log:  # bins of value 0 (colours never seen) stay blank
        values = np.log10(np.where(values > 0, values, np.nan))
    steps = np.round(centres / GRID).astype(int)
    low = steps.min()
    side = steps.max() - low + 1
    plane = np.full((side, side), np.nan)
    plane[steps[:, 1] - low, steps[:, 0] - low] = values  # rows: b, columns: a
    extent = [(low - 0.5) * GRID, (low + side - 0.5) * GRID] * 2
    if axis is None:
        _, axis = plt.subplots(figsize=(4, 3.6))
    shown = axis.imshow(plane, origin="lower", extent=extent, cmap="viridis")
    axis.figure.colorbar(shown, ax=axis)
    axis.set_xlabel("a")
    axis.set_ylabel("b")
    if title:
        axis.set_title(title)
    return axis.figure
