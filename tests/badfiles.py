"""The bad-input corpus: the messy photo folders and strangers' model files colorzoo must survive.

Everything is written at test time into a temporary folder (no binary is committed), small and
fast: the 20000 x 20000 "decompression bomb" is a valid 1-bit PNG of 49 kB.

Example:

>>> paths = write_corpus(tmp_path / "messy")       # name -> path, see ENTRIES
>>> with deny_reads(paths["unreadable.jpg"]):       # what chmod 000 would do, even as root
...     data.scan_files([paths["unreadable.jpg"]])
"""

import builtins
import contextlib
import json
import os
import struct
import zipfile
import zlib

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

import colorzoo
from tests.photos import photo_array

NON_UTF8_NAME = b"caf\xe9 \xff.jpg"  # Latin-1 bytes: not valid UTF-8, a str only via surrogateescape

# name -> what it is. Every entry is a file (or, for "x.jpg", a folder) directly in the corpus root.
ENTRIES = {
    "good.jpg": "an ordinary colour JPEG (the control)",
    "truncated.jpg": "the first half of a JPEG (an interrupted download)",
    "corrupt_inside.jpg": "a JPEG whose middle third is overwritten: its start and end look right",
    "corrupt_inside.png": "a PNG whose middle third is overwritten: its start and end look right",
    "empty.jpg": "a zero-byte file",
    "text.jpg": "a text file named .jpg",
    "cmyk.jpg": "a CMYK JPEG (print workflows)",
    "rgb16.png": "a 16-bit-per-channel RGB PNG",
    "rgba.png": "an RGBA PNG with a transparent half",
    "palette.png": "a palette (mode P) PNG",
    "animated.gif": "an animated GIF of two frames",
    "one_pixel.png": "a 1 x 1 image",
    "strip.jpg": "a 3 x 500 image",
    "exif_rotated.jpg": "a JPEG stored 60 x 40 with EXIF orientation 6 (shown 40 x 60)",
    "non_utf8": "a JPEG whose file name is not valid UTF-8 (bytes b'caf\\xe9 \\xff.jpg')",
    "bomb.png": "a 20000 x 20000 PNG (a decompression bomb: 400 Mpixels in 49 kB)",
    "big.png": "a 10000 x 10000 PNG: over colorzoo's 89 Mpixel limit, under PIL's hard one",
    "x.jpg": "a folder named like an image, holding one photo (inside.png)",
    "unreadable.jpg": "a good JPEG that cannot be read (chmod 000; simulated with deny_reads, we run as root)",
    "fifo.jpg": "a named pipe called .jpg (opening it for reading blocks forever)",
    "dangling.jpg": "a symbolic link to a file that does not exist",
}


def _chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def constant_png(width, height):
    """A complete, valid, all-black 1-bit PNG of ``width`` x ``height``; cheap at any size."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed pixels
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, grayscale
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def _photo(width, height, name="astronaut", mode="RGB"):
    return Image.fromarray(photo_array(width, height, name)).convert(mode)


def _rgba(path):
    pixels = np.asarray(_photo(40, 40, "coffee", "RGBA")).copy()
    pixels[:, 20:, 3] = 0
    Image.fromarray(pixels).save(path)


def _exif_rotated(path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show
    _photo(60, 40, "rocket").save(path, exif=exif)


def _rgb16(path):
    tf.io.write_file(path, tf.io.encode_png(photo_array(40, 40, "rocket").astype(np.uint16) * 257))  # PIL cannot


def _animated(path):
    _photo(40, 40, "coffee").save(path, save_all=True, append_images=[_photo(40, 40, "rocket")])


def _truncated(path):
    _photo(64, 48, "chelsea").save(path)
    whole = open(path, "rb").read()
    open(path, "wb").write(whole[: len(whole) // 2])


def _corrupt_inside(path):
    _photo(64, 48, "chelsea").save(path, quality=95)  # PNG ignores quality
    whole = open(path, "rb").read()
    third = len(whole) // 3
    open(path, "wb").write(whole[:third] + b"\xff" * third + whole[2 * third :])


WRITERS = {
    "good.jpg": lambda path: _photo(64, 48).save(path, quality=95),
    "truncated.jpg": _truncated,
    "corrupt_inside.jpg": _corrupt_inside,
    "corrupt_inside.png": _corrupt_inside,
    "empty.jpg": lambda path: open(path, "wb").close(),
    "text.jpg": lambda path: open(path, "w").write("this is not an image\n"),
    "cmyk.jpg": lambda path: _photo(40, 40, "chelsea", "CMYK").save(path),
    "rgb16.png": _rgb16,
    "rgba.png": _rgba,
    "palette.png": lambda path: _photo(40, 40, "astronaut", "P").save(path),
    "animated.gif": _animated,
    "one_pixel.png": lambda path: Image.new("RGB", (1, 1), (200, 40, 40)).save(path),
    "strip.jpg": lambda path: _photo(3, 500, "astronaut").save(path),
    "exif_rotated.jpg": _exif_rotated,
    "non_utf8": lambda path: _photo(40, 40, "chelsea").save(path, format="JPEG"),
    "bomb.png": lambda path: open(path, "wb").write(constant_png(20000, 20000)),
    "big.png": lambda path: open(path, "wb").write(constant_png(10000, 10000)),
    "x.jpg": lambda path: (os.mkdir(path), _photo(32, 32, "coffee").save(os.path.join(path, "inside.png"))),
    "unreadable.jpg": lambda path: _photo(40, 40, "coffee").save(path),
    "fifo.jpg": os.mkfifo,
    "dangling.jpg": lambda path: os.symlink(path + ".gone", path),
}


def corpus_path(root, name):
    """Where entry ``name`` lives under ``root`` (the non-UTF-8 one as a surrogate-escaped str)."""
    if name == "non_utf8":
        return os.fsdecode(os.path.join(os.fsencode(os.fspath(root)), NON_UTF8_NAME))
    return os.path.join(os.fspath(root), name)


def write_corpus(root, names=None):
    """Write the entries ``names`` (default: all of :data:`ENTRIES`) into ``root``; name -> path."""
    os.makedirs(root, exist_ok=True)
    paths = {}
    for name in names or ENTRIES:
        paths[name] = corpus_path(root, name)
        WRITERS[name](paths[name])
    return paths


@contextlib.contextmanager
def deny_reads(*paths):
    """Make ``open`` (and so PIL) raise ``PermissionError`` for ``paths``, as chmod 000 does for
    anyone but root. In-process only: TensorFlow's own file reads and subprocesses are unaffected."""
    denied = {os.fsencode(os.path.abspath(path)) for path in paths}
    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and os.fsencode(os.path.abspath(file)) in denied:
            raise PermissionError(13, "Permission denied", os.fsdecode(file))
        return real_open(file, *args, **kwargs)

    builtins.open = guarded
    try:
        yield
    finally:
        builtins.open = real_open


# === Model files ===


def tiny_model(path=None, image_size=32, width=0.125, seed=0):
    """A small ``unet_sequential`` (97,532 parameters at 32 px, width 0.125), saved to ``path`` when given."""
    keras.utils.set_random_seed(seed)
    model = colorzoo.build_model("unet_sequential", image_size=image_size, width=width)
    if path is not None:
        model.save(path)
    return model


def rgb_input_model(path):
    """A plain ``.keras`` model that takes RGB, not luminance: loads, but is no colorization model."""
    inputs = keras.Input((32, 32, 3))
    keras.Model(inputs, keras.layers.Conv2D(2, 3, padding="same")(inputs)).save(path)
    return path


def rgb_output_model(path):
    """A plain ``.keras`` model from luminance to three channels: loads, but predicts no chroma."""
    inputs = keras.Input((32, 32, 1))
    keras.Model(inputs, keras.layers.Conv2D(3, 3, padding="same")(inputs)).save(path)
    return path


def lambda_model(path, marker):
    """A ``.keras`` file whose Lambda layer, if ever run, writes the file ``marker``."""

    # Only the defaults and the code are stored: the marker path travels as a default argument.
    function = lambda x, marker=os.fspath(marker): (open(marker, "w").write("the Lambda ran"), x)[1]  # noqa: E731
    inputs = keras.Input((32, 32, 1))
    hidden = keras.layers.Lambda(function, name="evil")(inputs)
    outputs = keras.layers.Conv2D(2, 3, padding="same", name="ab")(hidden)
    model = keras.Model(inputs, outputs, name="unet_sequential")
    if os.path.exists(marker):  # building ran the function once; only loading is under test
        os.remove(marker)
    model.save(path)
    return path


def edit_config(source, path, edit, member="config.json"):
    """Copy the ``.keras`` archive ``source`` to ``path`` with ``edit(config_dict)`` applied to config.json
    (or another JSON ``member``)."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members[member])
    edit(config)
    members[member] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def unknown_class_model(source, path):
    """``source`` with its first convolution turned into a class that exists nowhere."""

    def edit(config):
        layer = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Conv2D")
        layer.update(class_name="NoSuchLayer", module="colorzoo.not_there", registered_name="colorzoo>NoSuchLayer")

    return edit_config(source, path, edit)


def newer_keras_model(source, path):
    """``source`` as a future Keras would save it: an initializer argument this Keras does not take
    (as keras 3.15's ``input_axes`` broke keras 3.14) and ``metadata.json`` naming that Keras."""

    def edit(config):
        _first_conv(config)["config"]["kernel_initializer"]["config"]["future_argument"] = 1

    edit_config(source, path, edit)
    return edit_config(path, path, lambda metadata: metadata.update(keras_version="99.1.0"), member="metadata.json")


def _first_conv(config):
    return next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Conv2D")


def foreign_function_model(source, path):
    """``source`` whose first convolution's activation is ``os.system``."""

    def edit(config):
        _first_conv(config)["config"]["activation"] = {
            "module": "os", "class_name": "function", "config": "system", "registered_name": None,
        }

    return edit_config(source, path, edit)


def foreign_module_model(source, path, module="this"):
    """``source`` whose first convolution's activation lives in ``module``: importing ``this``
    prints the Zen of Python, so whether it was imported is visible in ``sys.modules``."""

    def edit(config):
        _first_conv(config)["config"]["activation"] = {
            "module": module, "class_name": "function", "config": "s", "registered_name": None,
        }

    return edit_config(source, path, edit)


def truncated_archive(source, path):
    """The first half of the ``.keras`` file ``source``: an interrupted download."""
    content = open(source, "rb").read()
    open(path, "wb").write(content[: len(content) // 2])
    return path


def nan_model(path, model=None):
    """A tiny ``unet_sequential`` (or ``model``) whose weights are all NaN (a diverged run's checkpoint)."""
    model = model or tiny_model()
    model.set_weights([np.full_like(weight, np.nan) for weight in model.get_weights()])
    model.save(path)
    return path
