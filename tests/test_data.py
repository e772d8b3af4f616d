"""colorzoo.data: file discovery and scanning, the tf.data pipeline, grayscale detection, subsets."""

import os
import random
import struct
import warnings
import zlib

import numpy as np
import pytest
import skimage.data
import tensorflow as tf
from PIL import Image

from colorzoo import color, data

# === Corpus ===

# name -> substring of the reason scan_files gives for skipping it
BROKEN = {
    "truncated.jpg": "cannot decode",
    "truncated.png": "cannot decode",
    "empty.jpg": "empty file",
    "text.jpg": "not an image",
    "bomb.png": "pixels",
    "dangling.jpg": "cannot open",
    "fifo.jpg": "not a regular file",
}


def photo(name, width, height, mode="RGB"):
    return Image.fromarray(getattr(skimage.data, name)()).resize((width, height), Image.BILINEAR).convert(mode)


def png_header(width, height):
    """A PNG that claims ``width`` x ``height`` pixels but holds almost no data."""

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A folder of odd but decodable colour photos, grayscale photos and broken files.

    Returns ``(root, colour, gray, broken)``: lists of paths and a dict path -> reason substring.
    """
    root = str(tmp_path_factory.mktemp("corpus"))
    join = lambda name: os.path.join(root, name)  # noqa: E731
    colour = {
        "rgb.jpg": lambda p: photo("astronaut", 48, 40).save(p),
        "progressive.jpeg": lambda p: photo("coffee", 40, 48).save(p, progressive=True),
        "cmyk.jpg": lambda p: photo("chelsea", 40, 40, "CMYK").save(p),
        "rgba.png": lambda p: photo("rocket", 40, 40, "RGBA").save(p),
        "palette.png": lambda p: photo("astronaut", 40, 40, "P").save(p),
        "palette.bmp": lambda p: photo("coffee", 40, 40, "P").save(p),
        "rgb.bmp": lambda p: photo("chelsea", 40, 40).save(p),
        "rgb16.png": lambda p: tf.io.write_file(
            p, tf.io.encode_png(np.asarray(photo("rocket", 40, 40), np.uint16) * 257)
        ),
        "animated.gif": lambda p: photo("coffee", 40, 40).save(
            p, save_all=True, append_images=[photo("rocket", 40, 40)]
        ),
        "photo.webp": lambda p: photo("chelsea", 40, 40).save(p),
        "photo.tif": lambda p: photo("rocket", 40, 40).save(p),
        "deflate.TIFF": lambda p: photo("astronaut", 40, 40).save(p, compression="tiff_deflate"),
        "one_pixel.png": lambda p: Image.new("RGB", (1, 1), (200, 40, 40)).save(p),
        "strip.jpg": lambda p: photo("astronaut", 3, 500).save(p),
        "UPPER.JPG": lambda p: photo("rocket", 40, 40).save(p),
        "sub/deeper/nested.png": lambda p: photo("coffee", 32, 32).save(p),
        "x.jpg/inside.jpg": lambda p: photo("astronaut", 32, 32).save(p),  # a directory named x.jpg
    }
    gray = {
        "gray.jpg": lambda p: photo("astronaut", 40, 40, "L").save(p),
        "gray16.png": lambda p: Image.fromarray(np.asarray(photo("coffee", 40, 40, "L"), np.uint16) * 257).save(p),
        "near_gray.png": lambda p: Image.fromarray(
            np.asarray(photo("chelsea", 40, 40, "L"))[..., None] + np.array([0, 1, 2], np.uint8)
        ).save(p),
    }
    for name, write in {**colour, **gray}.items():
        os.makedirs(os.path.dirname(join(name)), exist_ok=True)
        write(join(name))
    try:
        non_utf8 = os.fsdecode(os.path.join(os.fsencode(root), b"caf\xe9.jpg"))
        photo("chelsea", 40, 40).save(non_utf8)
        colour[os.path.relpath(non_utf8, root)] = None
    except (OSError, UnicodeError):  # file systems that only allow UTF-8 names
        pass
    whole = open(join("rgb.jpg"), "rb").read()
    open(join("trailing_bytes.jpg"), "wb").write(open(join("UPPER.JPG"), "rb").read() + b"camera trailer")
    colour[os.path.relpath(join("trailing_bytes.jpg"), root)] = None
    open(join("truncated.jpg"), "wb").write(whole[: len(whole) // 2])
    photo("rocket", 40, 40).save(join("full.png"))
    open(join("truncated.png"), "wb").write(open(join("full.png"), "rb").read()[:-200])
    os.remove(join("full.png"))
    open(join("empty.jpg"), "wb").close()
    open(join("text.jpg"), "w").write("not an image\n")
    open(join("bomb.png"), "wb").write(png_header(10000, 10000))
    os.symlink(join("no_such_target.jpg"), join("dangling.jpg"))
    os.mkfifo(join("fifo.jpg"))
    open(join("notes.txt"), "w").write("not listed")
    return (
        root,
        sorted(join(n) for n in colour),
        sorted(join(n) for n in gray),
        {join(name): reason for name, reason in BROKEN.items()},
    )


def count_images(dataset):
    return sum(int(luminance.shape[0]) for luminance, _ in dataset)


def arrays(dataset):
    return [np.concatenate([part.numpy() for part in batch], axis=-1) for batch in dataset]


# === Files ===


def test_image_files_recursive_sorted_case_insensitive(corpus):
    root, colour, gray, broken = corpus
    files = data.image_files(root)
    assert files == sorted(files)
    assert set(files) == set(colour) | set(gray) | set(broken)
    assert os.path.join(root, "UPPER.JPG") in files and os.path.join(root, "x.jpg", "inside.jpg") in files
    with pytest.raises(FileNotFoundError):
        data.image_files(os.path.join(root, "missing"))


def test_image_files_find_every_photo_format_pillow_opens(tmp_path):
    image = Image.new("RGB", (8, 8), (200, 40, 40))
    formats = {"scan.pgm": "PPM", "scan.PPM": "PPM", "web.jfif": "JPEG", "archive.jp2": "JPEG2000", "phone.avif": "AVIF"}
    written = []
    for name, pil_format in formats.items():
        if os.path.splitext(name)[1].lower() in data.IMAGE_EXTENSIONS:  # AVIF and JPEG 2000: optional codecs
            (image.convert("L") if name.endswith(".pgm") else image).save(tmp_path / name, format=pil_format)
            written.append(str(tmp_path / name))
    (tmp_path / "notes.txt").write_text("not a photo")
    assert {".pgm", ".ppm", ".jfif"} <= set(data.IMAGE_EXTENSIONS)  # before: these folders looked empty
    assert data.image_files(str(tmp_path)) == sorted(written)


def test_image_files_follow_linked_folders_once(tmp_path):
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    for name in ("a.jpg", "sub/b.png"):
        (photos / name).write_bytes(b"")
    (photos / "sub" / "loop").symlink_to(photos)  # a link back up the tree ends, not loops
    links = tmp_path / "links"
    links.mkdir()
    (links / "linked_sub").symlink_to(photos / "sub")
    (links / "again").symlink_to(photos / "sub")
    # Through the links: sub once (linked twice) and, through its loop link, the photos folder once.
    assert sorted(map(os.path.basename, data.image_files(str(links)))) == ["a.jpg", "b.png"]
    assert data.image_files(str(photos)) == [str(photos / "a.jpg"), str(photos / "sub" / "b.png")]


def test_scan_files_sorts_good_from_broken_with_reasons(corpus):
    root, colour, gray, broken = corpus
    directory = os.path.join(root, "x.jpg")
    good, skipped = data.scan_files(data.image_files(root) + [directory])
    assert sorted(good) == sorted(colour + gray)
    reasons = dict(skipped)
    assert set(reasons) == set(broken) | {directory}
    assert reasons[directory] == "is a directory"
    for path, expected in broken.items():
        assert expected in reasons[path], (path, reasons[path])


def test_decompression_bomb_beyond_pil_limit_is_skipped(tmp_path):
    path = str(tmp_path / "huge.png")
    open(path, "wb").write(png_header(20000, 20000))  # PIL itself refuses: 2x its limit
    good, [(skipped, reason)] = data.scan_files([path], max_pixels=10**9)
    assert good == [] and skipped == path and reason.startswith("too many pixels")


def test_unreadable_file_is_skipped(corpus, monkeypatch):
    # We run as root, where chmod 000 changes nothing: refuse the open() instead.
    root, colour, _, _ = corpus
    locked = colour[0]

    def refuse(path, *args, **kwargs):
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return open(path, *args, **kwargs)

    monkeypatch.setattr(data, "open", refuse, raising=False)
    good, skipped = data.scan_files(colour)
    assert skipped == [(locked, "no read permission")] and good == colour[1:]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_without_read_permission_is_skipped(tmp_path):
    path = str(tmp_path / "locked.jpg")
    photo("astronaut", 16, 16).save(path)
    os.chmod(path, 0)
    assert data.scan_files([path]) == ([], [(path, "no read permission")])


def test_split_files_deterministic_and_disjoint():
    files = [f"photos/{i:03d}.jpg" for i in range(50)]
    train, val = data.split_files(files, 0.2, seed=1)
    assert len(val) == 10 and sorted(train + val) == files
    assert data.split_files(list(reversed(files)), 0.2, seed=1) == (train, val)
    assert data.split_files(files, 0.2, seed=2)[1] != val
    with pytest.raises(ValueError):
        data.split_files(files, 1.0)


# === Pipeline ===


def test_folder_pipeline_decodes_every_good_file_and_warns_once(corpus):
    root, colour, gray, broken = corpus
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = data.make_dataset(root, 32, 4, shuffle=False)
    messages = [str(w.message) for w in caught if "skipped" in str(w.message)]
    assert len(messages) == 1 and f"skipped {len(broken)} of" in messages[0]
    assert all(os.path.basename(path) in messages[0] for path in broken)
    batches = list(dataset)
    assert sum(len(luminance) for luminance, _ in batches) == len(colour)  # grayscale photos dropped
    for luminance, chroma in batches:
        assert luminance.dtype == tf.float32 and chroma.dtype == tf.float32
        assert luminance.shape[1:] == (32, 32, 1) and chroma.shape[1:] == (32, 32, 2)
        assert 0.0 <= luminance.numpy().min() and luminance.numpy().max() <= 1.0
        assert np.abs(chroma.numpy()).max() <= 1.0


def test_odd_files_decode_like_pil(corpus):
    _, colour, _, _ = corpus
    square = [path for path in colour if Image.open(path).size == (40, 40)]
    assert len(square) >= 10
    dataset = data.make_dataset(square, 40, len(square), resize="resize", shuffle=False)
    luminance, chroma = next(iter(dataset))
    expected = np.stack([data.load_rgb(path) for path in square]) / 255.0
    expected_l, expected_ab = color.rgb_to_model_input(expected)
    np.testing.assert_allclose(luminance, expected_l, atol=1e-3)
    np.testing.assert_allclose(chroma, expected_ab, atol=1e-3)


@pytest.mark.parametrize("extension", [".jpg", ".png"])
def test_exif_orientation_is_applied_like_the_photo_is_shown(tmp_path, extension):
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:10] = (220, 30, 30)  # red top half, blue bottom half as stored
    stored[10:] = (30, 30, 220)
    exif = Image.Exif()
    exif[0x0112] = 3  # shown rotated by 180 degrees: blue on top
    path = str(tmp_path / f"upside_down{extension}")
    Image.fromarray(stored).save(path, exif=exif, quality=95)  # PNG ignores quality
    shown = data.load_rgb(path)
    assert shown[2, 20, 2] > 180 and shown[-3, 20, 0] > 180
    luminance, chroma = next(iter(data.make_dataset([path], 16, 1, resize="resize", shuffle=False)))
    rgb = color.model_output_to_rgb(luminance, chroma).numpy()[0]
    assert rgb[1, 8, 2] > 0.7 and rgb[-2, 8, 0] > 0.7  # blue top, red bottom, as shown


def test_keeping_grayscale_photos_letterboxed(corpus):
    _, colour, gray, _ = corpus
    dataset = data.make_dataset(colour + gray, 16, 8, resize="pad", drop_grayscale=False)
    assert count_images(dataset) == len(colour + gray)


@pytest.mark.parametrize("resize", data.RESIZE_MODES)
def test_resize_modes(resize):
    wide = np.stack([np.asarray(photo(name, 64, 32)) for name in ("astronaut", "coffee")])
    luminance, chroma = next(iter(data.make_dataset(wide, 16, 2, resize=resize, shuffle=False, seed=0)))
    assert luminance.shape == (2, 16, 16, 1) and chroma.shape == (2, 16, 16, 2)
    letterboxed = np.all(luminance.numpy()[:, :4] == 0.0) and np.all(luminance.numpy()[:, -4:] == 0.0)
    assert letterboxed == (resize == "pad")


def test_center_crop_matches_direct_conversion():
    square = np.stack([np.asarray(photo("astronaut", 24, 24)), np.asarray(photo("coffee", 24, 24))])
    wide = np.concatenate([np.zeros((2, 24, 8, 3), np.uint8), square, np.zeros((2, 24, 8, 3), np.uint8)], axis=2)
    luminance, chroma = next(iter(data.make_dataset(wide, 24, 2, shuffle=False, drop_grayscale=False)))
    expected_l, expected_ab = color.rgb_to_model_input(square / 255.0)
    np.testing.assert_allclose(luminance, expected_l, atol=1e-4)
    np.testing.assert_allclose(chroma, expected_ab, atol=1e-4)


def test_yuv():
    images = np.stack([np.asarray(photo("rocket", 24, 24)), np.asarray(photo("chelsea", 24, 24))])
    luminance, chroma = next(iter(data.make_dataset(images, 24, 2, color_space="yuv", shuffle=False)))
    expected_y, expected_uv = color.rgb_to_model_input(images / 255.0, "yuv")
    np.testing.assert_allclose(luminance, expected_y, atol=1e-5)
    np.testing.assert_allclose(chroma, expected_uv, atol=1e-5)
    assert np.abs(chroma.numpy()).max() <= 1.0


def test_uint8_and_float_arrays_agree():
    images = np.stack([np.asarray(photo(name, 20, 20)) for name in ("astronaut", "coffee", "chelsea")])
    as_uint8 = arrays(data.make_dataset(images, 16, 3, shuffle=False))
    as_float = arrays(data.make_dataset(images.astype(np.float32) / 255.0, 16, 3, shuffle=False))
    np.testing.assert_array_equal(as_uint8[0], as_float[0])
    with pytest.raises(ValueError, match="shape"):
        data.make_dataset(images[..., :2], 16, 3)
    with pytest.raises(ValueError, match=r"with no empty axis, got \(0, 20, 20, 3\)"):
        data.make_dataset(images[:0], 16, 3)
    with pytest.raises(ValueError, match=r"must be in \[0, 1\], got values from 0 to 255 .*divide by 255"):
        data.make_dataset(np.concatenate([images, np.full((1, 20, 20, 3), 255)]).astype(np.float32), 16, 3)


def test_a_list_of_same_sized_arrays_is_one_array():
    images = [np.asarray(photo(name, 20, 20)) for name in ("astronaut", "coffee")]
    as_list = arrays(data.make_dataset(images, 16, 2, shuffle=False))
    np.testing.assert_array_equal(as_list[0], arrays(data.make_dataset(np.stack(images), 16, 2, shuffle=False))[0])
    with pytest.raises(ValueError, match=r"file paths or arrays of one shape, got shapes \[\(20, 20, 3\), \(20, 24, 3\)\]"):
        data.make_dataset([images[0], np.asarray(photo("chelsea", 24, 20))], 16, 2)


def test_one_image_file_is_a_one_photo_dataset(tmp_path):
    path = tmp_path / "one.png"
    photo("coffee", 20, 20).save(path)
    batches = arrays(data.make_dataset(str(path), 16, 4))
    assert len(batches) == 1 and batches[0].shape == (1, 16, 16, 3)
    with pytest.raises(FileNotFoundError, match="missing: no such folder"):
        data.make_dataset(str(tmp_path / "missing"), 16, 4)


def test_same_seed_same_batches(corpus):
    _, colour, _, _ = corpus
    options = dict(resize="random_crop", augment=True, shuffle=True, seed=7)
    first = np.concatenate(arrays(data.make_dataset(colour, 16, 4, **options)))
    np.testing.assert_array_equal(first, np.concatenate(arrays(data.make_dataset(colour, 16, 4, **options))))
    other = np.concatenate(arrays(data.make_dataset(colour, 16, 4, **{**options, "seed": 8})))
    assert first.shape == other.shape and not np.array_equal(first, other)


@pytest.mark.parametrize("resize", ["center_crop", "random_crop"])
def test_cache_keeps_the_photos_and_augments_each_pass_anew(corpus, resize):
    _, colour, _, _ = corpus
    count = len(colour)
    dataset = data.make_dataset(colour, 16, 1, resize=resize, augment=True, cache=True, repeat=True, shuffle=False, seed=0)
    passes = np.concatenate(arrays(dataset.take(2 * count))).reshape(2, count, 16, 16, 3)  # two passes, in order
    changed = [not np.array_equal(first, second) for first, second in zip(*passes)]
    assert sum(changed) >= count // 4  # crops and flips are drawn again after the cache (not frozen in it)
    if resize == "center_crop":  # a flip keeps each photo's mean: the same photos in the same order
        np.testing.assert_allclose(passes[0].mean((1, 2, 3)), passes[1].mean((1, 2, 3)), atol=1e-6)


def test_bad_arguments(corpus):
    root, _, _, broken = corpus
    with pytest.raises(ValueError, match="resize"):
        data.make_dataset(root, 16, 2, resize="stretch")
    with pytest.raises(ValueError, match="color_space"):
        data.make_dataset(root, 16, 2, color_space="hsv")
    with pytest.raises(FileNotFoundError):
        data.make_dataset(os.path.join(root, "missing"), 16, 2)
    for image_size, batch_size, wrong in [(0, 2, "image_size .* got 0"), (31.5, 2, "image_size .* got 31.5"),
                                          (16, 0, "batch_size .* got 0"), (16, True, "batch_size .* got True")]:
        with pytest.raises(ValueError, match=f"{wrong}$"):
            data.make_dataset(root, image_size, batch_size)
    with pytest.raises(ValueError, match="no decodable images"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data.make_dataset(list(broken), 16, 2)


# === Grayscale ===


def test_grayscale_score_and_dataset_filter():
    colourful = np.asarray(photo("astronaut", 24, 24))
    gray = np.repeat(np.asarray(photo("coffee", 24, 24, "L"))[..., None], 3, axis=-1)
    tinted = gray.copy()
    tinted[..., 2] = np.minimum(tinted[..., 2].astype(int) + 1, 255)
    assert data.grayscale_score(gray) == 0.0
    assert data.is_grayscale(np.stack([colourful, gray, tinted])).tolist() == [False, True, True]
    assert data.is_grayscale(colourful / 255.0) == data.is_grayscale(colourful)
    kept = arrays(data.make_dataset(np.stack([gray, colourful, tinted]), 24, 3, shuffle=False))
    assert kept[0].shape[0] == 1


@pytest.mark.parametrize("repeat, cache, augment", [(False, False, False), (True, False, False), (True, False, True), (True, True, True)])
def test_a_source_of_grayscale_photos_only_is_an_error_not_an_endless_search(repeat, cache, augment):
    gray = np.repeat(np.asarray(photo("coffee", 24, 24, "L"))[..., None], 3, axis=-1)
    dataset = data.make_dataset(np.stack([gray, gray]), 16, 2, repeat=repeat, cache=cache, augment=augment, seed=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"{data.NO_PHOTOS} \\(all 2 grayscale or unreadable\\)"):
        next(iter(dataset))  # repeated, this searched for a colour photo forever


@pytest.mark.parametrize("cache", [False, True])
def test_each_pass_counts_the_grayscale_photos_it_left_out(capfd, cache):
    colourful = np.stack([np.asarray(photo(name, 24, 24)) for name in ("astronaut", "coffee", "chelsea")])
    gray = np.repeat(np.asarray(photo("coffee", 24, 24, "L"))[..., None], 3, axis=-1)
    dataset = data.make_dataset(np.concatenate([colourful, gray[None], gray[None]]), 16, 2, cache=cache)
    capfd.readouterr()
    for _ in range(2):
        assert sum(len(luminance) for luminance, _ in dataset) == 3
    reports = [line for line in capfd.readouterr().err.splitlines() if line.startswith("colorzoo.data")]
    passes_read = 1 if cache else 2  # a cached dataset reads its photos once
    assert reports == ["colorzoo.data: left out 2 grayscale photos of the 5 in this pass"] * passes_read
    assert sum(len(luminance) for luminance, _ in data.make_dataset(colourful, 16, 2)) == 3
    assert "colorzoo.data" not in capfd.readouterr().err  # nothing left out, nothing said


def test_repeated_passes_each_hold_every_colour_photo_once():
    colourful = np.stack([np.asarray(photo(name, 24, 24)) for name in ("astronaut", "coffee", "chelsea")])
    gray = np.repeat(np.asarray(photo("coffee", 24, 24, "L"))[..., None], 3, axis=-1)
    source = np.concatenate([colourful, gray[None]])
    dataset = data.make_dataset(source, 16, 1, repeat=True, augment=True, seed=0)
    chroma = [tuple(np.round(ab.numpy().mean((0, 1, 2)), 4)) for _, ab in dataset.take(9)]  # a flip keeps the mean
    passes = [sorted(chroma[start:start + 3]) for start in (0, 3, 6)]
    assert passes[0] == passes[1] == passes[2] and len(set(passes[0])) == 3


def test_find_grayscale(corpus):
    _, colour, gray, broken = corpus
    assert data.find_grayscale(colour + gray + list(broken)) == gray


@pytest.mark.shared_data
def test_grayscale_detector_agrees_with_the_shared_list(shared_data):
    listed = {line.strip() for line in open(os.path.join(shared_data, "grayscale.txt")) if line.strip()}
    files = data.image_files(os.path.join(shared_data, "train"))
    relative = {path: os.path.relpath(path, shared_data) for path in files}
    rng = random.Random(0)
    gray = rng.sample(sorted(p for p in files if relative[p] in listed), 150)
    colour = rng.sample(sorted(p for p in files if relative[p] not in listed), 150)
    found = set(data.find_grayscale(gray + colour))
    assert (sum(p in found for p in gray) + sum(p not in found for p in colour)) / 300 >= 0.97
    # the same decision inside the pipeline, on TensorFlow's decoding
    kept_colour = count_images(data.make_dataset(colour, 64, 50, shuffle=False))
    kept_gray = count_images(data.make_dataset(gray + colour, 64, 50, shuffle=False)) - kept_colour  # gray alone: error
    assert (150 - kept_gray + kept_colour) / 300 >= 0.97


# === Colour-biased subsets ===


def test_select_by_dominant_hue(tmp_path):
    rng = np.random.default_rng(0)
    tints = {"blue": (40, 90, 210), "yellow": (230, 210, 40), "green": (50, 170, 60), "red": (210, 30, 40)}
    files = {}
    for name, rgb in {**tints, "gray": (128, 128, 128)}.items():
        pixels = np.clip(np.array(rgb) + rng.integers(-15, 16, (32, 32, 3)), 0, 255).astype(np.uint8)
        files[name] = str(tmp_path / f"{name}.png")
        Image.fromarray(pixels).save(files[name])
    for hue in tints:
        assert data.select_by_dominant_hue(list(files.values()), hue) == [files[hue]]
    assert data.select_by_dominant_hue(list(files.values()), (180.0, 270.0)) == [files["blue"]]
    half = np.concatenate([np.full((8, 4, 3), tints[hue], np.uint8) for hue in ("blue", "yellow")], axis=1)
    assert data.hue_fraction(half, "blue") == pytest.approx(0.5)
    with pytest.raises(ValueError, match="hue"):
        data.select_by_dominant_hue(list(files.values()), "purple")
    # A folder, a pathlib path or bytes read like the list of its photos (before: a folder string was
    # read one character at a time: [] without a word, or a TypeError for a pathlib path)
    for folder in (str(tmp_path), tmp_path, os.fsencode(tmp_path)):
        assert data.select_by_dominant_hue(folder, "blue") == [files["blue"]]
        assert data.scan_files(folder) == (sorted(files.values()), [])
        assert data.split_files(folder, 0.4) == data.split_files(sorted(files.values()), 0.4)
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(flat / "gray.png")
    Image.open(files["blue"]).save(flat / "blue.png")
    assert data.find_grayscale(str(flat)) == [str(flat / "gray.png")]
    assert data.file_list(files["red"]) == [files["red"]]
    with pytest.raises(FileNotFoundError, match="no such folder"):
        data.find_grayscale(str(tmp_path / "missing"))


def test_grayscale_scores_read_each_dtype_and_shape_as_what_it_is():
    """Before: uint16 was scored on the 0-65535 scale, (H, W) gray images failed to unpack."""
    near_gray = np.broadcast_to(np.array([1000, 1010, 1000], np.uint16), (8, 8, 3))
    assert data.is_grayscale(near_gray) and float(data.grayscale_score(near_gray)) < 1e-3
    assert data.is_grayscale(np.full((8, 8), 100, np.uint8))  # load_image's gray photo
    with pytest.raises(ValueError, match=r"takes \(..., H, W, 3\) RGB, got shape \(8, 8, 4\)"):
        data.is_grayscale(np.full((8, 8, 4), 100, np.uint8))
    with pytest.raises(ValueError, match="0-255 data"):
        data.is_grayscale(np.full((8, 8, 3), 100.0))


def test_hue_bands_in_negative_degrees_wrap_round_and_a_zero_thumbnail_is_refused(tmp_path):
    red = np.broadcast_to(np.array([230, 20, 60], np.uint8), (8, 8, 3))  # hue about 350 degrees
    assert data.hue_fraction(red, (-20, 20)) == data.hue_fraction(red, "red") == 1.0  # before: 0.0
    assert data.hue_fraction(red, (0, 360)) == 1.0
    with pytest.raises(ValueError, match="size must be a positive whole number"):
        data.select_by_dominant_hue([], "red", size=0)  # before: ZeroDivisionError in PIL


@pytest.mark.parametrize("options, message", [
    ({"seed": "a"}, "seed must be a whole number or None, got 'a'"),
    ({"seed": 1.5}, "seed must be a whole number or None, got 1.5"),
    ({"image_size": 100_000}, "image_size 100000 is over the limit"),  # before: out of memory in TensorFlow
])
def test_make_dataset_refuses_a_wrong_seed_or_a_huge_size(options, message):
    settings = {"image_size": 16, "batch_size": 2, **options}
    with pytest.raises(ValueError, match=message):
        data.make_dataset(np.zeros((2, 8, 8, 3), np.uint8), augment=True, **settings)
