"""Folders of photos -> ``tf.data`` pipelines of normalised ``(L, ab)`` batches.

Files are checked once when a dataset is made (:func:`scan_files`): a header and trailer check
(and, for JPEGs, a decode at 1/8 scale) sorts them into files TensorFlow decodes natively, files
PIL converts (CMYK JPEG, palette BMP, ...) and files that are skipped with a reason (truncated,
corrupt, empty, not an image, too many pixels, unreadable). The pipeline then decodes in
parallel, drops and counts grayscale photographs (:func:`grayscale_score`), crops or letterboxes to
``image_size``, batches uint8 images and converts each whole batch to the model's colour space
in one XLA-compiled call.

Example:

>>> train, val = split_files(image_files("photos/"), val_fraction=0.1, seed=0)
>>> data = make_dataset(train, image_size=128, batch_size=16, augment=True, seed=0)
>>> luminance, chroma = next(iter(data))   # (16, 128, 128, 1), (16, 128, 128, 2)
>>> blue = select_by_dominant_hue(train, "blue")
"""

import concurrent.futures
import numbers
import os
import stat
import sys
import warnings

import numpy as np
import skimage.color
import tensorflow as tf
from PIL import Image, ImageOps

from colorzoo import color

# Photo formats, those of them this Pillow opens (AVIF and JPEG 2000 need its optional codecs).
IMAGE_EXTENSIONS = tuple(
    extension
    for extension in (".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".avif",
                      ".jp2", ".j2k", ".jpx", ".pgm", ".ppm", ".pnm", ".pbm", ".tga")
    if Image.registered_extensions().get(extension) in Image.OPEN
)
RESIZE_MODES = ("center_crop", "random_crop", "pad", "resize")
# PIL's own decompression-bomb limit (Image.MAX_IMAGE_PIXELS): larger images are skipped.
MAX_PIXELS = 89_478_485
# /work/shared/data/README.md: grayscale means a mean inter-channel difference under 2 of 255.
GRAYSCALE_THRESHOLD = 2.0 / 255.0
# "random_crop": a square covering this range of the shorter side, at a random position.
RANDOM_CROP_SCALE = (0.8, 1.0)
# Hue bands in degrees (HSV hue, 0 = red); a band may wrap around 360. Only saturated pixels
# (HSV saturation and value at least these) have a meaningful hue.
HUE_BANDS = {"red": (340.0, 20.0), "yellow": (40.0, 70.0), "green": (75.0, 165.0), "blue": (190.0, 260.0)}
MIN_SATURATION = 0.25
MIN_VALUE = 0.2

_NATIVE, _CONVERTED = 0, 1  # decoded by tf.io / by PIL through tf.numpy_function
_EXIF_ORIENTATION = 0x0112
_TAIL_BYTES = 64
_TRAILERS = {  # what a complete file of each format ends with (trailing zero padding ignored)
    "JPEG": b"\xff\xd9",
    "MPO": b"\xff\xd9",
    "GIF": b"\x3b",
    "PNG": b"IEND\xaeB`\x82",
}


# === Files ===


def image_files(root):
    """Image files under ``root``, recursively, sorted; extensions matched case-insensitively.

    Example:

    >>> files = image_files("photos/")   # ["photos/a.jpg", "photos/sub/B.PNG", ...]
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root}: no such folder")
    found, visited = [], set()
    for folder, subfolders, names in os.walk(root, followlinks=True):  # linked folders too, each once
        real = os.path.realpath(folder)
        if real in visited:  # a link back up the tree, or a second link to one folder
            subfolders.clear()
            continue
        visited.add(real)
        found += [os.path.join(folder, name) for name in names if name.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(found)


def file_list(files):
    """``files`` as a list of paths: a folder's image files (:func:`image_files`, recursively), a
    single file, or the paths of a list (``str``, ``bytes`` or ``os.PathLike`` alike).

    Example:

    >>> file_list("photos/") == image_files("photos/")
    True
    """
    if isinstance(files, (str, bytes, os.PathLike)):
        path = os.fsdecode(files)
        return [path] if os.path.isfile(path) else image_files(path)
    return [os.fsdecode(path) for path in files]


def split_files(files, val_fraction=0.1, seed=0):
    """Deterministic ``(train, val)`` split: the same files and seed give the same split.

    ``files``: a folder, a file or a list (:func:`file_list`). They are sorted, permuted with
    ``seed`` and ``round(len(files) * val_fraction)`` of them go to ``val``; both lists come
    back sorted.

    Example:

    >>> train, val = split_files(image_files("photos/"), val_fraction=0.1, seed=0)
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    files = sorted(file_list(files))
    order = np.random.default_rng(seed).permutation(len(files))
    count = int(round(len(files) * val_fraction))
    val = {files[index] for index in order[:count]}
    return [f for f in files if f not in val], [f for f in files if f in val]


def _printable(path):
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _trailer_ok(image_format, tail, header, size):
    """Whether the file looks complete, or ``None`` when the format has no cheap check."""
    if image_format in _TRAILERS:
        return tail.rstrip(b"\x00").endswith(_TRAILERS[image_format])
    if image_format == "WEBP":  # RIFF header: bytes 4..8 hold the size of the rest of the file
        return size >= int.from_bytes(header[4:8], "little") + 8
    return None


def _rotated(image):
    """Whether an opened PIL image's EXIF orientation asks to turn it before showing. A PNG's EXIF
    is read from the chunks before its pixels, where the PNG spec puts eXIf (``getexif`` would
    decode the whole image to look behind them: 0.4-0.5 s at 12 MP)."""
    if image.format == "PNG" and "exif" not in image.info:
        return False
    return image.getexif().get(_EXIF_ORIENTATION, 1) != 1


def _load_at_eighth_scale(image):
    """Decode an opened PIL JPEG at 1/8 scale: all its entropy-coded data is read, so corrupt data
    raises (as it makes TensorFlow's decoder fail), in a sixth of a full decode's time at 12 MP."""
    width, height = image.size
    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
    image.load()


def _tf_decodes(image):
    """Whether TensorFlow's decoders give the right RGB for this (opened) PIL image."""
    if _rotated(image):
        return False  # tf.io ignores EXIF orientation: PIL turns the photo upright
    if image.format in ("JPEG", "MPO"):
        return image.mode in ("RGB", "L")  # CMYK / YCCK (Adobe) JPEGs go through PIL
    if image.format == "BMP":
        return image.mode == "RGB" and image.info.get("compression") == 0
    if image.format == "WEBP":
        return not getattr(image, "is_animated", False)
    return image.format in ("PNG", "GIF")  # any bit depth / palette; GIF -> first frame


def _inspect(path, max_pixels):
    """``(route, None)`` for a decodable file, ``(None, reason)`` for one to skip."""
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):  # opening a FIFO would block forever
            return None, "is a directory" if stat.S_ISDIR(mode) else "not a regular file"
        handle = open(path, "rb")
    except PermissionError:
        return None, "no read permission"
    except OSError as error:
        return None, f"cannot open ({error.strerror or error})"
    with handle:
        try:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                return None, "empty file"
            header = handle.read(16)
            handle.seek(max(0, size - _TAIL_BYTES))
            tail = handle.read()
            handle.seek(0)
            image = Image.open(handle)
            width, height = image.size
            if width * height > max_pixels:
                return None, f"{width}x{height} pixels, over the limit of {max_pixels}"
            complete = _trailer_ok(image.format, tail, header, size)
            route = _NATIVE if complete is not False and _tf_decodes(image) else _CONVERTED
            # A complete-looking file may hold corrupt data inside; one whose end looked wrong
            # but that PIL decodes is left to PIL.
            if complete and image.format in ("JPEG", "MPO"):
                _load_at_eighth_scale(image)
            elif complete and image.format == "PNG":
                image.verify()  # every chunk's CRC: 1 ms at 12 MP, where decoding takes 0.4-0.5 s
            else:
                image.load()  # no cheap check (BMP), GIF, WebP, or a suspicious end: decode fully
            return route, None
        except Image.DecompressionBombError as error:
            return None, f"too many pixels ({error})"
        except Image.UnidentifiedImageError:
            return None, "not an image PIL knows"
        except Exception as error:  # noqa: BLE001 - decoders raise many types; any of them means skip
            return None, f"cannot decode ({type(error).__name__}: {error})"


def _scan(files, max_pixels=MAX_PIXELS):
    entries, skipped = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        for path in file_list(files):
            route, reason = _inspect(path, max_pixels)
            if reason is None:
                entries.append((path, route))
            else:
                skipped.append((path, reason))
    return entries, skipped


def scan_files(files, max_pixels=MAX_PIXELS):
    """Sort ``files`` (a folder, a file or a list: :func:`file_list`) into decodable ones and
    skipped ``(path, reason)`` pairs. Corrupt data inside
    a complete-looking file is found: JPEGs are decoded at 1/8 scale, PNGs' chunk checksums are
    verified, other formats are decoded.

    Skipped: directories and other non-files, empty, unreadable, truncated or corrupt files,
    non-images and images over ``max_pixels`` (decompression bombs). Odd but decodable files
    (grayscale, RGBA, palette, CMYK, 16-bit, animated GIF, WebP) are kept and converted to RGB.

    Example:

    >>> good, skipped = scan_files(image_files("photos/"))
    >>> for path, reason in skipped:
    ...     print(path, reason)
    """
    entries, skipped = _scan(files, max_pixels)
    return [path for path, _ in entries], skipped


def _skipped_message(skipped, total, limit=50):
    lines = [f"  {_printable(path)}: {reason}" for path, reason in skipped[:limit]]
    if len(skipped) > limit:
        lines.append(f"  ... and {len(skipped) - limit} more (colorzoo.data.scan_files lists them all)")
    return f"colorzoo.data: skipped {len(skipped)} of {total} files that cannot be decoded:\n" + "\n".join(lines)


# === Decoding ===


def _pil_to_rgb(image):
    """A PIL image (first frame) -> uint8 RGB array; 16-bit data keeps its top 8 bits."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return np.repeat((np.asarray(image).astype(np.uint32) >> 8).clip(0, 255).astype(np.uint8)[..., None], 3, -1)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    return np.asarray(image.convert("RGB"))


def load_rgb(path):
    """One image file as a uint8 ``(H, W, 3)`` RGB array, decoded by PIL (any mode, first frame),
    turned upright as its EXIF orientation says.

    Example:

    >>> rgb = load_rgb("photos/cat.jpg")
    """
    with Image.open(os.fsdecode(path)) as image:
        if _rotated(image):
            image = ImageOps.exif_transpose(image)
        return _pil_to_rgb(image)


def _decode(path, route, any_converted):
    """``tf.string`` path -> uint8 ``(H, W, 3)``; PIL handles the ``_CONVERTED`` route."""

    def native():
        contents = tf.io.read_file(path)
        return tf.cond(
            tf.io.is_jpeg(contents),
            # PIL's (and libjpeg's accurate) IDCT: the default fast one adds chroma noise.
            lambda: tf.io.decode_jpeg(contents, channels=3, dct_method="INTEGER_ACCURATE"),
            lambda: tf.io.decode_image(contents, channels=3, expand_animations=False),
        )

    def converted():
        image = tf.numpy_function(load_rgb, [path], tf.uint8, stateful=False)
        return tf.ensure_shape(image, [None, None, 3])

    if not any_converted:
        return native()
    return tf.cond(tf.equal(route, _NATIVE), native, converted)


# === Grayscale ===


def grayscale_score(rgb):
    """Mean absolute difference between the colour channels, in [0, 1]: 0 for a gray image.

    ``rgb``: ``(..., H, W, 3)``, uint8, uint16 or float in [0, 1] (an ``(H, W)`` gray image
    scores 0); returns shape ``(...)``. Photos under :data:`GRAYSCALE_THRESHOLD` (2 / 255) count
    as grayscale.

    Example:

    >>> grayscale_score(load_rgb("photos/cat.jpg"))   # e.g. 0.05
    """
    rgb = tf.convert_to_tensor(rgb)
    if rgb.shape.rank == 2:  # one gray image, as load_image gives it
        return tf.constant(0.0)
    if rgb.shape.rank is not None and (rgb.shape.rank < 3 or rgb.shape[-1] not in (None, 3)):
        raise ValueError(f"grayscale_score takes (..., H, W, 3) RGB, got shape {tuple(rgb.shape)}")
    if rgb.dtype.is_floating and tf.executing_eagerly():
        color.check_unit_floats(rgb.numpy(), "float RGB")
    red, green, blue = tf.unstack(rgb, axis=-1)
    # |r - g| + |g - b| + |b - r| = 2 (max - min): fewer passes, and exact on integers.
    spread = tf.maximum(tf.maximum(red, green), blue) - tf.minimum(tf.minimum(red, green), blue)
    scale = (2.0 / 3.0) / {tf.uint8: 255.0, tf.uint16: 65535.0}.get(rgb.dtype, 1.0)
    return tf.reduce_mean(tf.cast(spread, tf.float32), axis=[-2, -1]) * scale


def is_grayscale(rgb, threshold=GRAYSCALE_THRESHOLD):
    """Whether an image (or each of a batch) is grayscale or nearly so.

    Example:

    >>> is_grayscale(np.full((8, 8, 3), 128, np.uint8))   # True
    """
    return (grayscale_score(rgb) < threshold).numpy()


def _map_files(function, files):
    """``function(path)`` for each file in order, on a thread pool (PIL decoding releases the GIL)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(function, files))


def find_grayscale(files, threshold=GRAYSCALE_THRESHOLD):
    """The grayscale and near-grayscale photos among ``files``; files :func:`scan_files` skips
    are left out.

    Example:

    >>> gray = set(find_grayscale(image_files("photos/")))
    """
    files, _ = scan_files(files)
    scores = _map_files(lambda path: float(grayscale_score(load_rgb(path))), files)
    return [path for path, score in zip(files, scores) if score < threshold]


# === Colour-biased subsets ===


def _hue_band(hue):
    if isinstance(hue, str):
        if hue not in HUE_BANDS:
            raise ValueError(f"unknown hue {hue!r}; known: {sorted(HUE_BANDS)} or a (low, high) pair in degrees")
        return HUE_BANDS[hue]
    low, high = float(hue[0]), float(hue[1])
    if not (0.0 <= low <= 360.0 and 0.0 <= high <= 360.0):  # (-20, 20) is the band (340, 20) across 0
        low, high = low % 360.0, high % 360.0
    return low, high


def _hue_shares(rgb, hue):
    """``(share of saturated pixels, share of those whose hue lies in the band)``."""
    low, high = _hue_band(hue)
    hsv = skimage.color.rgb2hsv(np.asarray(rgb))
    degrees = hsv[..., 0] * 360.0
    saturated = (hsv[..., 1] >= MIN_SATURATION) & (hsv[..., 2] >= MIN_VALUE)
    in_band = (degrees >= low) & (degrees <= high) if low <= high else (degrees >= low) | (degrees <= high)
    count = saturated.sum()
    return float(saturated.mean()), float((saturated & in_band).sum() / count) if count else 0.0


def hue_fraction(rgb, hue):
    """Fraction of the saturated pixels of ``rgb`` whose hue lies in the band ``hue``.

    Saturated pixels have HSV saturation >= :data:`MIN_SATURATION` and value >=
    :data:`MIN_VALUE`; ``hue`` is a name in :data:`HUE_BANDS` or ``(low, high)`` in degrees
    (wrapping past 360 when ``low > high``). 0 for an image without saturated pixels.

    Example:

    >>> hue_fraction(load_rgb("photos/sea.jpg"), "blue")   # e.g. 0.8
    """
    return _hue_shares(rgb, hue)[1]


def _thumbnail(path, size):
    with Image.open(os.fsdecode(path)) as image:
        image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, much faster
        image.thumbnail((size, size))
        return _pil_to_rgb(image)


def select_by_dominant_hue(files, hue, min_fraction=0.5, min_saturated=0.1, size=64):
    """The files whose saturated pixels are dominated by one hue: the colour-biased training
    subsets of the Chalmers report ("blue", "yellow", "green", "red").

    A photo is kept when at least ``min_saturated`` of its pixels are saturated and at least
    ``min_fraction`` of those lie in the hue band (:func:`hue_fraction`). Photos are judged on
    a thumbnail of at most ``size`` pixels; files :func:`scan_files` skips are left out.

    Example:

    >>> yellow = select_by_dominant_hue(image_files("flowers/"), "yellow")
    >>> data = make_dataset(yellow, 128, 16)
    """
    _hue_band(hue)
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"size must be a positive whole number of pixels, got {size!r}")
    files, _ = scan_files(files)

    def keep(path):
        saturated, in_band = _hue_shares(_thumbnail(path, size), hue)
        return saturated >= min_saturated and in_band >= min_fraction

    return [path for path, selected in zip(files, _map_files(keep, files)) if selected]


# === Geometry ===


def _resize(image, height, width):
    """Area averaging when shrinking (4x cheaper than antialiased bilinear), else bilinear."""
    size = tf.stack([height, width])
    shrinking = tf.reduce_all(size <= tf.shape(image)[:2])
    return tf.cond(
        shrinking,
        lambda: tf.image.resize(image, size, method="area"),
        lambda: tf.image.resize(image, size, antialias=True),
    )


def _to_uint8(image):
    """Resampled pixels (convex combinations of uint8 values, so in [0, 255]) -> rounded uint8."""
    return tf.cast(image + 0.5, tf.uint8)


def _crop_square(image, size, random_values=None):
    """Central (or, given uniform ``random_values``, random) square crop resized to ``size``."""
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    side = tf.minimum(height, width)
    if random_values is None:
        top, left = (height - side) // 2, (width - side) // 2
    else:
        low, high = RANDOM_CROP_SCALE
        scale = low + (high - low) * random_values[0]
        side = tf.maximum(1, tf.cast(tf.cast(side, tf.float32) * scale, tf.int32))
        top = tf.cast(random_values[1] * tf.cast(height - side + 1, tf.float32), tf.int32)
        left = tf.cast(random_values[2] * tf.cast(width - side + 1, tf.float32), tf.int32)
        top, left = tf.minimum(top, height - side), tf.minimum(left, width - side)
    return _to_uint8(_resize(image[top : top + side, left : left + side], size, size))


def _fit(image, size, resize, random_values=None):
    """uint8 ``(h, w, 3)`` -> ``(fitted, content)``: the uint8 ``(size, size, 3)`` image made by the
    ``resize`` mode, and the resized photo inside it (without letterbox borders)."""
    if resize == "pad":  # longer side to ``size``, aspect ratio kept, black borders
        shape = tf.cast(tf.shape(image)[:2], tf.float32)
        new = tf.maximum(1, tf.cast(tf.round(shape * size / tf.reduce_max(shape)), tf.int32))
        content = _to_uint8(_resize(image, new[0], new[1]))
        fitted = tf.image.pad_to_bounding_box(content, (size - new[0]) // 2, (size - new[1]) // 2, size, size)
    elif resize == "resize":
        fitted = content = _to_uint8(_resize(image, size, size))
    else:
        fitted = content = _crop_square(image, size, random_values if resize == "random_crop" else None)
    return tf.ensure_shape(fitted, [size, size, 3]), content


# === Colour conversion (per batch) ===

_CONVERTERS = {}


def _batch_converter(color_space):
    """uint8 RGB batch -> normalised ``(luminance, chroma)``; XLA fuses the whole conversion."""
    if color_space not in _CONVERTERS:

        def convert(batch):
            return color.rgb_to_model_input(batch, color_space)

        _CONVERTERS[color_space] = tf.function(convert, jit_compile=True)
    return _CONVERTERS[color_space]


# === Pipeline ===


def _as_uint8_images(array):
    array = np.asarray(array)
    if array.ndim != 4 or array.shape[-1] != 3 or 0 in array.shape:
        raise ValueError(f"an image array must have shape (N, H, W, 3) with no empty axis, got {array.shape}")
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"an image array must be uint8 or float in [0, 1], got {array.dtype}")
    color.check_unit_floats(array, "a float image array")
    return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)


def _is_image_list(source):
    return isinstance(source, (list, tuple)) and any(isinstance(item, (np.ndarray, tf.Tensor)) for item in source)


def _stacked(images):
    """A list of same-sized (H, W, 3) arrays as one (N, H, W, 3) array."""
    shapes = sorted({tuple(np.shape(image)) for image in images})
    if len(shapes) > 1 or any(isinstance(item, (str, os.PathLike)) for item in images):
        raise ValueError(
            f"a list of images must hold file paths or arrays of one shape, got shapes {shapes[:3]}: pass the "
            "files, or one (N, H, W, 3) array of photos resized to one size"
        )
    return np.stack([np.asarray(image) for image in images])


def _file_source(source):
    files = file_list(source)
    entries, skipped = _scan(files)
    if skipped:
        warnings.warn(_skipped_message(skipped, len(files)), stacklevel=3)
    if not entries:
        where = f"{os.fsdecode(source)}: " if isinstance(source, (str, bytes, os.PathLike)) else ""
        raise ValueError(f"{where}no decodable images among the {len(files)} files given")
    paths = np.array([os.fsencode(path) for path, _ in entries], dtype=object)
    routes = np.array([route for _, route in entries], dtype=np.int32)
    any_converted = bool((routes == _CONVERTED).any())
    elements = tf.data.Dataset.from_tensor_slices({"path": paths, "route": routes})
    return elements, len(entries), lambda item: _decode(item["path"], item["route"], any_converted)


def _kept(image, keep):
    return keep


def _image_only(image, keep):
    return image


NO_PHOTOS = "colorzoo: no colour photo in the source"
_COLOUR, _GRAY, _END = 0, 1, 2  # what an element of one pass is, for :func:`_counted_photos`


def _counted_photos(marked, count):
    """The colour photos of ``marked`` (``(image, kind)`` pairs from a source of ``count``
    decodable photos; ``kind`` is ``_COLOUR`` or ``_GRAY``), with the grayscale ones counted: a
    pass that left any out prints ``colorzoo.data: left out N grayscale photos of the M in this
    pass`` to stderr at its end, and a pass that held no colour photo raises
    ``tf.errors.InvalidArgumentError`` (message starting with :data:`NO_PHOTOS`)."""
    shape = [1 if side is None else side for side in marked.element_spec[0].shape]
    end = tf.data.Dataset.from_tensors((tf.zeros(shape, marked.element_spec[0].dtype), tf.constant(_END)))

    def count_kinds(seen, item):
        image, what = item
        seen += tf.one_hot(what, 3, dtype=tf.int64)
        at_end = tf.equal(what, _END)
        check = tf.debugging.Assert(
            tf.logical_or(tf.logical_not(at_end), seen[_COLOUR] > 0),
            [f"{NO_PHOTOS} (all {count} grayscale or unreadable)"],
        )

        def report():
            with tf.control_dependencies([tf.print(
                "colorzoo.data: left out", seen[_GRAY], "grayscale photos of the",
                seen[_COLOUR] + seen[_GRAY], "in this pass", output_stream=sys.stderr,
            )]):
                return tf.constant(True)

        report = tf.cond(tf.logical_and(at_end, seen[_GRAY] > 0), report, lambda: tf.constant(False))
        with tf.control_dependencies([check, report]):
            return seen, (tf.identity(image), tf.equal(what, _COLOUR))

    passes = marked.concatenate(end)
    return passes.scan(tf.zeros([3], tf.int64), count_kinds).filter(_kept).map(_image_only)


def make_dataset(
    source,
    image_size,
    batch_size,
    color_space="lab",
    resize="center_crop",
    augment=False,
    shuffle=True,
    repeat=False,
    cache=False,
    drop_grayscale=True,
    drop_remainder=False,
    seed=None,
):
    """A ``tf.data.Dataset`` of normalised ``(luminance, chroma)`` float32 batches.

    Args:
        source: a folder (searched recursively), an image file, a list of image files, or an
            array ``(N, H, W, 3)`` (or a list of same-sized ``(H, W, 3)`` arrays) of uint8 or float
            in [0, 1] (converted to 8 bits).
        image_size: side of the square output images.
        batch_size: images per batch (the last batch may be smaller).
        color_space: ``"lab"`` gives ``(L / 100, ab / 128)``, ``"yuv"`` gives ``(Y, UV scaled)``,
            as :func:`colorzoo.color.rgb_to_model_input`.
        resize: ``"center_crop"`` (central square), ``"random_crop"`` (a square of 80-100 % of the
            shorter side at a random place), ``"pad"`` (letterbox: whole image, black borders, as
            the Chalmers report) or ``"resize"`` (stretch to a square).
        augment: random horizontal flips.
        shuffle: reshuffle the files every epoch.
        repeat: repeat forever (use with ``steps_per_epoch``).
        cache: keep decoded images in memory after the first epoch (resized ones, or whole
            decoded images for ``"random_crop"``).
        drop_grayscale: drop photos whose :func:`grayscale_score` is under
            :data:`GRAYSCALE_THRESHOLD`, decided inside the pipeline on each resized photo
            (letterbox borders excluded; on the whole decoded image for ``"random_crop"``). On
            the 13,786 shared training photos at 128 px this agrees with the full-resolution
            list (``grayscale.txt``) on all but one (all but four at 64 px). Each pass that
            left photos out says how many on stderr (``colorzoo.data: left out N grayscale
            photos of the M in this pass``). The verdicts come as the photos are read, so a
            source of grayscale photos only raises
            ``tf.errors.InvalidArgumentError`` (:data:`NO_PHOTOS`) at the end of the first pass
            over it; ``colorzoo.training.train`` refuses it with a ``ValueError`` before the run.
        drop_remainder: leave out a last batch smaller than ``batch_size`` (e.g. so that no
            replica of a distribution strategy gets an empty share).
        seed: makes shuffling, crops and flips reproducible.

    Files that cannot be decoded are skipped and listed once in a warning (see
    :func:`scan_files`); odd but decodable ones (CMYK, 16-bit, palette, RGBA, animated GIF,
    WebP) are converted to RGB.

    Example:

    >>> data = make_dataset("photos/", image_size=128, batch_size=16, augment=True, seed=0)
    >>> model.fit(data, epochs=10)
    """
    color.check_color_space(color_space)
    for key, value in (("image_size", image_size), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{key} must be a positive whole number, got {value!r}")
    if image_size**2 > MAX_PIXELS:
        raise ValueError(f"image_size {image_size} is over the limit of {MAX_PIXELS:,} pixels per image")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(f"seed must be a whole number or None, got {seed!r}")
    if resize not in RESIZE_MODES:
        raise ValueError(f"resize must be one of {RESIZE_MODES}, got {resize!r}")
    if _is_image_list(source):
        source = _stacked(source)
    if isinstance(source, (np.ndarray, tf.Tensor)):
        images = _as_uint8_images(source)
        elements, count, load = tf.data.Dataset.from_tensor_slices(images), len(images), tf.identity
    else:
        elements, count, load = _file_source(source)
    randomized = augment or resize == "random_crop"
    deterministic_resize = resize != "random_crop"
    autotune = tf.data.AUTOTUNE

    def randomize(image, seed_pair):
        values = tf.random.stateless_uniform([4], seed_pair)
        if resize == "random_crop":
            image, _ = _fit(image, image_size, resize, values)
        if augment:
            image = tf.cond(values[3] < 0.5, lambda: tf.reverse(image, [1]), lambda: image)
        return image

    def prepare(item, seed_pair=None):
        image = judged = load(item)
        if deterministic_resize:  # the resized photo is judged: fewer pixels, same verdicts
            image, judged = _fit(image, image_size, resize)
        if seed_pair is not None:
            image = randomize(image, seed_pair)
        if not drop_grayscale:
            return image, tf.constant(_COLOUR)
        return image, tf.where(grayscale_score(judged) >= GRAYSCALE_THRESHOLD, _COLOUR, _GRAY)

    def with_seeds(dataset):
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        return tf.data.Dataset.zip((dataset, seeds))

    def decoded(dataset):
        return dataset.map(prepare, num_parallel_calls=autotune).ignore_errors(log_warning=True)

    # Each pass is checked to hold a photo before it repeats: repeating before the grayscale
    # filter would search a source of grayscale photos for a colour one forever.
    if cache:
        dataset = _counted_photos(decoded(elements), count).cache()
        if shuffle:
            dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            dataset = dataset.repeat()
        if randomized:
            dataset = with_seeds(dataset).map(randomize, num_parallel_calls=autotune)
    else:
        dataset = elements
        if shuffle:
            dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        dataset = _counted_photos(decoded(with_seeds(dataset) if randomized else dataset), count)
        if repeat:
            dataset = dataset.repeat()
    converter = _batch_converter(color_space)
    batches = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return batches.map(converter, num_parallel_calls=autotune).prefetch(autotune)
