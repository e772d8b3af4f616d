"""Full-resolution colorization: the model sees a small L, the user gets every original pixel.

The luminance of the input is computed at full resolution and kept; only a resized copy goes
through the model (at the pixel count of its input size, or of a chosen size, with the photo's
aspect ratio; :func:`run_size`). The predicted chroma
(ab, or UV for YUV models) is upsampled bilinearly to the original size and recombined with
the original luminance, so the output has the input's exact lightness and only gains colour.
Where a predicted colour falls outside the sRGB gamut its chroma is shrunk instead of clipping
the RGB values, which would change the lightness.

Example:

>>> model = colorzoo.pretrained("unet_sequential")          # trained; build_model's weights are random
>>> rgb = colorize(model, "old_photo.jpg")                 # (H, W, 3) uint8, any H and W
>>> colorize_files(model, ["scans/"], "colorized/", skip_existing=True)
"""

import collections
import dataclasses
import errno
import logging
import math
import numbers
import os
import re
import stat
import threading
import warnings
import weakref

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps

from colorzoo import color, files
from colorzoo.data import IMAGE_EXTENSIONS, MAX_PIXELS, image_files
from colorzoo.models import model_info
from colorzoo.models.registry import ModelInfo

logger = logging.getLogger(__name__)

OUTPUT_FORMATS = {"png": ("PNG", ".png"), "jpeg": ("JPEG", ".jpg"), "jpg": ("JPEG", ".jpg"), "webp": ("WEBP", ".webp")}
# Errors of an unreadable or unsupported image file (PIL raises OSError subclasses and
# DecompressionBombError; load_image raises ValueError for unsupported pixel layouts).
LOAD_ERRORS = (OSError, ValueError, Image.DecompressionBombError)
FULL_OR_READ_ONLY = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)  # write errors that end a colorize_files run
CHUNK_PIXELS = 1 << 20  # full-resolution colour conversions run on at most a megapixel at a time
MIN_BLOCK = 1 << 16
GAMUT_TOLERANCE = 0.002  # normalised luminance change (0.2 L or 0.5 / 255 Y) counted as "out of gamut"
GAMUT_STEPS = 8  # bisection steps of the chroma scale of out-of-gamut pixels (1/256 precision)

_PREDICTORS = weakref.WeakKeyDictionary()  # model -> (its variables' ids, {run shape or None: traced function})
_PREDICTORS_LOCK = threading.Lock()
_REBUILT = weakref.WeakKeyDictionary()  # model -> {(height, width): the model rebuilt for that input}
_ANY_SIZE = weakref.WeakKeyDictionary()  # model -> {(None, None): an _AnySize or None (_any_size)}
_UNTRIED = object()
_CHECKED_SHAPES = weakref.WeakKeyDictionary()  # model -> {(height, width): None or why _any_size cannot run it there}
CHECKED_PER_MODEL = 1024  # run shapes whose check is kept (a few hundred bytes each)
_REBUILD_LOCK = threading.Lock()
_GUESSED_SPECS = weakref.WeakSet()  # models model_spec took for Lab ab without knowing (warned once each)
# Rebuilt models kept per model (at_input_size), and functions traced per run shape (traced_predictor with
# a shape, for graphs that cannot be traced at unknown sizes, _any_size): the 13 run shapes of the common
# photo formats (1:1, 4:3, 3:2, 16:9, 7:5, 2:1, 21:9, both orientations) fit. Beyond, each new shape is
# traced again; a rebuild also adds a Keras node (~50-90 KB) to every shared layer that lives as long as
# the model.
REBUILT_PER_MODEL = 16
UNKNOWN_STRIDE = 32  # the largest stride assumed for a model the registry does not know (see model_spec)
# Output layer names that tell a renamed model's kind (model_spec): the YUV models', zhang's, and the Lab
# models' and ensembles' (ab as the default spec says).
RENAMED_OUTPUT_LAYERS = {
    "uv": {"color_space": "yuv"}, "ab_logits": {"output": "ab_bins"}, "ab": {}, "ab_upsample": {}, "ab_average": {},
}
CHROMA_GAIN_LAYER = "chroma_gain"  # the Rescaling layer of with_chroma_gain
MAX_ASPECT = 4.0  # the longest run shape, side to side: a panorama's model input stays bounded
COMPARE_PANEL_SIDE = 1200  # compare_figure's panels at most: a 4-inch panel at 100 dpi is 400 px


# === Reading images ===


def load_image(image):
    """Pixels of a path, binary file object, PIL image or array, EXIF orientation applied, alpha dropped.

    Returns ``(H, W)`` for gray and ``(H, W, 3)`` for colour input, as ``uint8``, ``uint16``
    (16-bit gray files and uint16 arrays; PIL reads 16-bit colour files at 8 bits) or ``float32``
    in [0, 1] (float arrays, PIL ``"F"`` images). Palette
    images become RGB. Of a file with several frames or pages (an animated GIF, a multi-page
    TIFF) the first is read, with a warning. Raises ``OSError`` for unreadable files and non-files (a FIFO would
    block), ``PIL.Image.DecompressionBombError`` for images over
    :data:`colorzoo.data.MAX_PIXELS` (refused before decoding) and ``ValueError`` for
    unsupported arrays and for float pixels that are non-finite (NaN, inf) or not in [0, 1].

    Example:

    >>> load_image("gray_scan.png").shape        # a colour file: (333, 517, 3)
    (333, 517)
    """
    if isinstance(image, (str, bytes, os.PathLike)) or hasattr(image, "read"):
        with _open_checked(image) as opened:
            frames = _frame_count(opened)
            if frames > 1:  # a multi-page TIFF (its first page may be a thumbnail), an animation
                name = os.fsdecode(image) if not hasattr(image, "read") else getattr(image, "name", "the file")
                warnings.warn(f"{name} holds {frames} frames or pages; only the first ({opened.width}x{opened.height}) is read",
                              stacklevel=2)
            ImageOps.exif_transpose(opened, in_place=True)
            return _pil_pixels(opened)
    if isinstance(image, Image.Image):
        return _pil_pixels(ImageOps.exif_transpose(image))
    return _array_pixels(np.asarray(image))


def _frame_count(opened):
    """Frames or pages of an opened image, 1 for a camera JPEG with an embedded preview (MPO) and
    when counting fails: Pillow reads through every later frame, and a damaged one (a truncated
    GIF) must not make the first unreadable."""
    if opened.format == "MPO":
        return 1
    try:
        frames = getattr(opened, "n_frames", 1)
    except Exception:  # noqa: BLE001 - Pillow's plugins raise IndexError, TypeError, ... on damaged frames
        frames = 1
    try:
        opened.seek(0)
    except Exception as error:  # noqa: BLE001
        raise OSError(f"cannot read its first frame ({type(error).__name__}: {error})") from None
    return frames


def _open_checked(source):
    """``Image.open(source)`` (header only) of a path or binary file object, refusing non-files and
    images over ``MAX_PIXELS`` before anything is decoded: the limit :func:`colorzoo.data.scan_files`
    applies too."""
    if not hasattr(source, "read"):
        mode = os.stat(source).st_mode
        if not stat.S_ISREG(mode):  # opening a FIFO would block forever
            what = "is a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise OSError(f"{os.fsdecode(source)}: {what}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below instead
        opened = Image.open(source)
    width, height = opened.size
    if width * height > MAX_PIXELS:
        opened.close()
        raise Image.DecompressionBombError(f"{width}x{height} pixels, over the limit of {MAX_PIXELS}")
    return opened


def _pil_pixels(image):
    if image.mode in ("1", "L", "LA", "La"):
        return np.asarray(image if image.mode == "L" else image.convert("L"))
    if image.mode.startswith("I"):  # 16-bit gray: I;16, I;16B, or I holding 0..65535
        return _sixteen_bit(np.clip(np.asarray(image), 0, 65535).astype(np.uint16))
    if image.mode == "F":
        return _array_pixels(np.asarray(image))
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def _array_pixels(array):
    if array.ndim == 3 and array.shape[-1] in (1, 2):  # gray, gray + alpha
        array = array[..., 0]
    elif array.ndim == 3 and array.shape[-1] == 4:  # RGBA
        array = array[..., :3]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] != 3) or 0 in array.shape:
        raise ValueError(f"expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, got shape {array.shape}")
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if array.dtype.kind == "f":
        color.check_unit_floats(array, "float pixels")
        return np.clip(array.astype(np.float32, copy=False), 0.0, 1.0)
    if array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"expected uint8, uint16, bool or float pixels in [0, 1], got {array.dtype}")
    return _sixteen_bit(array) if array.dtype == np.uint16 else array


def _sixteen_bit(array):
    """``array`` (uint16), with a warning when no value exceeds 255: 8-bit data in a 16-bit array
    (``Image.convert("I")``), which reads as a nearly black 16-bit picture."""
    if 0 < array.max() <= 255:
        warnings.warn(
            "16-bit pixels no higher than 255 are read as 16-bit (nearly black): 8-bit data in a 16-bit array "
            "or a PIL 'I' image? pass it as uint8",
            stacklevel=4,
        )
    return array


def to_float_rgb(pixels):
    """:func:`load_image` pixels -> float32 RGB ``(H, W, 3)`` in [0, 1] (gray is replicated)."""
    pixels = _array_pixels(np.asarray(pixels))
    rgb = pixels.astype(np.float32) / np.float32(_scale_of(pixels))
    return np.repeat(rgb[..., None], 3, axis=-1) if rgb.ndim == 2 else rgb


def _scale_of(pixels):
    return {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(pixels.dtype, 1.0)


# === Full-resolution colour conversions, in fixed-size blocks of pixels ===


def _bucket(count):
    """Smallest block size holding ``count`` pixels: MIN_BLOCK times a power of 2, at most
    CHUNK_PIXELS, so the XLA-compiled conversions below compile for five shapes only."""
    size = MIN_BLOCK
    while size < min(count, CHUNK_PIXELS):
        size *= 2
    return size


def _blocks(count):
    """``(start, stop, size)`` blocks covering ``count`` pixels: whole CHUNK_PIXELS blocks, then
    the largest bucket sizes that fit, so only the last block is padded (by < MIN_BLOCK pixels)."""
    blocks, start = [], 0
    while start < count:
        remaining = count - start
        size = CHUNK_PIXELS
        while size > MIN_BLOCK and size > remaining:
            size //= 2
        blocks.append((start, min(start + size, count), size))
        start += size
    return blocks


def _padded(array, size):
    return array if len(array) == size else np.pad(array, [(0, size - len(array))] + [(0, 0)] * (array.ndim - 1))


@tf.function(jit_compile=True, reduce_retracing=True)  # one trace for every block size
def _luminance_block(rgb, color_space):
    """``(N, 3)`` RGB -> ``(N,)`` normalised luminance."""
    return color.rgb_to_luminance(rgb, color_space)[:, 0]


def _keeps_luminance(luminance, chroma, color_space):
    return tf.abs(color.clipped_luminance(luminance, chroma, color_space) - luminance)[:, 0] <= GAMUT_TOLERANCE


@tf.function(jit_compile=True, reduce_retracing=True)  # one trace for every block size
def _rgb_block(luminance, chroma, color_space):
    """``(N, 1)`` luminance, ``(N, 2)`` chroma -> RGB ``(N, 3)`` and whether clipping kept the luminance."""
    return color.model_output_to_rgb(luminance, chroma, color_space), _keeps_luminance(luminance, chroma, color_space)


@tf.function(jit_compile=True, reduce_retracing=True)  # one trace for every block size
def _in_gamut_rgb_block(luminance, chroma, color_space):
    """RGB of the largest chroma scale in [0, 1] whose clipped RGB keeps the luminance, found by
    GAMUT_STEPS bisection steps (1 / 2**GAMUT_STEPS precision) in one compiled loop."""

    def bisect(step, low, high):
        middle = (low + high) / 2
        keeps = _keeps_luminance(luminance, chroma * middle, color_space)[:, None]
        return step + 1, tf.where(keeps, middle, low), tf.where(keeps, high, middle)

    _, low, _ = tf.while_loop(
        lambda step, low, high: step < GAMUT_STEPS, bisect, (0, tf.zeros_like(luminance), tf.ones_like(luminance))
    )
    return color.model_output_to_rgb(luminance, chroma * low, color_space)


def luminance_of(pixels, color_space="lab"):
    """Normalised luminance ``(H, W)`` float32 of :func:`load_image` pixels (L / 100 or Y).

    A colour image gives the luminance of its gray version, computed a block of pixels at a time.
    """
    color.check_color_space(color_space)
    return _luminance_of_checked(_array_pixels(np.asarray(pixels)), color_space)


def _luminance_of_checked(pixels, color_space):
    """:func:`luminance_of` of pixels :func:`load_image` returned (checked once, there)."""
    height, width = pixels.shape[:2]
    flat = pixels.reshape(height * width, -1)
    luminance = np.empty(height * width, np.float32)
    for start, stop, size in _blocks(len(flat)):
        rgb = np.broadcast_to(flat[start:stop].astype(np.float32) / np.float32(_scale_of(pixels)), (stop - start, 3))
        luminance[start:stop] = _luminance_block(_padded(rgb, size), color_space).numpy()[: stop - start]
    return luminance.reshape(height, width)


def _rgb_keeping_luminance(luminance, chroma, size, color_space):
    """``(N, 1)`` luminance and ``(N, 2)`` chroma -> ``(N, 3)`` RGB with that luminance.

    Colours whose clipped RGB would change the luminance get their chroma scaled down by
    bisection to the largest scale that keeps it; ``size`` is the block size to pad to.
    """
    count = len(luminance)
    rgb, kept = _rgb_block(_padded(luminance, size), _padded(chroma, size), color_space)
    rgb, kept = rgb.numpy()[:count], kept.numpy()[:count]
    outside = np.flatnonzero(~kept)
    if outside.size:
        size = _bucket(outside.size)
        rgb[outside] = _in_gamut_rgb_block(
            _padded(luminance[outside], size), _padded(chroma[outside], size), color_space
        ).numpy()[: outside.size]
    return rgb


def recombine(luminance, chroma, color_space="lab"):
    """Full-resolution luminance ``(H, W)`` + chroma ``(H, W, 2)`` (normalised) -> RGB uint8.

    Works in float32 on blocks of pixels, writing into the output array; out-of-gamut colours
    lose chroma rather than lightness.
    """
    color.check_color_space(color_space)
    luminance, chroma = np.asarray(luminance, np.float32), np.asarray(chroma, np.float32)
    if luminance.ndim != 2 or chroma.shape != (*luminance.shape, 2):
        raise ValueError(f"recombine takes luminance (H, W) and chroma (H, W, 2), got {luminance.shape} and {chroma.shape}")
    height, width = luminance.shape
    luminance, chroma = luminance.reshape(-1, 1), chroma.reshape(-1, 2)
    rgb = np.empty((height * width, 3), np.uint8)
    for start, stop, size in _blocks(len(luminance)):
        block = _rgb_keeping_luminance(luminance[start:stop], chroma[start:stop], size, color_space)
        rgb[start:stop] = np.rint(block * 255.0)
    return rgb.reshape(height, width, 3)


def to_gray(image, color_space="lab"):
    """The gray RGB uint8 image (R = G = B) with the luminance of ``image``: chroma 0, the
    "no colour" baseline."""
    color.check_color_space(color_space)
    luminance = _luminance_of_checked(load_image(image), color_space)
    flat = luminance.reshape(-1, 1)
    gray = np.empty(len(flat), np.uint8)
    for start, stop, size in _blocks(len(flat)):
        rgb, _ = _rgb_block(_padded(flat[start:stop], size), np.zeros((size, 2), np.float32), color_space)
        gray[start:stop] = np.rint(rgb.numpy()[: stop - start].mean(axis=-1) * 255.0)
    return np.repeat(gray.reshape(luminance.shape)[..., None], 3, axis=-1)


# === Prediction ===


def artifact_of(trainable):
    """The model that colorizes and is saved: the generator of a GAN trainer, else the model itself."""
    return getattr(trainable, "generator", trainable)


def colorizing_model(model, caller):
    """``model`` as the ``keras.Model`` that colorizes (a GAN trainer's generator); a
    ``TypeError`` naming ``caller`` for anything else (a model's name, ``None``, ...)."""
    model = artifact_of(model)
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"{caller} takes a built keras.Model (colorzoo.build_model, pretrained or load_model), got {model!r}"
        )
    return model


def model_spec(model):
    """The registry :class:`ModelInfo` of ``model`` (by ``model.name``).

    A model unknown to the registry is read from its output layer. A wrapped model (its output
    comes from a registered model used as a layer, e.g. ``keras.Sequential([model])``) takes that
    model's spec; a renamed one is YUV if its output layer is the YUV models' ``"uv"``, bin logits
    if it is zhang's ``"ab_logits"`` (also behind trailing layers that keep the output's shape,
    such as a float32 cast). Anything else is a Lab model predicting ab at 256 px, with a
    warning (once per model) unless its output layer is a Lab model's or an ensemble's
    (``"ab"``, ``"ab_upsample"``, ``"ab_average"``). An unknown model's stride is the largest power of two up to
    UNKNOWN_STRIDE dividing its built input sides (32 for the usual 64, 128, 224 or 256).

    >>> model_spec(keras.Model(model.inputs, model.outputs, name="mine")).color_space   # "yuv" for hypercolumn
    """
    try:
        return model_info(model.name)
    except ValueError:
        pass
    output_layer = _output_source(model)
    if isinstance(output_layer, keras.Model):
        try:
            inner = model_info(output_layer.name)
        except ValueError:
            pass
        else:
            return dataclasses.replace(inner, name=model.name, builder=None, stride=model_stride(output_layer))
    sides = [side for side in model.input_shape[1:3] if side]
    layer_name = getattr(output_layer, "name", None)
    if layer_name not in RENAMED_OUTPUT_LAYERS and model not in _GUESSED_SPECS:
        _GUESSED_SPECS.add(model)  # once per model: model_spec runs on every photo
        logger.warning(
            "%s is not a registered model and its output layer %r does not say what it predicts: colorized as "
            "Lab ab; keep a registered model's name (or register yours, colorzoo.register_model) to be sure",
            model.name, layer_name,
        )
    return ModelInfo(
        name=model.name, builder=None, stride=math.gcd(UNKNOWN_STRIDE, *sides),
        **RENAMED_OUTPUT_LAYERS.get(layer_name, {}),
    )


def _output_source(model):
    """The layer (or nested model) that makes ``model``'s one output, not always ``model.layers[-1]``.

    Trailing layers that keep the shape of their one input are looked through while they lead to
    a nested model or a layer of RENAMED_OUTPUT_LAYERS: a float32 ``Activation("linear")`` after
    a mixed-precision model's ``uv`` still leaves a YUV model. Otherwise the last layer counts.
    """
    if len(model.outputs) != 1:
        return None
    history = getattr(model.outputs[0], "_keras_history", None)
    if not history:
        return model.layers[-1] if model.layers else None
    last = layer = history[0]
    tensor = model.outputs[0]
    while not (isinstance(layer, keras.Model) or layer.name in RENAMED_OUTPUT_LAYERS):
        inputs = layer._inbound_nodes[history[1]].input_tensors
        if len(inputs) != 1 or tuple(inputs[0].shape) != tuple(tensor.shape):
            return last
        tensor = inputs[0]
        history = getattr(tensor, "_keras_history", None)
        if not history:
            return last
        layer = history[0]
    return layer


def model_stride(model):
    """The total down-sampling of ``model``: its registered stride, which for some architectures
    is a function of the built model (pix2pix's U-Net: 2**depth)."""
    stride = model_spec(model).stride
    return stride(model) if callable(stride) else stride


def _pair(size):
    """``size`` (one side or a ``(height, width)`` pair of whole numbers) as a pair of ints."""
    sides = [size] * 2 if np.ndim(size) == 0 else list(size) if np.shape(size) == (2,) else None
    if sides is None or any(isinstance(side, (bool, np.bool_)) or not isinstance(side, numbers.Integral)
                            for side in sides):
        raise ValueError(f"size must be a whole number of pixels or a (height, width) pair of them, got {size!r}")
    height, width = int(sides[0]), int(sides[1])
    if min(height, width) < 1 or height * width > MAX_PIXELS:
        raise ValueError(f"size must be positive and at most {MAX_PIXELS:,} pixels in all, got {size!r}")
    return height, width


def run_size(model, size=None, image_shape=None):
    """``(height, width)`` the model runs at for a photo of ``image_shape`` = ``(H, W)``.

    A ``(height, width)`` ``size`` is used as given. Otherwise the model runs at about the pixel
    count of a square of side ``size``, or of its input size (a shipped model: its trained or run
    size), or of its registered native size, with the photo's aspect ratio: squashing a 3:2 photo
    into a square distorts what the model sees (beyond MAX_ASPECT, e.g. a panorama, the run shape
    stays at MAX_ASPECT). Sides are rounded to a multiple of the registered stride; without
    ``image_shape`` the shape is square (the input size itself).

    Example:

    >>> run_size(colorzoo.pretrained("unet_sequential"), image_shape=(333, 500))   # (104, 160)
    """
    stride = model_stride(model)
    fixed = tuple(model.input_shape[1:3])
    if image_shape is not None and (len(image_shape) < 2 or min(image_shape[:2]) < 1):
        raise ValueError(f"image_shape must be a (height, width) of at least one pixel each, got {image_shape!r}")
    if size is not None:
        height, width = _pair(size)
    elif None not in fixed:
        height, width = fixed
    else:
        height, width = _pair(model_spec(model).native_size)
    if image_shape is not None and np.ndim(size) == 0:
        aspect = np.clip(image_shape[0] / image_shape[1], 1 / MAX_ASPECT, MAX_ASPECT)
        height, width = np.sqrt(height * width * aspect), np.sqrt(height * width / aspect)
    return tuple(max(stride, int(round(side / stride)) * stride) for side in (height, width))


class RunShapeError(ValueError):
    """A model cannot run at a photo's run shape (a per-photo failure, unlike broken weights)."""


def at_input_size(model, size):
    """``model``'s network for a ``size`` = ``(height, width)`` (or square ``size``) input, sharing its weights.

    A functional model's input size is fixed when it is built (every shipped model is fixed at
    its trained size), while its layers work at any multiple of the registered stride: the
    model's graph is applied to a new input of ``size`` with the same layer objects (nested
    models, such as an ensemble's members, with an input of any size), so the result always
    computes with ``model``'s current weights, also after ``fit`` or ``set_weights``. One per
    model and size is kept (the last REBUILT_PER_MODEL sizes); rebuilds run one at a time, so
    threads may share a model. A model whose input is already ``size``, or flexible, is returned
    as is. (``colorize`` rarely needs a rebuild per size: :func:`predict_chroma` runs every model
    whose graph builds at any input size, every registered one included, on that one graph.)

    Example:

    >>> model = colorzoo.pretrained("unet_sequential")            # trained at 128 x 128
    >>> at_input_size(model, (256, 256)).output_shape             # (None, 256, 256, 2)
    """
    fixed = tuple(model.input_shape[1:3])
    size = _pair(size)
    if None in fixed or fixed == size:
        return model
    return _rebuilt_for(model, size)


def with_chroma_gain(model, gain):
    """``model`` with its predicted chroma (ab, or UV) multiplied by ``gain``, sharing its weights.

    A gain above 1 makes the colours more saturated (a regression-trained model's are pulled
    towards gray), below 1 less. The gain a model ends in (a ``"chroma_gain"`` layer, e.g. a
    shipped model's, chosen on validation photos with ``scripts/chroma_gain.py``) is replaced, not
    compounded, and a gain of 1 removes it; one inside a nested model stays and is multiplied.
    ``model`` is functional or Sequential (built on a ``keras.Input``). Bin-logit models
    (zhang_classification) have their own saturation setting instead: the annealed-mean
    temperature of ``to_ab_model``.

    Example:

    >>> vivid = with_chroma_gain(colorzoo.pretrained("unet_sequential"), 1.2)
    >>> rgb = colorize(vivid, "old_photo.jpg")
    """
    model = colorizing_model(model, "with_chroma_gain")
    if isinstance(gain, bool) or not isinstance(gain, numbers.Real) or not math.isfinite(gain) or gain <= 0:
        raise ValueError(f"chroma gain must be a finite number above 0, got {gain!r}")
    inputs, outputs = getattr(model, "inputs", None), getattr(model, "outputs", None)
    if not inputs or not outputs:
        raise ValueError(f"{model.name} is no functional or Sequential model built on a keras.Input, so no layer can "
                         "follow its output: wrap it, keras.Model(inputs, model(inputs), name=model.name)")
    if len(outputs) != 1:
        raise ValueError(f"{model.name} has {len(outputs)} outputs: a chroma gain takes a model with one")
    if model_spec(model).output != "ab":
        raise ValueError(
            f"{model.name} does not output chroma (ab or UV), so it has no chroma gain: zhang_classification's "
            "saturation is the temperature of its annealed mean (to_ab_model(model, temperature=...))"
        )
    chroma = outputs[0]
    layer, node_index, _ = chroma._keras_history
    if layer.name == CHROMA_GAIN_LAYER:
        chroma = layer._inbound_nodes[node_index].input_tensors[0]
    elif any(inner.name == CHROMA_GAIN_LAYER for inner in model.layers):
        raise ValueError(f"{model.name}'s chroma gain is not its last layer ({layer.name!r} follows): give the model "
                         "its gain before the layers after it")
    elif gain == 1:
        return model
    if gain != 1:
        chroma = keras.layers.Rescaling(float(gain), dtype="float32", name=CHROMA_GAIN_LAYER)(chroma)  # any policy
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, chroma, name=model.name)


def _rebuilt_for(model, size):
    """``model`` rebuilt for a fixed ``size`` input, cached (also a model whose input is flexible)."""
    return _per_shape(_REBUILT, model, size, _rebuilt_at, REBUILT_PER_MODEL)


def _per_shape(cache, model, shape, compute, kept):
    """``compute(model, shape)`` cached in ``cache`` per model and shape (the last ``kept`` shapes of a
    model); a :class:`RunShapeError` it raised is cached too (a shape that failed once is not tried per
    photo) and raised again. Computed one at a time: Keras numbers a shared layer's nodes by appending."""
    found = cache.get(model, {}).get(shape, _UNTRIED)
    if found is _UNTRIED:
        with _REBUILD_LOCK:
            results = cache.setdefault(model, collections.OrderedDict())
            if shape not in results:
                try:
                    results[shape] = compute(model, shape)
                except RunShapeError as error:
                    results[shape] = error
                if len(results) > kept:
                    results.popitem(last=False)
            found = results[shape]
    if isinstance(found, RunShapeError):
        raise found
    return found


def _cannot_run(model, size):
    """The start and the advice of a :class:`RunShapeError` for ``model`` at ``size``."""
    fixed = tuple(model.input_shape[1:3])
    if None in fixed:
        return f"{model.name} cannot run at {size[0]}x{size[1]}", "run it at another size"
    cannot = f"{model.name} was built for {fixed[0]}x{fixed[1]} inputs and cannot run at {size[0]}x{size[1]}"
    return cannot, f"run it at its built size (size=({fixed[0]}, {fixed[1]}), or no size: photos are then resized to it)"


def _check_stride(model, size):
    """A :class:`RunShapeError` unless both sides of ``size`` are multiples of ``model``'s stride."""
    stride = model_stride(model)
    if any(side % stride for side in size):
        cannot, advice = _cannot_run(model, size)
        raise RunShapeError(f"{cannot}: its sides must be multiples of its stride {stride}; {advice}")


def _rebuilt_at(model, size):
    cannot, advice = _cannot_run(model, size)
    if len(getattr(model, "inputs", None) or ()) != 1:
        raise RunShapeError(f"{cannot}: only single-input functional models can be rebuilt; {advice}")
    _check_stride(model, size)
    try:
        rebuilt = _sharing_layers(model, size)
    except (ValueError, TypeError) as error:
        raise RunShapeError(f"{cannot}: {_keras_reason(error)}; {advice}") from error
    _check_output_scale(model, size, rebuilt.outputs[0].shape[1:3])
    return rebuilt


def _keras_reason(error):
    """The line of a Keras layer's error that says what went wrong (raised while tracing, the error
    starts with the traceback of the user code; TensorFlow's shape errors end with the graph node)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # Keras's message has terminal bold codes
    lines = [line.strip() for line in text.splitlines() if line.strip()]  # and the cause after its first line
    start = next((index + 1 for index, line in enumerate(lines) if "Exception encountered" in line), 0)
    return lines[start].split(" for '{{node")[0] if start < len(lines) else error_line(error)


def _check_output_scale(model, size, output_size):
    """A :class:`RunShapeError` unless ``model`` at ``size`` gives an output of ``output_size`` at the
    output / input scale of its built shapes (a model whose input is flexible has none to keep)."""
    fixed = tuple(model.input_shape[1:3])
    if None in fixed:
        return
    scale = [out / side for out, side in zip(model.outputs[0].shape[1:3], fixed)]  # the output colorize reads
    if [out / side for out, side in zip(output_size, size)] != scale:
        cannot, advice = _cannot_run(model, size)
        output = "x".join(map(str, output_size))
        raise RunShapeError(f"{cannot}: a layer keeps its built size (output {output}); {advice}")


@dataclasses.dataclass(frozen=True)
class _AnySize:
    """A model's graph on inputs of any height and width (None: the model itself, whose input is
    flexible; the cache must not keep the model alive) and whether it is traced per run shape."""

    graph: keras.Model | None
    per_shape: bool


def _any_size(model):
    """``(graph, per_shape)``: ``model``'s graph on inputs of any height and width with the same layers
    (``model`` itself if its input is flexible), and whether it must be traced once per run shape
    (:func:`traced_predictor` with a shape) because a layer cannot be traced at unknown sizes (Keras's
    bilinear ``UpSampling2D``: keras-team/keras#22079; or anything else failing there); else one trace at
    unknown sizes serves every run shape. None where no such graph builds (multi-input models, a layer
    that needs known sides to build, an output fixed to its built size): that model is rebuilt per run
    shape (:func:`at_input_size`). Cached per model; no rebuild adds Keras nodes to its layers."""
    found = _per_shape(_ANY_SIZE, model, (None, None), lambda model, _: _graph_at_any_size(model), 1)
    if found is None:
        return None
    return (model if found.graph is None else found.graph), found.per_shape


def _graph_at_any_size(model):
    if len(getattr(model, "inputs", None) or ()) != 1 or len(model.input_shape) != 4:
        return None
    flexible = model.input_shape[1:3] == (None, None)
    try:
        any_size = model if flexible else _sharing_layers(model, (None, None))
    except Exception as error:  # an optimisation only: whatever fails here, the model is rebuilt per shape
        logger.debug("%s is rebuilt per run shape: %s", model.name, error_line(error))
        return None
    try:
        output = traced_predictor(any_size).get_concrete_function().structured_outputs
    except Exception as error:
        logger.debug("%s is traced per run shape: %s", model.name, error_line(error))
        return _AnySize(None if flexible else any_size, per_shape=True)
    if output.shape[1:3] != (None, None):  # a layer keeps its built size: the rebuild says so, per shape
        return None
    return _AnySize(None if flexible else any_size, per_shape=False)


def _check_run_shape(model, any_size, shape):
    """A :class:`RunShapeError` unless ``any_size`` (:func:`_any_size`) runs ``model`` at ``shape`` as a
    rebuild would: sides on the stride, every layer accepting them (checked symbolically: no Keras node
    is added) and the output at the built output / input scale. Cached per model and shape."""

    def check(model, shape):
        _check_stride(model, shape)
        try:
            spec = any_size.compute_output_spec(
                keras.KerasTensor((1, *shape, *model.input_shape[3:]), dtype=model.inputs[0].dtype)
            )
        except (ValueError, TypeError) as error:  # a layer refusing the shape
            cannot, advice = _cannot_run(model, shape)
            raise RunShapeError(f"{cannot}: {_keras_reason(error)}; {advice}") from error
        _check_output_scale(model, shape, tuple((spec[0] if isinstance(spec, (list, tuple)) else spec).shape[1:3]))

    _per_shape(_CHECKED_SHAPES, model, shape, check, CHECKED_PER_MODEL)


def _sharing_layers(model, size):
    """``model``'s graph on a new ``size`` input (``(None, None)``: any size) with the same layers."""

    def reuse(layer):
        return _sharing_layers(layer, (None, None)) if isinstance(layer, keras.Model) else layer

    inputs = keras.Input((*size, *model.input_shape[3:]), dtype=model.inputs[0].dtype, name=model.inputs[0].name)
    listed = not isinstance(model, keras.Sequential) and isinstance(model.input, (list, tuple))
    structured = [inputs] if listed else inputs  # keras.Model([x], ...) takes its input as a list
    return keras.models.clone_model(model, input_tensors=structured, clone_function=reuse)


class _ExpectedRetracing(logging.Filter):
    """Drops TensorFlow's warning that ``traced_predictor``'s functions "triggered tf.function
    retracing": each run shape of a model traced per shape, and each model rebuilt for one
    (:func:`at_input_size`), has its own function, traced once by design (photos of many aspect
    ratios), which TensorFlow counts as one function retracing. Other functions' warnings pass."""

    def filter(self, record):
        return "_traced_call.<locals>.predict" not in record.getMessage()


tf.get_logger().addFilter(_ExpectedRetracing())


def traced_predictor(model, shape=None):
    """A ``tf.function`` calling ``model(x, training=False)`` on a float32 batch, traced once per model (cached).

    A traced call runs the model faster than an eager ``model(x)`` (1.1-2.1x for the registered
    models at 128 px, ``bench/validation_scoring.py``) and reads the model's current weights, so it
    also serves callbacks during training. A model whose variables were replaced or added
    (``model.quantize``, ``enable_lora``) is traced again. With ``shape`` = ``(height, width)``, the
    function takes inputs of that size only, for a model with a flexible input that cannot be traced
    at unknown sizes (one function per shape, the REBUILT_PER_MODEL shapes traced last are kept).

    >>> chroma = traced_predictor(model)(luminance_batch)
    """
    variables = tuple(map(id, model.variables))
    variables_seen, predictors = _PREDICTORS.get(model, (None, {}))
    predict = predictors.get(shape) if variables_seen == variables else None
    if predict is None:
        with _PREDICTORS_LOCK:
            variables_seen, predictors = _PREDICTORS.get(model, (None, None))
            if variables_seen != variables:
                predictors = collections.OrderedDict()
                _PREDICTORS[model] = variables, predictors
            if shape not in predictors:
                predictors[shape] = _traced_call(model, shape)
                per_shape = [key for key in predictors if key is not None]
                for oldest in per_shape[: max(0, len(per_shape) - REBUILT_PER_MODEL)]:
                    del predictors[oldest]
            predict = predictors[shape]
    return predict


def _traced_call(model, shape):
    model_ref = weakref.ref(model)  # the cache must not keep the model alive
    sides = model.input_shape[1:3] if shape is None else shape
    signature = tf.TensorSpec((None, *sides, *model.input_shape[3:]), tf.float32)

    @tf.function(input_signature=[signature])
    def predict(luminance):
        output = model_ref()(luminance, training=False)
        return output[0] if isinstance(output, (list, tuple)) else output  # keras.Model(..., [y]) returns [y]

    return predict


def chroma_of_output(output, kind, size=None):
    """A model's raw output as normalised float32 chroma: ``"ab_bins"`` logits decoded by their
    annealed mean at the bins' own temperature (resized bilinearly to ``size`` when given),
    ``"ab"`` as it is.

    >>> chroma = chroma_of_output(model(luminance), model_info(model.name).output)
    """
    if kind == "ab_bins":
        from colorzoo.models.zhang_classification import decode_ab

        output = decode_ab(output, size=size)
    return tf.cast(output, tf.float32)


def predictor_at(model, shape):
    """The :func:`traced_predictor` that runs ``model`` at ``shape``: the one of its graph at any size
    (:func:`_any_size`; traced once, or once per shape but at the built size, where the model's own
    serves) where it has one, else its own at its built size and the one of ``model`` rebuilt for
    ``shape`` at others (:func:`at_input_size`); a :class:`RunShapeError` if ``model`` cannot run there.

    >>> chroma = predictor_at(model, (96, 128))(luminance_batch)  # a (N, 96, 128, 1) batch
    """
    built = tuple(model.input_shape[1:3])
    any_size = _any_size(model)
    if any_size is None or (shape == built and any_size[1]):  # per shape: its own function, never dropped
        return traced_predictor(model if shape == built else _rebuilt_for(model, shape))
    graph, per_shape = any_size
    if shape != built and graph is not model:
        _check_run_shape(model, graph, shape)
    return traced_predictor(graph, shape if per_shape else None)


def predict_chroma(model, luminance, size=None):
    """Normalised chroma ``(H, W, 2)`` predicted for a full-resolution luminance ``(H, W)``.

    The luminance is resized (antialiased) to :func:`run_size`, the model's pixel count at the
    photo's aspect ratio, where the model runs: models run every shape with one graph of any input
    size (:func:`_any_size`), traced once (or once per shape for the models with Keras's bilinear
    ``UpSampling2D``), the few whose graph needs a known size are rebuilt per shape
    (:func:`at_input_size`); a model that cannot run at that shape (a layer fixed to its built
    size) runs at its built size when no ``size`` is given. The prediction (decoded from bin logits for ``"ab_bins"`` models) is
    upsampled bilinearly back to ``(H, W)``.
    """
    model = colorizing_model(model, "predict_chroma")
    height, width = luminance.shape
    shape, built = run_size(model, size, image_shape=(height, width)), tuple(model.input_shape[1:3])
    try:
        predict = predictor_at(model, shape)
    except RunShapeError:
        if size is not None or None in built:
            raise
        shape, predict = built, predictor_at(model, built)
    small = tf.image.resize(luminance[None, :, :, None], shape, antialias=True)
    try:
        output = predict(small)
    except (tf.errors.InvalidArgumentError, ValueError) as error:  # a shape a layer rejects: run, or traced per shape
        reason = _graph_error_reason(error) if isinstance(error, tf.errors.OpError) else _keras_reason(error)
        raise RunShapeError(
            f"{model.name} failed at {shape[0]}x{shape[1]} ({reason}): a model that down-samples needs "
            "its stride registered (register_model(..., stride=N)) or a size it accepts"
        ) from None
    output = chroma_of_output(output, model_spec(model).output)
    if output.shape[-1] != 2:
        raise ValueError(
            f"{model.name} outputs {output.shape[-1]} channels where colorize takes 2 (ab, or UV): bin logits of "
            "zhang_classification? name the model zhang_classification or wrap it with to_ab_model"
        )
    if not bool(tf.reduce_all(tf.math.is_finite(output))):
        raise ValueError(f"{model.name} predicted NaN or infinite colours: broken weights (a diverged training?)")
    return tf.image.resize(output[0], (height, width), method="bilinear").numpy()


def colorize(model, image, size=None):
    """Colorize one image of any size, aspect ratio and mode; returns RGB uint8 ``(H, W, 3)``.

    Args:
        model: a colorzoo model (registry name as ``model.name``, e.g. from ``build_model``
            or a loaded ``.keras`` file).
        image: a path, binary file object, PIL image or array (gray, RGB, RGBA, palette,
            16-bit, float in [0, 1]); colour input is reduced to its luminance first. EXIF
            orientation is applied.
        size: the model runs at the pixel count of a ``size`` x ``size`` square with the
            image's aspect ratio, or at exactly ``(height, width)`` (see :func:`run_size`; a
            model built for another size runs there with the same weights, :func:`predict_chroma`); default: the
            pixel count of the model's input size (a shipped model: its trained or run size).

    The output keeps the input's full-resolution luminance (L, or Y for YUV models) up to
    rounding; only the predicted chroma is upsampled.

    Example:

    >>> rgb = colorize(colorzoo.pretrained("unet_sequential"), "portrait_1890.jpg")
    >>> Image.fromarray(rgb).save("portrait_1890_color.png")
    """
    model = colorizing_model(model, "colorize")
    color_space = model_spec(model).color_space
    luminance = _luminance_of_checked(load_image(image), color_space)
    return recombine(luminance, predict_chroma(model, luminance, size), color_space)


# === Files ===


def expand_inputs(inputs):
    """``(path, folder it came from or None)`` for each file and each image inside each folder
    (paths as ``str``, given as ``str``, ``bytes`` or ``os.PathLike``)."""
    if isinstance(inputs, (str, bytes, os.PathLike)):
        inputs = [inputs]
    expanded = []
    for item in map(os.fsdecode, inputs):
        if os.path.isdir(item):
            expanded += [(path, item) for path in image_files(item)]
        elif os.path.exists(item):
            expanded.append((item, None))
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    return expanded


def _plan_outputs(inputs, output_dir, suffix, extension, compare):
    """``([(input, output, figure or None)], [inputs left out])``; folders keep their layout, clashing
    names keep their extension, a photo given twice is colorized once; the images of an input
    folder that lie in the output folder inside it are left out (earlier outputs, or the user's
    photos: either way not this run's inputs)."""
    output_root = os.path.realpath(output_dir)
    jobs, left_out, taken = [], [], set()
    for path, folder in expand_inputs(inputs):
        real = os.path.realpath(path)
        if real in taken:  # the same photo given twice (a folder and a file in it): once
            continue
        taken.add(real)
        if folder is not None and os.path.realpath(folder) == output_root:
            raise ValueError(
                f"the output folder is the input folder {folder}: a later run would take its outputs "
                "for photos; choose another output folder (a subfolder of it is fine)"
            )
        inside_output = real.startswith(output_root + os.sep)
        if folder is not None and inside_output and output_root.startswith(os.path.realpath(folder) + os.sep):
            left_out.append(path)
            continue
        relative = os.path.relpath(path, folder) if folder is not None else os.path.basename(path)
        jobs.append((path, os.path.join(output_dir, relative)))
    counts = collections.Counter(os.path.splitext(target)[0] for _, target in jobs)
    plan = []
    for path, target in jobs:
        stem, source_extension = os.path.splitext(target)
        if counts[stem] > 1:  # a.jpg and a.png would both become a.png
            stem = f"{stem}_{source_extension.lstrip('.')}"  # its case kept: a.jpg and a.JPG differ
        plan.append((path, stem + suffix + extension, stem + suffix + "_compare.png" if compare else None))
    writers = {}  # real path of each output -> (index, input) of the job writing it
    for index, (path, *pair) in enumerate(plan):
        for target in filter(None, pair):
            other_index, other = writers.setdefault(os.path.realpath(target), (index, path))
            if other_index != index:
                raise ValueError(f"{other} and {path} would both be written to {target}; colorize those inputs separately")
    sources = {os.path.realpath(path): path for path, _ in jobs}
    for target in writers:
        if target in sources:
            raise ValueError(f"refusing to overwrite the input {sources[target]}; choose another output folder")
    return plan, left_out


def colorize_files(
    model,
    inputs,
    output_dir,
    size=None,
    skip_existing=False,
    overwrite=False,
    suffix="",
    progress=True,
    output_format="png",
    compare=False,
):
    """Colorize image files and folders (recursively) into ``output_dir``.

    Args:
        model: a colorzoo model.
        inputs: a path or a list of files and folders; folders keep their layout below ``output_dir``.
        output_dir: created if missing; must not be an existing file.
        size: model run size (see :func:`colorize`).
        skip_existing: leave files that already exist alone (resume an interrupted run: only the
            missing outputs and comparison figures are written).
        overwrite: replace outputs that already exist; by default a ``FileExistsError`` is
            raised before any work if one exists (unless ``skip_existing``), and a file that
            appears under an output's name during the run is left alone (that photo fails, or
            with ``skip_existing`` that file is skipped).
        suffix: appended to each output name stem (``photo.jpg`` -> ``photo_color.png``).
        progress: show a ``keras.utils.Progbar``.
        output_format: ``"png"``, ``"jpeg"`` (``"jpg"``) or ``"webp"`` (quality 95), any case.
        compare: also write ``<stem><suffix>_compare.png``, a :func:`compare_figure` of the
            gray input, the colorization and (for colour inputs) the original.

    Outputs never replace an input and ``output_dir`` is never an input folder (a
    ``ValueError`` is raised before any work, as for inputs without images; an output folder that
    cannot be written to is an ``OSError`` before any work); they are written atomically.
    Unreadable images, images the model cannot colorize and outputs that cannot be written are
    counted in ``failed`` with a one-line log message; a full disk or read-only file system ends
    the run with its ``OSError``. Images of an input folder inside ``output_dir`` (``colorize
    photos/ -o photos/colorized``) are not inputs: they are counted in ``left_out`` with one log
    message.

    Returns:
        ``{"written": [files], "skipped": [files], "failed": [inputs], "left_out": [inputs]}``: the
        outputs and comparison figures written, those left alone because they existed, the inputs
        that failed, and the images left out.

    Example:

    >>> summary = colorize_files(model, ["scans/"], "colorized/", suffix="_color")
    >>> len(summary["written"]), summary["failed"]
    """
    model = colorizing_model(model, "colorize_files")
    output_dir = os.fsdecode(output_dir)
    if str(output_format).lower() not in OUTPUT_FORMATS:
        raise ValueError(f"output_format must be one of {sorted(OUTPUT_FORMATS)}, got {output_format!r}")
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise NotADirectoryError(f"output_dir {output_dir} is an existing file")
    pil_format, extension = OUTPUT_FORMATS[output_format.lower()]
    plan, left_out = _plan_outputs(inputs, output_dir, suffix, extension, compare)
    if left_out:
        logger.warning("left out %d image(s) inside the output folder %s, e.g. %s", len(left_out), output_dir, left_out[0])
    if not (skip_existing or overwrite):
        existing = [target for _, *targets in plan for target in targets if target and os.path.lexists(target)]
        if existing:
            raise FileExistsError(
                f"{len(existing)} output(s) already exist, e.g. {existing[0]}: keep them with --skip-existing "
                "(skip_existing=True) or replace them with --overwrite (overwrite=True)"
            )
    if not plan and not left_out:
        named = inputs if isinstance(inputs, (str, bytes, os.PathLike)) else ", ".join(map(os.fsdecode, inputs))
        raise ValueError(f"no images in {os.fsdecode(named) or 'the inputs'} "
                         f"(image files end in {' '.join(IMAGE_EXTENSIONS)}, any case)")
    for folder in sorted({os.path.dirname(output) for _, output, _ in plan}):
        files.remove_stale_temporaries(folder)  # left by an earlier colorize that was killed mid-write
    writing = {os.path.dirname(target) for _, *targets in plan for target in targets
               if target and not (skip_existing and os.path.lexists(target))}
    for folder in sorted(writing):
        files.check_writable(folder)  # a folder nobody can write to fails now, not after colorizing every photo
    summary = {"written": [], "skipped": [], "failed": [], "left_out": left_out}
    bar = keras.utils.Progbar(len(plan), unit_name="image") if progress and plan else None
    for done, (path, output, figure) in enumerate(plan, start=1):
        targets = [target for target in (output, figure) if target]
        kept = [target for target in targets if skip_existing and os.path.lexists(target)]
        summary["skipped"] += kept
        missing = [target for target in targets if target not in kept]
        if missing:
            for key, entry in _colorize_file(model, path, output, missing, size, pil_format, overwrite, skip_existing):
                summary[key].append(entry)
        if bar is not None:
            bar.update(done)
    return summary


def _colorize_file(model, path, output, missing, size, pil_format, overwrite, skip_existing):
    """Write the ``missing`` ones of ``path``'s ``output`` and comparison figure; the
    :func:`colorize_files` summary entries of that work: ``("written", file)``, ``("skipped", file)``
    (a file that appeared meanwhile, with ``skip_existing``) or ``("failed", path)``."""
    try:
        pixels = load_image(path)
    except LOAD_ERRORS as error:
        logger.warning("skipping %s: %s", path, error_line(error))
        return [("failed", path)]
    try:
        colorized = colorize(model, pixels, size)
    except RunShapeError as error:  # this photo's shape; broken weights end the run
        logger.warning("skipping %s: %s", path, error_line(error))
        return [("failed", path)]
    entries = []
    for target in missing:
        try:
            if target == output:
                image = Image.fromarray(colorized)
                files.write_atomically(
                    output, lambda handle: image.save(handle, format=pil_format, quality=95), replace=overwrite
                )
            else:
                compare_figure(pixels, colorized, pixels if pixels.ndim == 3 else None, path=target,
                               color_space=model_spec(model).color_space, overwrite=overwrite)
            entries.append(("written", target))
        except FileExistsError as error:  # never replaced without overwrite, even if it appeared meanwhile
            logger.warning("%s", error_line(error))
            if not skip_existing:
                return [*entries, ("failed", path)]
            entries.append(("skipped", target))
        except OSError as error:  # e.g. the output name is a folder
            if error.errno in FULL_OR_READ_ONLY:  # every later photo would fail the same way: end the run
                raise
            logger.warning("could not write the output of %s: %s", path, error_line(error))
            return [*entries, ("failed", path)]
    return entries


def _graph_error_reason(error):
    """The op's own message in a TensorFlow graph execution error (whose first line says only that)."""
    lines = [
        line.split("\t [[")[0].strip()
        for line in error.message.splitlines()
        if line.strip() and not line.startswith((" ", "\t", "Graph execution error", "Detected at node"))
    ]
    return lines[-1] if lines else error_line(error)


def error_line(error):
    """The first line of an exception's message (its class name if it has none)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _panel_pixels(image):
    """:func:`load_image` pixels shrunk by a whole factor (block means) to at most COMPARE_PANEL_SIDE
    on the longer side: a figure panel, not a full-resolution float copy of a 24-megapixel photo."""
    pixels = load_image(image)
    factor = math.ceil(max(pixels.shape[:2]) / COMPARE_PANEL_SIDE)
    if factor == 1:
        return pixels
    (height, down), (width, across) = ((side // min(factor, side), min(factor, side)) for side in pixels.shape[:2])
    blocks = pixels[: height * down, : width * across].reshape(height, down, width, across, *pixels.shape[2:])
    means = blocks.mean(axis=(1, 3))
    return np.rint(means).astype(pixels.dtype) if np.issubdtype(pixels.dtype, np.integer) else means.astype(pixels.dtype)


def compare_figure(gray, colorized, original=None, *, path, color_space="lab", overwrite=False):
    """Save a side-by-side figure gray | colorized | original (if given) to ``path``.

    Each image may be a path, PIL image or array; ``gray`` is shown as its luminance in
    ``color_space`` (what a model of that colour space sees: Lab's L or YUV's Y).
    Uses matplotlib's Agg canvas, without pyplot or any global state. An existing ``path`` is
    left alone (``FileExistsError``) unless ``overwrite``; one of the figure's own photos never
    is (``ValueError``).

    Example:

    >>> compare_figure("scan.jpg", colorize(model, "scan.jpg"), "truth.jpg", path="compare.png")
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    color.check_color_space(color_space)
    path = os.fsdecode(path)
    for source in (gray, colorized, original):
        is_path = isinstance(source, (str, bytes, os.PathLike))
        if is_path and os.path.realpath(os.fsdecode(source)) == os.path.realpath(path):
            raise ValueError(f"{path}: refusing to replace a photo of the figure with the figure")
    panels = [("gray", to_gray(_panel_pixels(gray), color_space)), ("colorized", to_float_rgb(_panel_pixels(colorized)))]
    if original is not None:
        panels.append(("original", to_float_rgb(_panel_pixels(original))))
    height, width = panels[0][1].shape[:2]
    aspect = np.clip(height / width, 1 / MAX_ASPECT, MAX_ASPECT)  # a 1 x 30000 strip keeps a sane figure
    figure = Figure(figsize=(4 * len(panels), 4 * aspect + 0.5))
    FigureCanvasAgg(figure)
    for index, (title, image) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), index)
        axes.imshow(image)
        axes.set_title(title)
        axes.axis("off")
    figure.tight_layout()
    extension = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    files.write_atomically(path, lambda handle: figure.savefig(handle, format=extension, dpi=100), replace=overwrite)
