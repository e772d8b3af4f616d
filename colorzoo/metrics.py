"""Colorization metrics: PSNR, SSIM, ab errors, colourfulness, CIEDE2000, and ``evaluate``.

Images are RGB, float in [0, 1] or uint8, with an optional leading batch axis; every metric
returns one value per image. PSNR and SSIM follow ``tf.image`` (max value 1, SSIM with an
11 x 11 Gaussian window of sigma 1.5, averaged over the RGB channels).

Colourfulness is Hasler & Suesstrunk (2003) on 0-255 RGB, with rg = R - G and
yb = (R + G) / 2 - B:

- ``"hasler"``: the paper, M = sqrt(std_rg^2 + std_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2).
- ``"absolute"``: the same on |rg| and |yb|, the widespread implementation whose numbers
  DDColor and CT2 report.

Example:

>>> image_metrics(luminance, true_ab, predicted_ab, "lab", reference=False)   # batch means, for callbacks
{'images': 8, 'psnr': 24.1, 'ssim': 0.93, 'colourfulness': 21.7}
>>> result = evaluate(model, "val_photos/", image_size=256, csv_path="scores.csv")
>>> result["means"]["gray"]["psnr"], result["means"][model.name]["psnr"]
"""

import csv
import io
import itertools
import json
import logging
import numbers
import os
import time

import keras
import numpy as np
import skimage.color
import tensorflow as tf

from colorzoo import color, inference
from colorzoo.data import is_grayscale
from colorzoo.files import write_atomically

logger = logging.getLogger(__name__)

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SCORE_STRIP_PIXELS = 1 << 20  # image_scores works on strips of about a megapixel: bounded memory at any photo size
# ... full-width strips of at least this many rows; a photo wider than SCORE_STRIP_PIXELS / SCORE_MIN_ROWS
# is cut into tiles of that width too (SSIM's window would add 10 rows to strips of a row or two)
SCORE_MIN_ROWS = 64
COLORFULNESS_FORMS = ("hasler", "absolute")
GRAY_BASELINE = "gray"
GRAY_ROWS = {"lab": GRAY_BASELINE, "yuv": "gray (YUV)"}  # the gray baselines of merged or tabled results
SCORES = (
    "psnr",
    "ssim",
    "ab_l1",
    "ab_mse",
    "ciede2000",
    "colorfulness_hasler",
    "colorfulness_absolute",
    "delta_colorfulness_hasler",
    "delta_colorfulness_absolute",
    "seconds",
)


def _checked_rgb(rgb, what="rgb"):
    """``rgb`` if it is RGB images ``(..., H, W, 3)`` of uint8, uint16 or float in [0, 1], else ``ValueError``.

    Float values are checked where they can be read (arrays, eager tensors), not inside a ``tf.function``.
    """
    rgb = rgb if tf.is_tensor(rgb) else np.asarray(rgb)
    dtype = np.dtype(rgb.dtype.as_numpy_dtype) if tf.is_tensor(rgb) else rgb.dtype
    if len(rgb.shape) < 3 or rgb.shape[-1] != 3:
        raise ValueError(f"{what} must be RGB images (..., H, W, 3), got shape {tuple(rgb.shape)}")
    if 0 in tuple(rgb.shape):
        raise ValueError(f"{what} must hold at least one pixel, got shape {tuple(rgb.shape)}")
    if dtype.kind == "f":
        if not tf.is_tensor(rgb) or tf.executing_eagerly():
            color.check_unit_floats(np.asarray(rgb), f"{what} (float)")
    elif dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{what} must be uint8, uint16 or float in [0, 1], got {dtype}")
    return rgb


def _checked_pair(true_rgb, pred_rgb, min_side=1):
    true_rgb, pred_rgb = _checked_rgb(true_rgb, "true_rgb"), _checked_rgb(pred_rgb, "pred_rgb")
    if tuple(true_rgb.shape) != tuple(pred_rgb.shape):
        shapes = f"{tuple(true_rgb.shape)} and {tuple(pred_rgb.shape)}"
        raise ValueError(f"true_rgb and pred_rgb must have one shape, got {shapes}")
    if None not in true_rgb.shape[-3:-1] and min(true_rgb.shape[-3:-1]) < min_side:
        raise ValueError(f"images must be at least {min_side} pixels on each side, got {tuple(true_rgb.shape)}")
    return true_rgb, pred_rgb


def _unit_tensor(rgb):
    """uint8 / uint16 / float images -> float32 tensor in [0, 1] (floats clipped, as the pipeline does)."""
    return tf.clip_by_value(tf.image.convert_image_dtype(tf.convert_to_tensor(rgb), tf.float32), 0.0, 1.0)


def _unit_array(rgb):
    """Checked uint8 / uint16 / float images -> float64 array in [0, 1] (floats clipped)."""
    rgb = np.asarray(rgb)
    if rgb.dtype.kind == "f":
        return np.clip(rgb.astype(np.float64), 0.0, 1.0)
    return rgb / float(np.iinfo(rgb.dtype).max)


# === Fidelity ===


def psnr(true_rgb, pred_rgb):
    """Peak signal-to-noise ratio in dB per image (``inf`` for identical images); float32 tensor."""
    return _psnr(*_checked_pair(true_rgb, pred_rgb))


def _psnr(true_rgb, pred_rgb):
    return tf.image.psnr(_unit_tensor(true_rgb), _unit_tensor(pred_rgb), max_val=1.0)


def ssim(true_rgb, pred_rgb):
    """Structural similarity per image (Gaussian 11 x 11, sigma 1.5, channel mean); float32 tensor.

    Images must be at least 11 pixels on each side.
    """
    return _ssim(*_checked_pair(true_rgb, pred_rgb, min_side=SSIM_WINDOW))


def _ssim(true_rgb, pred_rgb):
    # the mean of tf.image.ssim's window map in float64: its own float32 mean drifts with the image size
    index_map = tf.cast(_ssim_map(_unit_tensor(true_rgb), _unit_tensor(pred_rgb)), tf.float64)
    return tf.cast(tf.reduce_mean(index_map, axis=(-2, -1)), tf.float32)


def _same_shape(true, pred, channels, what):
    """``true`` and ``pred`` as float64 arrays of one shape ``(..., H, W, channels)``, else ``ValueError``."""
    true, pred = np.asarray(true, np.float64), np.asarray(pred, np.float64)
    if true.shape != pred.shape or true.ndim < 3 or true.shape[-1] != channels:
        raise ValueError(
            f"{what} must be two arrays of one shape (..., H, W, {channels}), got {true.shape} and {pred.shape}"
        )
    return true, pred


def ab_l1(true_ab, pred_ab):
    """Mean absolute chroma error per image, in the units of the inputs (``(..., H, W, 2)``)."""
    true_ab, pred_ab = _same_shape(true_ab, pred_ab, 2, "ab_l1's chroma")
    return np.mean(np.abs(true_ab - pred_ab), axis=(-3, -2, -1))


def ab_mse(true_ab, pred_ab):
    """Mean squared chroma error per image, in the units of the inputs squared."""
    true_ab, pred_ab = _same_shape(true_ab, pred_ab, 2, "ab_mse's chroma")
    return np.mean(np.square(true_ab - pred_ab), axis=(-3, -2, -1))


def mean_ciede2000(true_lab, pred_lab):
    """Mean CIEDE2000 colour difference per image (``skimage.color.deltaE_ciede2000``) of Lab images."""
    true_lab, pred_lab = _same_shape(true_lab, pred_lab, 3, "mean_ciede2000's Lab images")
    return np.mean(skimage.color.deltaE_ciede2000(true_lab, pred_lab, channel_axis=-1), axis=(-2, -1))


def image_metrics(luminance, true_chroma, pred_chroma, color_space="lab", reference=True):
    """Batch means of the RGB images rebuilt from normalised (L, chroma) batches: ``psnr``, ``ssim``
    and the Hasler :func:`colorfulness` of the prediction, ``colourfulness``; with ``reference``
    also the scores that do not depend on the prediction: the truth's ``true_colourfulness`` and
    the gray baseline's (chroma = 0) ``gray_psnr``.

    Both images share the luminance, so the scores measure the chroma alone; this is what
    ``colorzoo.training.ValidationImageMetrics`` logs (it measures the reference once). As in
    :func:`evaluate`, photos whose truth is grayscale (:func:`colorzoo.data.is_grayscale`) are left
    out of the means (the gray baseline's PSNR on them is inf); ``images`` counts those scored,
    and with none the other scores are missing.
    """
    shapes = [tuple(luminance.shape[:-1]), tuple(true_chroma.shape[:-1]), tuple(pred_chroma.shape[:-1])]
    if len(set(shapes)) > 1 or [luminance.shape[-1], true_chroma.shape[-1], pred_chroma.shape[-1]] != [1, 2, 2]:
        raise ValueError(
            "image_metrics takes luminance (B, H, W, 1) and true and predicted chroma (B, H, W, 2) of one size, got "
            f"{tuple(luminance.shape)}, {tuple(true_chroma.shape)} and {tuple(pred_chroma.shape)}"
        )
    truth = color.model_output_to_rgb(luminance, true_chroma, color_space)
    colour = ~np.atleast_1d(is_grayscale(truth))
    if not colour.all():
        truth, luminance = tf.boolean_mask(truth, colour), tf.boolean_mask(luminance, colour)
        pred_chroma = tf.boolean_mask(pred_chroma, colour)
    if not colour.any():
        return {"images": 0}
    prediction = color.model_output_to_rgb(luminance, pred_chroma, color_space)
    scores = {
        "images": int(colour.sum()),
        "psnr": float(tf.reduce_mean(psnr(truth, prediction))),
        "ssim": float(tf.reduce_mean(ssim(truth, prediction))),
        "colourfulness": float(colorfulness(prediction.numpy()).mean()),
    }
    if reference:
        gray = color.model_output_to_rgb(luminance, tf.zeros_like(pred_chroma), color_space)
        scores["true_colourfulness"] = float(colorfulness(truth.numpy()).mean())
        scores["gray_psnr"] = float(tf.reduce_mean(psnr(truth, gray)))
    return scores


# === Colourfulness ===


def colorfulness(rgb, form="hasler"):
    """Hasler & Suesstrunk (2003) colourfulness per image, on the 0-255 scale: a float64 for one
    image, an array of them for a batch.

    Args:
        rgb: ``(..., H, W, 3)`` uint8, or float in [0, 1].
        form: ``"hasler"`` (signed opponent channels, the paper) or ``"absolute"``
            (|rg| and |yb|, as in the numbers DDColor and CT2 report).

    Example:

    >>> float(colorfulness(np.full((8, 8, 3), 0.5)))    # any gray image
    0.0
    """
    if form not in COLORFULNESS_FORMS:
        raise ValueError(f"form must be one of {COLORFULNESS_FORMS}, got {form!r}")
    return _colorfulness(_unit_array(_checked_rgb(rgb)), form)


def _colorfulness(unit_rgb, form):
    rg, yb = _opponent_channels(unit_rgb)[form]
    axes = (-2, -1)
    return _colorfulness_of(np.mean(rg, axis=axes), np.var(rg, axis=axes), np.mean(yb, axis=axes), np.var(yb, axis=axes))


def _opponent_channels(unit_rgb):
    """``{form: (rg, yb)}``: Hasler's rg = R - G and yb = (R + G) / 2 - B on the 0-255 scale
    (float64), signed for ``"hasler"``, their absolute values for ``"absolute"``."""
    rgb = np.asarray(unit_rgb, np.float64) * 255.0
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return {"hasler": (rg, yb), "absolute": (np.abs(rg), np.abs(yb))}


def _colorfulness_of(rg_mean, rg_variance, yb_mean, yb_variance):
    """Hasler & Suesstrunk's M from the means and variances of the opponent channels."""
    return np.sqrt(rg_variance + yb_variance) + 0.3 * np.sqrt(rg_mean**2 + yb_mean**2)


def delta_colorfulness(pred_rgb, true_rgb, form="hasler"):
    """``|colorfulness(pred) - colorfulness(truth)|`` per image."""
    if np.shape(pred_rgb) != np.shape(true_rgb):
        raise ValueError(f"pred_rgb and true_rgb must have one shape, got {np.shape(pred_rgb)} and {np.shape(true_rgb)}")
    return np.abs(colorfulness(pred_rgb, form) - colorfulness(true_rgb, form))


# === Evaluation ===


def image_scores(true_rgb, pred_rgb):
    """Every score of one ``(H, W, 3)`` prediction against its ground truth, as a dict of floats.

    ab errors and CIEDE2000 are in Lab units (skimage ``rgb2lab``). The scores are summed over
    strips of about SCORE_STRIP_PIXELS pixels (tiles for a very wide photo; SSIM's overlapping by
    its window), so memory stays bounded at any photo size and aspect ratio; the results are those
    of the whole image.
    """
    true_rgb, pred_rgb = _checked_pair(true_rgb, pred_rgb, min_side=SSIM_WINDOW)  # once: the scores below take them as they are
    if len(true_rgb.shape) != 3:
        raise ValueError(f"image_scores takes one (H, W, 3) image each, got shape {tuple(true_rgb.shape)}")
    height, width = true_rgb.shape[:2]
    widest = max(1, SCORE_STRIP_PIXELS // SCORE_MIN_ROWS)
    tile_columns = min(width, widest)
    tile_rows = max(1, SCORE_STRIP_PIXELS // tile_columns)
    sums, ssim_sum, ssim_count = {}, 0.0, 0
    for top, left in itertools.product(range(0, height, tile_rows), range(0, width, tile_columns)):
        # SSIM's windows starting in this tile reach SSIM_WINDOW - 1 rows further down and columns further right
        true_tile, pred_tile = (
            _unit_array(np.asarray(rgb[top:top + tile_rows + SSIM_WINDOW - 1, left:left + tile_columns + SSIM_WINDOW - 1]))
            .astype(np.float32) for rgb in (true_rgb, pred_rgb)
        )
        if min(true_tile.shape[:2]) >= SSIM_WINDOW:
            ssim_map = _ssim_map(true_tile, pred_tile).numpy()
            ssim_sum, ssim_count = ssim_sum + np.sum(ssim_map, dtype=np.float64), ssim_count + ssim_map.size
        own = (slice(0, tile_rows), slice(0, tile_columns))
        for name, value in _pixel_sums(true_tile[own], pred_tile[own]).items():
            sums[name] = sums.get(name, 0.0) + value
    pixels = height * width
    mean = {name: total / pixels for name, total in sums.items()}
    scores = {
        "psnr": -10.0 * np.log10(mean["squared_error"] / 3.0) if mean["squared_error"] else np.inf,
        "ssim": ssim_sum / ssim_count,
        "ab_l1": mean["ab_l1"] / 2.0,
        "ab_mse": mean["ab_mse"] / 2.0,
        "ciede2000": mean["ciede2000"],
    }
    for form in COLORFULNESS_FORMS:
        true_value, predicted = (_colorfulness_from_means(mean, f"{image}_{form}") for image in ("true", "pred"))
        scores[f"colorfulness_{form}"] = predicted
        scores[f"delta_colorfulness_{form}"] = abs(predicted - true_value)
    return {key: float(value) for key, value in scores.items()}


def _ssim_map(true_rgb, pred_rgb):
    """SSIM of every valid window position (``tf.image.ssim``'s index map, channel mean)."""
    return tf.image.ssim(
        tf.convert_to_tensor(true_rgb), tf.convert_to_tensor(pred_rgb), max_val=1.0,
        filter_size=SSIM_WINDOW, filter_sigma=SSIM_SIGMA, return_index_map=True,
    )


def _pixel_sums(true_rgb, pred_rgb):
    """Float64 sums over the pixels of a strip: squared error (over channels), ab errors (over a
    and b), CIEDE2000, and both images' opponent channels and their squares (colourfulness)."""
    true_lab, pred_lab = skimage.color.rgb2lab(true_rgb), skimage.color.rgb2lab(pred_rgb)
    ab_error = true_lab[..., 1:].astype(np.float64) - pred_lab[..., 1:]
    sums = {
        "squared_error": np.sum(np.square(true_rgb.astype(np.float64) - pred_rgb)),
        "ab_l1": np.sum(np.abs(ab_error)),
        "ab_mse": np.sum(np.square(ab_error)),
        "ciede2000": np.sum(skimage.color.deltaE_ciede2000(true_lab, pred_lab, channel_axis=-1), dtype=np.float64),
    }
    for image, rgb in (("true", true_rgb), ("pred", pred_rgb)):
        for form, channels in _opponent_channels(rgb).items():
            for name, channel in zip(("rg", "yb"), channels):
                sums[f"{image}_{form}_{name}"] = np.sum(channel)
                sums[f"{image}_{form}_{name}2"] = np.sum(np.square(channel))
    return sums


def _colorfulness_from_means(mean, prefix):
    """:func:`colorfulness` from the means of the opponent channels and of their squares."""
    rg, yb = mean[f"{prefix}_rg"], mean[f"{prefix}_yb"]
    return _colorfulness_of(rg, max(0.0, mean[f"{prefix}_rg2"] - rg**2), yb, max(0.0, mean[f"{prefix}_yb2"] - yb**2))


def evaluate(model, files, image_size=None, size=None, csv_path=None, json_path=None, progress=True, overwrite=False):
    """Score ``model`` on image files against their own colours, beside the gray baseline.

    Each image is reduced to its luminance and colorized with
    :func:`colorzoo.inference.colorize`, so the scores measure what users get. The gray
    baseline (chroma 0, through the same pipeline: L with ab = 0, or for a YUV model Y with
    UV = 0, ``color_space`` in the result) is always scored on the same images.

    Args:
        model: a colorzoo model.
        files: a path or a list of image files and folders (searched recursively).
        image_size: if given, each ground truth is first resized to ``image_size`` x
            ``image_size`` (the usual 256 x 256 protocol); default: full resolution.
        size: model run size passed to ``colorize`` (default: the size the model is built for).
        csv_path: write the per-image rows and the mean rows (file ``"(mean)"``) as CSV.
        json_path: write the whole result as JSON. Neither may be a folder or one of the
            photos (an ``IsADirectoryError`` or ``ValueError`` before any scoring).
        progress: show a ``keras.utils.Progbar``.
        overwrite: replace a ``csv_path`` or ``json_path`` file that exists; without it such a
            file is a ``FileExistsError`` before any scoring, and never replaced.

    Returns:
        ``{"model", "color_space", "images", "skipped", "grayscale", "rows", "means"}``: ``rows`` holds one dict per image
        and method (``model.name`` and ``"gray"``) with every score of :data:`SCORES` (its
        ``seconds`` is the wall time of ``colorize``, after a first untimed call at each run
        shape, 0 for the gray baseline);
        ``means[method][score]`` the means; unreadable files and images under 11 pixels on a
        side (too small for SSIM; unless ``image_size`` resizes them) are listed in ``skipped``
        and logged with a one-line warning each; grayscale photos (:func:`colorzoo.data.is_grayscale`:
        no colour to score against) are listed in ``grayscale`` and left out of the means.

    Example:

    >>> result = evaluate(model, "val/", image_size=256, json_path="val_scores.json")
    >>> result["means"]["gray"]["ciede2000"] > result["means"][model.name]["ciede2000"]
    """
    model = inference.colorizing_model(model, "evaluate")
    if image_size is not None and (
        isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral) or image_size < SSIM_WINDOW
    ):
        raise ValueError(
            f"image_size must be a whole number of pixels of at least {SSIM_WINDOW} (SSIM's window) or None, got {image_size!r}"
        )
    color_space = inference.model_spec(model).color_space
    # bytes paths too, as str: rows go to JSON
    paths = [os.fsdecode(path) for path, _ in inference.expand_inputs(files)]
    csv_path, json_path = (None if path is None else os.fsdecode(path) for path in (csv_path, json_path))
    _check_result_paths([csv_path, json_path], paths, overwrite)
    rows, skipped, grayscale, traced = [], [], [], set()
    bar = keras.utils.Progbar(len(paths), unit_name="image") if progress and paths else None
    for path in paths:
        if bar is not None:
            bar.add(1)
        try:
            truth = inference.to_float_rgb(inference.load_image(path))
            if min(truth.shape[:2]) < SSIM_WINDOW and image_size is None:
                height, width = truth.shape[:2]
                raise ValueError(f"{width}x{height} pixels, too small to score (SSIM needs {SSIM_WINDOW} on a side)")
        except inference.LOAD_ERRORS as error:
            logger.warning("skipping %s: %s", path, inference.error_line(error))
            skipped.append(path)
        else:
            if is_grayscale(truth):
                grayscale.append(path)  # no colour to score against (the gray baseline's PSNR would be inf)
                continue
            if image_size is not None:
                truth = tf.image.resize(truth, (image_size, image_size), antialias=True).numpy().clip(0.0, 1.0)
            run_shape = inference.run_size(model, size, image_shape=truth.shape[:2])
            if run_shape not in traced:  # the first photo of a run shape would be timed with the tracing
                inference.colorize(model, truth, size)
                traced.add(run_shape)
            start = time.perf_counter()
            colorized = inference.colorize(model, truth, size)
            seconds = time.perf_counter() - start
            outputs = {model.name: (colorized, seconds), GRAY_BASELINE: (inference.to_gray(truth, color_space), 0.0)}
            rows += [
                {"file": path, "method": method, **image_scores(truth, rgb), "seconds": seconds}
                for method, (rgb, seconds) in outputs.items()
            ]
    if skipped:
        logger.warning("evaluate skipped %d file(s)", len(skipped))
    if grayscale:
        logger.info("evaluate left out %d grayscale photo(s)", len(grayscale))
    means = {
        method: {key: float(np.mean([row[key] for row in rows if row["method"] == method])) for key in SCORES}
        for method in (model.name, GRAY_BASELINE)
        if any(row["method"] == method for row in rows)
    }
    images = len(paths) - len(skipped) - len(grayscale)
    result = {
        "model": model.name, "color_space": color_space, "images": images, "skipped": skipped,
        "grayscale": grayscale, "rows": rows, "means": means,
    }
    if csv_path is not None:
        mean_rows = [{"file": "(mean)", "method": method, **scores} for method, scores in means.items()]
        write_atomically(csv_path, lambda handle: _write_csv(handle, rows + mean_rows), replace=overwrite)
    if json_path is not None:
        text = json.dumps(result, indent=2).encode()
        write_atomically(json_path, lambda handle: handle.write(text), replace=overwrite)
    return result


def _check_result_paths(result_paths, image_paths, overwrite):
    """Refuse, before any scoring, result files that would replace a photo or cannot be files, and
    (without ``overwrite``) files that exist."""
    images = {os.path.realpath(path): path for path in image_paths}
    named = [(path, os.path.realpath(path)) for path in filter(None, result_paths)]
    for path, real in named:
        if os.path.isdir(path):
            raise IsADirectoryError(f"{path}: is a folder; name the file to write the scores to")
        folder = os.path.dirname(os.path.abspath(path))
        while not os.path.lexists(folder):  # the folders writing creates
            folder = os.path.dirname(folder)
        if not os.path.isdir(folder):
            raise NotADirectoryError(f"{path}: {folder} is not a folder; name a file in a folder to write the scores to")
        if real in images:
            raise ValueError(f"refusing to overwrite the photo {images[real]} with scores")
        if os.path.lexists(path) and not overwrite:
            raise FileExistsError(f"{path}: exists already; left alone (overwrite=True, --overwrite, replaces it)")
    if len({real for _, real in named}) < len(named):
        raise ValueError("the CSV and JSON results would be the same file")


def _write_csv(handle, rows):
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=["file", "method", *SCORES])
    writer.writeheader()
    writer.writerows(rows)
    # A file name that is not valid UTF-8 is written as the escapes colorzoo.data prints (caf\xe9.jpg).
    handle.write(text.getvalue().encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace").encode())


def format_table(result):
    """The means of an :func:`evaluate` result as a text table: one row per method, one column per score."""
    widths = [max(len(key), 8) for key in SCORES]
    method_width = max([len("method"), *(len(method) for method in result["means"])])
    lines = ["  ".join(["method".ljust(method_width), *(key.rjust(width) for key, width in zip(SCORES, widths))])]
    for method, scores in result["means"].items():
        cells = (f"{scores[key]:.4f}".rjust(width) for key, width in zip(SCORES, widths))
        lines.append("  ".join([method.ljust(method_width), *cells]))
    lines.append(
        f"{result['images']} images, {len(result['skipped'])} skipped, "
        f"{len(result.get('grayscale', ()))} grayscale left out"
    )
    return "\n".join(lines)
