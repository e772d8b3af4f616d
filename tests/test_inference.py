"""Full-resolution colorization: sizes, input modes, EXIF, luminance kept, safe batch writing."""

import io
import logging
import os
import warnings

import keras
import numpy as np
import pytest
import skimage.color
import tensorflow as tf
import skimage.data
from PIL import Image

import colorzoo
from colorzoo import color, files, inference, metrics



@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return colorzoo.build_model("unet_sequential", image_size=64, width=0.125)


def photo(width=517, height=333, name="astronaut"):
    return Image.fromarray(getattr(skimage.data, name)()).resize((width, height))


def lightness(rgb):
    return skimage.color.rgb2lab(inference.to_float_rgb(rgb))[..., 0]


def assert_keeps_lightness(source, output):
    assert output.dtype == np.uint8 and output.shape == (*source.shape[:2], 3)
    assert np.abs(lightness(output) - lightness(source)).max() <= 1.0


@pytest.mark.parametrize("size", [(517, 333), (333, 517), (3000, 2), (1, 1)])
def test_any_size_keeps_full_resolution_lightness(model, tmp_path, size):
    path = tmp_path / "photo.png"
    photo(*size).save(path)
    output = inference.colorize(model, path)
    assert output.shape == (size[1], size[0], 3)
    assert_keeps_lightness(np.asarray(Image.open(path)), output)


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "I;16", "uint8 array", "float array", "PIL RGB"])
def test_input_modes(model, tmp_path, mode):
    rgb = photo(90, 70, "coffee")
    if mode in ("RGBA", "P", "L"):
        rgb.convert(mode).save(tmp_path / "image.png")
        image = tmp_path / "image.png"
        source = np.asarray(Image.open(image).convert("RGB"))
    elif mode == "I;16":
        gray = (np.asarray(rgb.convert("L"), np.uint16) * 257 + 100).astype(np.uint16)
        Image.fromarray(gray).save(tmp_path / "image.png")
        image = tmp_path / "image.png"
        source = gray.astype(np.float32) / 65535
    elif mode == "uint8 array":
        image = source = np.asarray(rgb.convert("L"))
    elif mode == "float array":
        image = source = np.asarray(rgb, np.float32) / 255
    else:
        image, source = rgb, np.asarray(rgb)
    assert_keeps_lightness(source, inference.colorize(model, image))


def test_arrays_with_alpha_or_one_channel_colorize_like_their_rgb_or_gray(model):
    rgb = np.asarray(photo(90, 70, "coffee"))
    gray = np.asarray(photo(90, 70, "coffee").convert("L"))
    transparent = np.zeros(gray.shape, np.uint8)
    expected_rgb, expected_gray = inference.colorize(model, rgb), inference.colorize(model, gray)
    np.testing.assert_array_equal(inference.colorize(model, np.dstack([rgb, transparent])), expected_rgb)
    np.testing.assert_array_equal(inference.colorize(model, gray[..., None]), expected_gray)
    np.testing.assert_array_equal(inference.colorize(model, np.dstack([gray, transparent])), expected_gray)
    for shape in [(90, 70, 5), (90,), (0, 70, 3), (2, 90, 70, 3)]:
        with pytest.raises(ValueError, match="expected an"):
            inference.colorize(model, np.zeros(shape, np.uint8))


def test_paths_as_bytes_and_open_files_read_like_paths(model, tmp_path):
    path = tmp_path / "photo.png"
    photo(40, 30).save(path)
    expected = inference.colorize(model, str(path))
    np.testing.assert_array_equal(inference.colorize(model, os.fsencode(path)), expected)
    np.testing.assert_array_equal(inference.colorize(model, io.BytesIO(path.read_bytes())), expected)
    with open(path, "rb") as opened:
        np.testing.assert_array_equal(inference.colorize(model, opened), expected)
        assert not opened.closed  # the caller's file stays the caller's
    with pytest.raises(ValueError, match=r"a whole number of pixels or a \(height, width\) pair of them, got \(8,\)"):
        inference.colorize(model, expected, size=(8,))


def test_sixteen_bit_precision_is_kept():
    gray = np.arange(0, 65536, 257 // 2, dtype=np.uint16)[None, :].repeat(3, axis=0)
    pixels = inference.load_image(Image.fromarray(gray))
    assert pixels.dtype == np.uint16
    np.testing.assert_array_equal(pixels, gray)


def test_exif_orientation_is_applied(model, tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated by 90 degrees
    photo(60, 40).save(path, exif=exif)
    assert inference.colorize(model, path).shape == (60, 40, 3)


@pytest.mark.parametrize("value", [0, 255])
def test_black_and_white_images(model, value):
    image = np.full((50, 70), value, np.uint8)
    assert np.isfinite(inference.predict_chroma(model, inference.luminance_of(image))).all()
    output = inference.colorize(model, image)
    assert np.abs(lightness(output) - (100.0 if value else 0.0)).max() <= 1.0


def test_out_of_gamut_chroma_keeps_lightness():
    luminance = np.array([[0.95, 0.5, 0.05]], np.float32)
    chroma = np.array([[[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]]], np.float32)
    rgb = inference.recombine(luminance, chroma, "lab")
    np.testing.assert_allclose(lightness(rgb)[0], [95.0, 50.0, 5.0], atol=0.5)
    assert metrics.colorfulness(rgb) > 0  # chroma shrunk, not dropped


def test_recombine_takes_doubles_and_checks_shapes():
    luminance = np.array([[0.95, 0.5, 0.05]])  # float64, as skimage's rgb2lab(...)[..., 0] / 100
    chroma = np.array([[[0.2, 0.1], [-0.1, 0.3], [0.0, 0.0]]])
    np.testing.assert_array_equal(
        inference.recombine(luminance, chroma), inference.recombine(luminance.astype(np.float32), chroma.astype(np.float32))
    )
    with pytest.raises(ValueError, match=r"luminance \(H, W\) and chroma \(H, W, 2\), got \(1, 3\) and \(1, 3, 3\)"):
        inference.recombine(luminance, np.zeros((1, 3, 3)))


@pytest.mark.parametrize("count", [1, 65_535, 65_537, 300_000, 1 << 20, (1 << 20) + 5, 4_000_000])
def test_conversion_blocks_cover_the_pixels_padding_only_the_last(count):
    blocks = inference._blocks(count)
    assert [start for start, _, _ in blocks] == [0] + [stop for _, stop, _ in blocks[:-1]]
    assert blocks[-1][1] == count
    assert all(stop - start == size for start, stop, size in blocks[:-1])
    assert 0 <= blocks[-1][2] - (count - blocks[-1][0]) < inference.MIN_BLOCK
    assert {size for _, _, size in blocks} <= {inference.MIN_BLOCK << k for k in range(5)}


def test_out_of_gamut_chroma_is_shrunk_as_little_as_possible():
    rng = np.random.default_rng(0)
    luminance = rng.uniform(0.1, 0.9, (200, 1)).astype(np.float32)
    chroma = rng.normal(0.0, 0.6, (200, 2)).astype(np.float32)
    # Reference: just below the first of 1,025 scales in [0, 1] whose clipped colour changes L.
    scales = np.linspace(0.0, 1.0, 1025, dtype=np.float32)
    tiled = np.repeat(luminance[None], len(scales), 0)
    changed = np.abs(color.clipped_luminance(tiled, chroma[None] * scales[:, None, None]).numpy() - tiled)[..., 0]
    first_change = np.where((changed > inference.GAMUT_TOLERANCE).any(0), (changed > inference.GAMUT_TOLERANCE).argmax(0), 1025)
    best = scales[np.maximum(first_change - 1, 0)]
    expected = np.rint(color.model_output_to_rgb(luminance, chroma * best[:, None]).numpy() * 255)
    assert (best < 1).mean() > 0.3
    rgb = inference.recombine(luminance, chroma[:, None], "lab")[:, 0]
    np.testing.assert_allclose(lightness(rgb[None])[0], luminance[:, 0] * 100, atol=0.6)  # uint8 rounding
    # Bisection to 1/256 of the chroma; where L is not monotonic in the scale it may stop later.
    assert np.mean(np.abs(rgb - expected).max(-1) <= 3) >= 0.97


def test_one_traced_graph_runs_every_run_shape_without_rebuilds():
    keras.utils.set_random_seed(0)
    model = colorzoo.build_model("unet_sequential", image_size=64, width=0.125)
    for shape in [(64, 64), (128, 128), (333, 500), (666, 1000), (500, 333), (300, 900)]:
        inference.colorize(model, np.zeros(shape, np.uint8))
    any_size, per_shape = inference._any_size(model)
    assert any_size.input_shape == (None, None, None, 1) and not per_shape
    assert inference.traced_predictor(any_size).experimental_get_tracing_count() == 1  # squares, 3:2, 2:3 and 3:1
    assert model not in inference._PREDICTORS  # not even traced at its built size
    assert model not in inference._REBUILT  # before: one rebuild (and one Keras node per layer) per run shape
    luminance = np.random.default_rng(0).uniform(0, 1, (1, 56, 80, 1)).astype(np.float32)
    np.testing.assert_allclose(inference.traced_predictor(any_size)(luminance),
                               inference.at_input_size(model, (56, 80))(luminance, training=False), atol=1e-6)


def bilinear_model(size):
    """A model whose Keras bilinear UpSampling2D cannot be traced at unknown sizes (keras-team/keras#22079)."""
    inputs = keras.Input((size, size, 1))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inputs)
    outputs = keras.layers.Conv2D(2, 3, padding="same")(keras.layers.UpSampling2D(2, interpolation="bilinear")(x))
    return keras.Model(inputs, outputs, name=f"bilinear_{size}")


def node_count(model):
    return sum(len(layer._inbound_nodes) for layer in model._flatten_layers(include_self=False))


def test_models_that_cannot_be_traced_at_unknown_sizes_are_traced_per_run_shape_without_rebuilds():
    keras.utils.set_random_seed(3)
    fixed = bilinear_model(64)
    nodes = node_count(fixed)
    shapes = [(64, 96), (96, 64), *[(32, 32 * width) for width in range(1, inference.REBUILT_PER_MODEL + 1)]]
    gray = np.random.default_rng(0).uniform(0, 1, (60, 80)).astype(np.float32)
    chroma = {shape: inference.predict_chroma(fixed, gray, size=shape) for shape in shapes}
    any_size, per_shape = inference._any_size(fixed)
    assert per_shape and fixed not in inference._REBUILT
    # before: a rebuild per shape, each adding a Keras node to every layer for the model's life (and
    # again for a shape evicted from the cache); now the one graph at any size adds one, once
    assert node_count(fixed) == nodes + len(fixed.layers) - 1  # one per layer but the Input (it has its own)
    traced = inference._PREDICTORS[any_size][1]
    assert len([shape for shape in traced if shape is not None]) == inference.REBUILT_PER_MODEL  # the latest
    assert (64, 96) not in traced and shapes[-1] in traced
    for shape in [(64, 96), (32, 160)]:
        small = tf.image.resize(gray[None, :, :, None], shape, antialias=True)
        expected = tf.image.resize(inference.at_input_size(fixed, shape)(small, training=False)[0], (60, 80))
        np.testing.assert_allclose(chroma[shape], expected, atol=1e-6)
    # A flexible input with such a layer (before: OperatorNotAllowedInGraphError from deep in TensorFlow).
    flexible = inference._sharing_layers(fixed, (None, None))
    assert inference.colorize(flexible, np.zeros((50, 70), np.uint8), size=(32, 64)).shape == (50, 70, 3)
    assert inference._any_size(flexible) == (flexible, True) and flexible not in inference._REBUILT
    assert list(inference._PREDICTORS[flexible][1]) == [None, (32, 64)]  # None: the failed trace at any size


def test_a_per_shape_model_keeps_its_built_size_traced_while_other_shapes_come_and_go():
    model = bilinear_model(64)
    gray = np.zeros((40, 40), np.float32)
    for width in range(1, inference.REBUILT_PER_MODEL + 4):
        inference.predict_chroma(model, gray)  # a square photo: the model's built size, by its own function
        inference.predict_chroma(model, gray, size=(32, 32 * width))
    assert inference.traced_predictor(model).experimental_get_tracing_count() == 1  # never dropped and traced again


def test_a_model_with_two_outputs_colorizes_with_the_first_at_every_run_shape():
    keras.utils.set_random_seed(4)
    for interpolation in ("bilinear", "nearest"):
        inputs = keras.Input((64, 64, 1))
        x = keras.layers.Conv2D(4, 3, strides=2, padding="same")(inputs)
        x = keras.layers.UpSampling2D(2, interpolation=interpolation)(x)
        model = keras.Model(inputs, [keras.layers.Conv2D(2, 3, padding="same", name="ab")(x), keras.layers.Conv2D(1, 1)(x)])
        gray = np.random.default_rng(0).uniform(0, 1, (60, 90)).astype(np.float32)
        small = tf.image.resize(gray[None, :, :, None], (64, 96), antialias=True)
        expected = tf.image.resize(inference.at_input_size(model, (64, 96))(small)[0][0], (60, 90))
        # before: TypeError (unsupported operand type(s) for /: 'tuple' and 'int') at every shape but the built one
        np.testing.assert_allclose(inference.predict_chroma(model, gray, size=(64, 96)), expected, atol=1e-6)


def test_a_shape_a_flexible_model_rejects_while_traced_per_shape_is_a_run_shape_error():
    inputs = keras.Input((None, None, 1))  # halves 64 times: unregistered, its stride is taken for 32
    x = keras.layers.Conv2D(2, 1, strides=64, padding="same")(inputs)
    x = keras.layers.UpSampling2D(64, interpolation="bilinear")(x)
    outputs = keras.layers.Conv2D(2, 1, name="ab")(keras.layers.Concatenate()([x, inputs]))
    model = keras.Model(inputs, outputs, name="flexible_bilinear")
    with pytest.raises(inference.RunShapeError, match=r"flexible_bilinear failed at 96x96 \(.*128.*96.*register_model"):
        inference.colorize(model, np.zeros((100, 100), np.uint8), size=96)  # before: Keras's ValueError from its trace


def test_one_function_per_run_shape_is_not_reported_as_retracing(caplog):
    model = bilinear_model(64)  # traced per run shape, each shape with its own traced function
    for width in range(1, 6):
        inference.colorize(model, np.zeros((40, 40), np.uint8), size=(64, 32 * width))
    assert len(inference._PREDICTORS[inference._any_size(model)[0]][1]) == 5  # 4 shapes (and 64 x 64, its built size,
    # by its own function) and the failed trace at unknown sizes
    assert not [record for record in caplog.records if "retracing" in record.getMessage()]
    # TensorFlow warns at most twice per traced code, so the filter itself is checked too (test order)
    warning = "5 out of the last 5 calls to <function _traced_call.<locals>.predict at 0x7f> triggered tf.function retracing."
    assert not inference._ExpectedRetracing().filter(logging.LogRecord("tf", logging.WARNING, "", 0, warning, None, None))

    @tf.function
    def user_function(x):  # the warning about anyone else's function still reaches them
        return x + 1

    for length in range(1, 8):
        user_function(tf.zeros(length))
    assert any("user_function" in record.getMessage() for record in caplog.records)


def test_run_size():
    inputs = keras.Input((None, None, 1))
    outputs = keras.layers.Conv2D(2, 3, padding="same", name="ab")(inputs)
    flexible = keras.Model(inputs, outputs, name="unet_sequential")  # stride 8, native 256
    assert inference.run_size(flexible) == (256, 256)
    assert inference.run_size(flexible, 101) == (104, 104)
    assert inference.run_size(flexible, (58, 3)) == (56, 8)
    fixed = colorzoo.build_model("unet_sequential", image_size=64, width=0.125)
    assert inference.run_size(fixed) == (64, 64)
    assert inference.run_size(fixed, 101) == (104, 104)
    # A photo keeps its aspect ratio at about the pixel count of the square.
    assert inference.run_size(fixed, image_shape=(333, 500)) == (56, 80)
    assert inference.run_size(fixed, 128, image_shape=(1000, 250)) == (256, 64)
    assert inference.run_size(fixed, (64, 64), image_shape=(333, 500)) == (64, 64)  # a pair is used as given
    assert inference.run_size(fixed, image_shape=(3, 10_000)) == (32, 128)  # at most 4:1
    assert inference.run_size(flexible, image_shape=(300, 300)) == (256, 256)


def test_rebuilt_models_are_cached_for_the_latest_shapes(model):
    shapes = [(32, 8 * width) for width in range(1, inference.REBUILT_PER_MODEL + 2)]
    first = inference.at_input_size(model, shapes[0])
    for shape in shapes[1:]:
        inference.at_input_size(model, shape)
    assert list(inference._REBUILT[model]) == shapes[1:]  # the oldest shape was dropped
    assert inference.at_input_size(model, shapes[0]) is not first


@pytest.mark.parametrize("name", ["unet_sequential", "zhang_classification"])
def test_model_built_at_one_size_runs_at_another(name):
    keras.utils.set_random_seed(1)
    small = colorzoo.build_model(name, image_size=64, width=0.125)
    assert inference.at_input_size(small, (64, 64)) is small
    rebuilt = inference.at_input_size(small, (128, 128))
    assert rebuilt is inference.at_input_size(small, (128, 128))  # cached
    reference = colorzoo.build_model(name, image_size=128, width=0.125)
    reference.set_weights(small.get_weights())
    luminance = np.random.default_rng(0).uniform(-1, 1, (1, 128, 128, 1)).astype(np.float32)
    # Same layers, same weights: exactly the model built at that size.
    np.testing.assert_allclose(rebuilt(luminance, training=False), reference(luminance, training=False), atol=1e-6)
    wide = inference.at_input_size(small, (96, 160))
    assert wide.output_shape[1:3] == tuple(side * small.output_shape[1] // 64 for side in (96, 160))
    assert inference.colorize(small, np.asarray(photo(90, 70)), size=96).shape == (70, 90, 3)


def test_rebuilt_model_computes_with_the_current_weights():
    keras.utils.set_random_seed(2)
    model = colorzoo.build_model("unet_sequential", image_size=64, width=0.125)
    rebuilt = inference.at_input_size(model, (48, 80))
    luminance = np.random.default_rng(0).uniform(0, 1, (1, 48, 80, 1)).astype(np.float32)
    before = rebuilt(luminance).numpy()
    keras.utils.set_random_seed(3)
    model.set_weights(colorzoo.build_model("unet_sequential", image_size=64, width=0.125).get_weights())
    reference = colorzoo.build_model("unet_sequential", image_size=48, width=0.125)  # 48 x 48: layers fit 48 x 80
    reference = inference.at_input_size(reference, (48, 80))
    reference.set_weights(model.get_weights())
    after = inference.traced_predictor(inference.at_input_size(model, (48, 80)))(luminance).numpy()
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, reference(luminance).numpy(), atol=1e-6)


def test_a_model_given_new_variables_is_traced_again():
    keras.utils.set_random_seed(6)
    model = colorzoo.build_model("unet_sequential", image_size=64, width=0.125)
    luminance = np.random.default_rng(1).uniform(0, 1, (1, 64, 64, 1)).astype(np.float32)
    wide = np.random.default_rng(2).uniform(0, 1, (56, 80)).astype(np.float32)  # its run shape: the graph at any size
    before = inference.traced_predictor(model)(luminance).numpy()
    wide_before = inference.predict_chroma(model, wide)
    conv = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    conv.enable_lora(2)  # adds two variables and changes the layer's call: an old trace would ignore them
    conv.lora_kernel_b.assign(np.full(conv.lora_kernel_b.shape, 0.5, np.float32))
    after = inference.traced_predictor(model)(luminance).numpy()
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, model(luminance).numpy(), atol=1e-5)
    wide_after = inference.predict_chroma(model, wide)
    assert not np.allclose(wide_after, wide_before)
    rebuilt = inference.at_input_size(model, (56, 80))
    np.testing.assert_allclose(wide_after, rebuilt(wide[None, :, :, None], training=False)[0], atol=1e-5)


def test_threads_rebuild_a_shared_model_one_at_a_time(monkeypatch):
    import threading
    import time

    model = colorzoo.build_model("resnet18_decoder", image_size=64, width=0.125)
    rebuild, running, most = inference._rebuilt_at, [0], [0]

    def slow_rebuild(*args):  # Keras numbers a shared layer's nodes by appending: two at once clash
        running[0] += 1
        most[0] = max(most[0], running[0])
        time.sleep(0.05)
        try:
            return rebuild(*args)
        finally:
            running[0] -= 1

    monkeypatch.setattr(inference, "_rebuilt_at", slow_rebuild)
    shapes = [(64, 32 * (index + 1)) for index in range(4)]
    threads = [threading.Thread(target=inference.at_input_size, args=(model, shape)) for shape in shapes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1
    assert [inference.at_input_size(model, shape).input_shape[1:3] for shape in shapes] == shapes


def test_ensembles_and_wrapped_models_colorize_photos_of_any_shape():
    from colorzoo.models.zhang_classification import to_ab_model

    keras.utils.set_random_seed(4)
    member = colorzoo.build_model("resnet18_decoder", image_size=64, width=0.25)
    ensemble = colorzoo.build_ensemble([member, member])
    gray = np.asarray(photo(256, 96).convert("L"))
    # Two identical members average to the member itself, also at a run shape that is not square.
    np.testing.assert_array_equal(inference.colorize(ensemble, gray, size=(64, 96)),
                                  inference.colorize(member, gray, size=(64, 96)))
    assert inference.run_size(ensemble, image_shape=gray.shape) == (32, 96)  # stride 32 for unregistered models
    assert inference.colorize(ensemble, gray).shape == (96, 256, 3)
    ab_model = to_ab_model(colorzoo.build_model("zhang_classification", image_size=64, width=0.125))
    assert inference.colorize(ab_model, gray).shape == (96, 256, 3)


@pytest.mark.parametrize("name", ["hypercolumn", "zhang_classification"])
def test_renamed_and_wrapped_models_keep_their_colour_space_and_output(name):
    keras.utils.set_random_seed(5)
    info = colorzoo.model_info(name)
    original = colorzoo.build_model(name, **info.small)
    renamed = keras.Model(original.inputs, original.outputs, name="mine")
    wrapped = keras.Sequential([keras.Input(original.input_shape[1:]), original], name="wrapped")
    # a float32 cast after the output, as under mixed precision: looked through to the named layer or model
    renamed_cast = keras.Model(original.inputs, float32_cast()(original.outputs[0]), name="mine_cast")
    wrapped_cast = keras.Sequential([keras.Input(original.input_shape[1:]), original, float32_cast()], name="wrapped_cast")
    gray = np.asarray(photo(96, 64).convert("L"))
    expected = inference.colorize(original, gray, size=(64, 96))  # a renamed model's stride is a guess: run shape given
    for other in (renamed, wrapped, renamed_cast, wrapped_cast):
        spec = inference.model_spec(other)
        assert (spec.name, spec.color_space, spec.output) == (other.name, info.color_space, info.output)
        np.testing.assert_array_equal(inference.colorize(other, gray, size=(64, 96)), expected)


def float32_cast():
    return keras.layers.Activation("linear", dtype="float32")


def test_renamed_model_ending_in_a_layer_that_changes_the_output_is_read_as_lab_ab():
    original = colorzoo.build_model("zhang_classification", **colorzoo.model_info("zhang_classification").small)
    to_ab = keras.layers.Conv2D(2, 1)(original.outputs[0])  # the 313 logits become two channels
    spec = inference.model_spec(keras.Model(original.inputs, float32_cast()(to_ab), name="mine"))
    assert (spec.color_space, spec.output) == ("lab", "ab")


def test_a_model_of_unknown_kind_is_colorized_as_lab_with_a_warning_and_more_than_two_channels_are_refused(caplog):
    keras.utils.set_random_seed(8)
    inputs = keras.Input((32, 32, 1))
    unknown = keras.Model(inputs, keras.layers.Conv2D(2, 3, padding="same", name="served")(inputs), name="functional")
    member = colorzoo.build_model("resnet18_decoder", image_size=32, width=0.125)
    ensemble = colorzoo.build_ensemble([member, member])
    renamed = keras.Model(member.inputs, member.outputs, name="mine")
    gray = np.zeros((32, 32), np.uint8)
    with caplog.at_level("WARNING", logger="colorzoo.inference"):
        for model in (unknown, unknown, ensemble, renamed):
            inference.colorize(model, gray)
    warned = [record.getMessage() for record in caplog.records if "does not say what it predicts" in record.getMessage()]
    assert warned == ["functional is not a registered model and its output layer 'served' does not say what it predicts: "
                      "colorized as Lab ab; keep a registered model's name (or register yours, colorzoo.register_model) "
                      "to be sure"]  # once, and not for the ensemble or the renamed Lab model
    # zhang's logits behind a layer that hides them, as a served export does (before: "recombine takes ... (H, W, 313)")
    zhang = colorzoo.build_model("zhang_classification", **colorzoo.model_info("zhang_classification").small)
    hidden = keras.Model(zhang.inputs, keras.layers.Add()([zhang.outputs[0], zhang.outputs[0]]), name="functional")
    with pytest.raises(ValueError, match="functional outputs 313 channels where colorize takes 2 .*to_ab_model"):
        inference.colorize(hidden, np.zeros((64, 64), np.uint8))


def test_model_that_keeps_its_built_size_is_a_clear_error():
    valid_padding = colorzoo.build_model("unet_sequential", image_size=128, width=0.125, padding="valid")
    with pytest.raises(ValueError, match="keeps its built size"):
        inference.colorize(valid_padding, np.asarray(photo(90, 70)), size=160)
    with pytest.raises(ValueError, match="cannot run at 8x8: Computed output size would be zero"):
        inference.at_input_size(valid_padding, (8, 8))
    # a size off the stride says so (before: "a layer keeps its built size (output 72x64)")
    model = colorzoo.build_model("resnet18_decoder", image_size=64, width=0.125)
    with pytest.raises(inference.RunShapeError, match="cannot run at 68x64: its sides must be multiples of its stride 8"):
        inference.at_input_size(model, (68, 64))


def test_chroma_gain_scales_the_chroma_sharing_the_weights_and_saves(model, tmp_path):
    luminance = np.random.default_rng(0).uniform(0, 1, (1, 64, 64, 1)).astype(np.float32)
    vivid = inference.with_chroma_gain(model, 1.5)
    assert vivid.name == model.name and vivid.layers[-1].name == inference.CHROMA_GAIN_LAYER
    np.testing.assert_allclose(vivid(luminance), 1.5 * model(luminance), rtol=1e-6, atol=1e-7)
    paler = inference.with_chroma_gain(vivid, 0.5)  # replaces the gain: 0.5, not 0.75
    np.testing.assert_allclose(paler(luminance), 0.5 * model(luminance), rtol=1e-6, atol=1e-7)
    assert inference.with_chroma_gain(model, 1) is model
    plain = inference.with_chroma_gain(vivid, 1)
    assert inference.CHROMA_GAIN_LAYER not in [layer.name for layer in plain.layers]
    np.testing.assert_allclose(plain(luminance), model(luminance), rtol=1e-6)

    vivid.save(tmp_path / "vivid.keras")
    loaded = colorzoo.load_model(str(tmp_path / "vivid.keras"))  # safe_mode: a Rescaling layer, no Lambda
    np.testing.assert_allclose(loaded(luminance), vivid(luminance), rtol=1e-6, atol=1e-7)
    source = np.asarray(photo(90, 70, "coffee"))
    colourful = [metrics.colorfulness(inference.colorize(m, source)) for m in (model, vivid)]
    assert colourful[1] > colourful[0]
    assert_keeps_lightness(source, inference.colorize(vivid, source, size=96))  # at another run size too


def test_chroma_gain_stays_float32_under_a_mixed_policy(model):
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        vivid = inference.with_chroma_gain(model, 1.07)
    finally:
        keras.config.set_dtype_policy("float32")
    luminance = np.random.default_rng(0).uniform(0, 1, (1, 64, 64, 1)).astype(np.float32)
    chroma = vivid(luminance)
    assert chroma.dtype == "float32"  # a bfloat16 gain would round the chroma to 8 bits of mantissa
    np.testing.assert_allclose(chroma, 1.07 * model(luminance), rtol=1e-6, atol=1e-7)


def test_chroma_gain_of_sequential_nested_and_subclassed_models():
    keras.utils.set_random_seed(4)
    luminance = np.random.default_rng(0).uniform(0, 1, (1, 32, 32, 1)).astype(np.float32)
    sequential = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(2, 3, padding="same", name="ab")],
                                  name="unet_sequential")
    np.testing.assert_allclose(inference.with_chroma_gain(sequential, 1.5)(luminance), 1.5 * sequential(luminance),
                               rtol=1e-6, atol=1e-7)
    vivid = inference.with_chroma_gain(sequential, 2)
    nested = keras.Sequential([keras.Input((32, 32, 1)), vivid], name="unet_sequential")
    np.testing.assert_allclose(inference.with_chroma_gain(nested, 3)(luminance), 6 * sequential(luminance),
                               rtol=1e-6, atol=1e-6)  # a nested model's gain stays (documented)
    cast = keras.layers.Activation("linear", dtype="float32", name="cast")(vivid.output)
    with pytest.raises(ValueError, match="chroma gain is not its last layer .'cast' follows."):
        inference.with_chroma_gain(keras.Model(vivid.input, cast, name="unet_sequential"), 3)

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__(name="unet_sequential")
            self.conv = keras.layers.Conv2D(2, 3, padding="same")

        def call(self, inputs):
            return self.conv(inputs)

    subclassed = Subclassed()
    subclassed(luminance)
    with pytest.raises(ValueError, match="no functional or Sequential model built on a keras.Input"):
        inference.with_chroma_gain(subclassed, 1.2)
    inputs = keras.Input((32, 32, 1))
    two = keras.Model(inputs, [sequential(inputs), sequential(inputs)], name="unet_sequential")
    with pytest.raises(ValueError, match="has 2 outputs: a chroma gain takes a model with one"):
        inference.with_chroma_gain(two, 1.2)


@pytest.mark.parametrize("gain", [0, -1.2, float("nan"), float("inf"), True, "1.2"])
def test_chroma_gain_must_be_a_finite_number_above_zero(model, gain):
    with pytest.raises(ValueError, match="chroma gain must be a finite number above 0"):
        inference.with_chroma_gain(model, gain)


def test_bin_logit_models_have_no_chroma_gain():
    zhang = colorzoo.build_model("zhang_classification", **colorzoo.model_info("zhang_classification").small)
    with pytest.raises(ValueError, match="does not output chroma .* temperature of its annealed mean"):
        inference.with_chroma_gain(zhang, 1.2)


def test_yuv_model_keeps_y(tmp_path):
    inputs = keras.Input((32, 32, 1))
    outputs = keras.layers.Conv2D(2, 3, padding="same", activation="tanh", name="uv")(inputs)
    yuv_model = keras.Model(inputs, outputs, name="residual_encoder")  # registered as a YUV model
    source = np.asarray(photo(75, 41, "coffee"))
    output = inference.colorize(yuv_model, source)
    y_in, y_out = (skimage.color.rgb2yuv(image / 255.0)[..., 0] for image in (source, output))
    assert output.shape == source.shape and np.abs(y_out - y_in).max() <= 1.0 / 255


def bins_model_output(model):
    source = np.asarray(photo(101, 77, "chelsea"))
    output = inference.colorize(model, source)
    assert_keeps_lightness(source, output)
    return output


def test_bins_model():
    names = [name for name in colorzoo.list_models() if colorzoo.model_info(name).output == "ab_bins"]
    assert names == ["zhang_classification"]
    for name in names:
        info = colorzoo.model_info(name)
        assert metrics.colorfulness(bins_model_output(colorzoo.build_model(name, **info.small))) > 0  # decoded ab


def leftovers(folder):
    return [name for root, _, names in os.walk(folder) for name in names if name.startswith(files.TEMPORARY_PREFIX)]


def test_colorize_files(model, tmp_path, caplog):
    inputs = tmp_path / "in"
    (inputs / "nested").mkdir(parents=True)
    photo(64, 48).save(inputs / "a.jpg")
    photo(48, 64, "coffee").save(inputs / "a.png")
    photo(40, 40, "chelsea").convert("L").save(inputs / "nested" / "b.png")
    (inputs / "broken.jpg").write_bytes(b"not an image")
    before = {path: path.read_bytes() for path in inputs.rglob("*") if path.is_file()}
    out = tmp_path / "out" / "deeper"

    summary = inference.colorize_files(model, [inputs], out, suffix="_c", progress=False)
    expected = sorted(str(out / name) for name in ("a_jpg_c.png", "a_png_c.png", os.path.join("nested", "b_c.png")))
    assert sorted(summary["written"]) == expected
    assert summary["failed"] == [str(inputs / "broken.jpg")] and summary["skipped"] == []
    messages = [record.getMessage() for record in caplog.records if record.name == "colorzoo.inference"]
    assert len(messages) == 1 and str(inputs / "broken.jpg") in messages[0] and "\n" not in messages[0]
    assert Image.open(out / "nested" / "b_c.png").size == (40, 40)
    assert not leftovers(tmp_path)

    outputs = {path: path.read_bytes() for path in out.rglob("*.png")}
    killed_writer = out / "nested" / f"{files.TEMPORARY_PREFIX}{2**22 + 1}-x.png"  # above Linux's pid_max
    killed_writer.write_bytes(b"half an image")
    again = inference.colorize_files(model, inputs, out, suffix="_c", skip_existing=True, progress=False, compare=True)
    figures = [name[:-4] + "_compare.png" for name in expected]
    # the resumed run adds the missing figures and counts them (before: counted as skipped)
    assert sorted(again["skipped"]) == expected and sorted(again["written"]) == figures
    assert not killed_writer.exists()  # a killed colorize's temporary is cleaned up by the next one
    assert sorted(str(path) for path in out.rglob("*_compare.png")) == figures
    assert outputs == {path: path.read_bytes() for path in out.rglob("*.png") if "_compare" not in path.name}
    (out / "a_jpg_c_compare.png").write_bytes(b"the user's own figure")
    os.remove(out / "a_jpg_c.png")
    third = inference.colorize_files(model, inputs, out, suffix="_c", skip_existing=True, progress=False, compare=True)
    assert third["written"] == [str(out / "a_jpg_c.png")] and sorted(third["skipped"]) == sorted(expected[1:] + figures)
    assert (out / "a_jpg_c_compare.png").read_bytes() == b"the user's own figure"  # before: replaced
    assert before == {path: path.read_bytes() for path in inputs.rglob("*") if path.is_file()}


@pytest.mark.parametrize("layout", ["two files", "two folders", "a figure's name"])
def test_two_outputs_of_one_name_are_refused_before_any_work(model, tmp_path, layout):
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        photo(32, 32).save(tmp_path / folder / "photo.png")
    inputs = {
        "two files": [tmp_path / "one" / "photo.png", tmp_path / "two" / "photo.png"],
        "two folders": [tmp_path / "one", tmp_path / "two"],
        "a figure's name": [tmp_path / "one" / "photo.png", tmp_path / "one" / "photo_compare.png"],
    }[layout]
    photo(32, 32).save(tmp_path / "one" / "photo_compare.png")
    first, second = (str(path) for path in inputs) if layout != "two folders" else (
        str(tmp_path / folder / "photo.png") for folder in ("one", "two"))
    with pytest.raises(ValueError, match=f"^{first} and {second} would both be written to .*photo"):
        inference.colorize_files(model, inputs, tmp_path / "out", compare=True, progress=False)
    assert not (tmp_path / "out").exists()


def test_a_file_of_several_pages_reads_the_first_with_a_warning(tmp_path):
    thumbnail, page = Image.new("RGB", (30, 20), (200, 0, 0)), Image.new("RGB", (300, 200), (0, 200, 0))
    thumbnail.save(tmp_path / "scan.tif", save_all=True, append_images=[page])
    with pytest.warns(UserWarning, match=r"scan.tif holds 2 frames or pages; only the first \(30x20\) is read"):
        assert inference.load_image(tmp_path / "scan.tif").shape == (20, 30, 3)  # before: without a word
    page.save(tmp_path / "one.tif")
    # a camera JPEG with its preview image (MPO) is one photo
    page.save(tmp_path / "camera.jpg", format="MPO", save_all=True, append_images=[thumbnail])
    noisy = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    Image.fromarray(noisy).save(tmp_path / "full.gif", save_all=True, append_images=[Image.fromarray(255 - noisy)])
    gif = (tmp_path / "full.gif").read_bytes()
    (tmp_path / "cut.gif").write_bytes(gif[: int(len(gif) * 0.55)])  # its second frame damaged: the first reads
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert inference.load_image(tmp_path / "one.tif").shape == (200, 300, 3)
        assert inference.load_image(tmp_path / "camera.jpg").shape == (200, 300, 3)
        with Image.open(tmp_path / "full.gif") as full:
            np.testing.assert_array_equal(inference.load_image(tmp_path / "cut.gif"), np.asarray(full.convert("RGB")))


def test_names_that_differ_in_case_only_keep_their_case(model, tmp_path):
    (tmp_path / "in").mkdir()
    for name in ("a.jpg", "a.JPG"):
        photo(32, 32).save(tmp_path / "in" / name, format="JPEG")
    summary = inference.colorize_files(model, tmp_path / "in", tmp_path / "out", progress=False)
    # before: both became a_jpg.png, and the whole run was refused
    assert sorted(os.listdir(tmp_path / "out")) == ["a_JPG.png", "a_jpg.png"] and len(summary["written"]) == 2


def test_inputs_without_images_and_an_unwritable_output_folder_fail_before_any_work(model, tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no photos here")
    with pytest.raises(ValueError, match=r"no images in .*empty \(image files end in .jpg"):
        inference.colorize_files(model, tmp_path / "empty", tmp_path / "out", progress=False)  # before: 0 written, exit 0
    photo(32, 32).save(tmp_path / "a.jpg")
    monkeypatch.setattr(inference, "colorize", lambda *args: pytest.fail("colorized before checking the output folder"))

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.tempfile, "mkstemp", read_only)  # root writes anywhere: the refusal is simulated
    with pytest.raises(PermissionError, match="cannot write to the output folder .*out: Permission denied"):
        inference.colorize_files(model, tmp_path / "a.jpg", tmp_path / "out", progress=False)


def test_only_folders_written_to_are_checked_and_none_is_created_for_nothing(model, tmp_path, monkeypatch):
    for year in ("2023", "2024"):
        (tmp_path / "in" / year).mkdir(parents=True)
        photo(32, 32).save(tmp_path / "in" / year / "a.jpg")
    inference.colorize_files(model, tmp_path / "in" / "2023", tmp_path / "out" / "2023", progress=False)
    check_writable, checked = files.check_writable, []
    monkeypatch.setattr(files, "check_writable", lambda folder: checked.append(folder) or check_writable(folder))
    summary = inference.colorize_files(model, tmp_path / "in", tmp_path / "out", skip_existing=True, progress=False)
    # before: every output folder was probed, so a read-only one of finished outputs stopped the resumed run
    assert checked == [str(tmp_path / "out" / "2024")] and summary["written"] == [str(tmp_path / "out" / "2024" / "a.png")]
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.jpg").write_bytes(b"not an image")
    inference.colorize_files(model, tmp_path / "broken", tmp_path / "nothing" / "deeper", progress=False)
    assert not (tmp_path / "nothing").exists()  # the check creates no folder
    monkeypatch.chdir(tmp_path / "in" / "2024")
    assert inference.colorize_files(model, "a.jpg", "", progress=False)["written"] == ["a.png"]  # "": this folder


def test_a_full_disk_ends_the_run_at_the_first_photo(model, tmp_path, monkeypatch):
    import errno

    for name in ("a.jpg", "b.jpg", "c.jpg"):
        photo(32, 32).save(tmp_path / name)
    colorize, calls = inference.colorize, []
    monkeypatch.setattr(inference, "colorize", lambda *args: calls.append(1) or colorize(*args))

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_atomically", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        inference.colorize_files(model, [tmp_path / name for name in ("a.jpg", "b.jpg", "c.jpg")], tmp_path / "out",
                                 progress=False)
    assert len(calls) == 1  # before: every photo was colorized, then failed to be written


def test_a_photo_given_twice_is_colorized_once(model, tmp_path):
    (tmp_path / "in").mkdir()
    photo(32, 32).save(tmp_path / "in" / "photo.png")
    # before: "in/photo.png and in/photo.png would both be written to ...; colorize those inputs separately"
    inference.colorize_files(model, [tmp_path / "in", tmp_path / "in" / "photo.png"], tmp_path / "out", progress=False)
    assert os.listdir(tmp_path / "out") == ["photo.png"]


def test_outputs_inside_an_input_folder_are_not_inputs(model, tmp_path):
    photo(32, 32).save(tmp_path / "a.jpg")
    first = inference.colorize_files(model, tmp_path, tmp_path / "color", output_format="jpeg", progress=False)
    second = inference.colorize_files(model, tmp_path, tmp_path / "color", output_format="JPG", overwrite=True,
                                      progress=False)
    assert first["written"] == second["written"] == [str(tmp_path / "color" / "a.jpg")]
    assert first["left_out"] == [] and second["left_out"] == [str(tmp_path / "color" / "a.jpg")]


def test_photos_inside_the_output_folder_are_counted_as_left_out(model, tmp_path, caplog):
    """``colorize photos -o photos/family``: the family photos are not inputs, and the run says so
    (before: 1 written, 0 skipped, 0 failed, and the two photos nowhere)."""
    (tmp_path / "family").mkdir()
    for name in ("top.jpg", "family/grandma.jpg", "family/grandpa.png"):
        photo(32, 32).save(tmp_path / name)
    summary = inference.colorize_files(model, tmp_path, tmp_path / "family", progress=False)
    assert summary["written"] == [str(tmp_path / "family" / "top.png")]
    assert sorted(summary["left_out"]) == [str(tmp_path / "family" / name) for name in ("grandma.jpg", "grandpa.png")]
    assert "left out 2 image(s) inside the output folder" in caplog.text


@pytest.mark.parametrize("skip_existing", [False, True])
def test_a_file_that_appears_during_the_run_is_never_replaced(model, tmp_path, monkeypatch, skip_existing):
    for name in ("a.jpg", "b.jpg"):
        photo(32, 32).save(tmp_path / name)
    colorize = inference.colorize
    calls = []

    def colorize_while_the_user_saves_b(model, pixels, size=None):
        calls.append(pixels)
        if len(calls) == 2:  # while b itself is colorized: after the check for its existing outputs
            (tmp_path / "out").mkdir(exist_ok=True)
            (tmp_path / "out" / "b.png").write_bytes(b"the user's own file")
        return colorize(model, pixels, size)

    monkeypatch.setattr(inference, "colorize", colorize_while_the_user_saves_b)
    summary = inference.colorize_files(model, [tmp_path / "a.jpg", tmp_path / "b.jpg"], tmp_path / "out",
                                       skip_existing=skip_existing, progress=False, compare=True)
    out = tmp_path / "out"
    assert (out / "b.png").read_bytes() == b"the user's own file"  # before: replaced
    if skip_existing:  # b's figure is still written, and counted (before: b counted as skipped only)
        assert summary["written"] == [str(out / name) for name in ("a.png", "a_compare.png", "b_compare.png")]
        assert summary["skipped"] == [str(out / "b.png")] and summary["failed"] == []
    else:
        assert summary["written"] == [str(out / "a.png"), str(out / "a_compare.png")]
        assert summary["failed"] == [str(tmp_path / "b.jpg")] and not (out / "b_compare.png").exists()
    assert not leftovers(tmp_path)


def test_existing_outputs_are_never_replaced_by_default(model, tmp_path):
    photo(32, 32).save(tmp_path / "a.jpg")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_text("the user's own file")
    with pytest.raises(FileExistsError, match="1 output.s. already exist"):  # before: replaced without a word
        inference.colorize_files(model, tmp_path / "a.jpg", tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "a.png").read_text() == "the user's own file"
    os.remove(tmp_path / "out" / "a.png")
    os.symlink(tmp_path / "nowhere.png", tmp_path / "out" / "a.png")  # a dangling link of the user's: stops it too
    with pytest.raises(FileExistsError, match="1 output.s. already exist"):  # before: failed at the write, after the work
        inference.colorize_files(model, tmp_path / "a.jpg", tmp_path / "out", progress=False)
    assert os.readlink(tmp_path / "out" / "a.png") == str(tmp_path / "nowhere.png")
    summary = inference.colorize_files(model, tmp_path / "a.jpg", tmp_path / "out", output_format="webp", progress=False)
    assert Image.open(summary["written"][0]).format == "WEBP"


def test_a_model_fixed_to_its_built_size_colorizes_any_photo_at_that_size(tmp_path, caplog):
    valid_padding = colorzoo.build_model("unet_sequential", image_size=128, width=0.125, padding="valid")
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, (width, height) in {"wide.png": (150, 100), "square.png": (64, 64)}.items():
        photo(width, height).save(photos / name)
    # before: "cannot run at 104x160", and the error ended the whole folder
    summary = inference.colorize_files(valid_padding, photos, tmp_path / "out", progress=False)
    assert len(summary["written"]) == 2 and not summary["failed"]
    assert Image.open(tmp_path / "out" / "wide.png").size == (150, 100)
    with pytest.raises(ValueError, match=r"cannot run at 96x144: .*run it at its built size \(size=\(128, 128\)"):
        inference.colorize(valid_padding, np.asarray(photo(150, 100)), size=(96, 144))
    with caplog.at_level("WARNING"):  # a size the model cannot run at: each photo counted, the folder goes on
        failed = inference.colorize_files(valid_padding, photos, tmp_path / "out2", size=(8, 8), progress=False)
    assert len(failed["failed"]) == 2 and "cannot run at 8x8" in caplog.text


def test_a_run_shape_the_graph_at_any_size_cannot_keep_falls_back_to_the_built_size(register):
    def pooling_net(image_size=64):  # halves and doubles its input; registered without its stride (2)
        inputs = keras.Input((image_size, image_size, 1))
        down = keras.layers.MaxPooling2D()(inputs)
        up = keras.layers.UpSampling2D()(keras.layers.Conv2D(4, 3, padding="same")(down))
        return keras.Model(inputs, keras.layers.Conv2D(2, 1)(keras.layers.Concatenate()([up, inputs])))

    def deep_net():  # 6 halvings, unregistered: its assumed stride (32) is too small, and nothing fails
        inputs = keras.Input((64, 64, 1))
        x = inputs
        for _ in range(6):
            x = keras.layers.Conv2D(4, 3, strides=2, padding="same")(x)
        for _ in range(6):
            x = keras.layers.UpSampling2D()(x)
        return keras.Model(inputs, keras.layers.Conv2D(2, 1)(x), name="deep_net")

    register("pooling_net", pooling_net)
    keras.utils.set_random_seed(7)
    for model, shape in [(colorzoo.build_model("pooling_net"), (76, 102)), (deep_net(), (40, 200))]:
        gray = np.random.default_rng(0).uniform(0, 1, shape).astype(np.float32)
        assert inference._any_size(model) is not None
        with pytest.raises(inference.RunShapeError, match="cannot run at"):
            inference._check_run_shape(model, inference._any_size(model)[0], inference.run_size(model, image_shape=shape))
        # run there by the graph at any size, pooling_net's concatenation would fail inside TensorFlow and
        # deep_net's chroma would come out 2x too tall: both run at their built size, as rebuilt models did
        at_built = tf.image.resize(model(tf.image.resize(gray[None, :, :, None], (64, 64), antialias=True))[0], shape)
        np.testing.assert_allclose(inference.predict_chroma(model, gray), at_built, atol=1e-6)


def test_whatever_fails_at_any_size_runs_per_run_shape():
    class NeedsKnownSides(keras.layers.Layer):
        def call(self, x):
            if x.shape[1] is None:
                raise RuntimeError("this layer needs known sides")
            return x

    inputs = keras.Input((32, 32, 1))
    outputs = keras.layers.Conv2D(2, 3, padding="same")(NeedsKnownSides()(inputs))
    model = keras.Model(inputs, outputs, name="needs_known_sides")
    for size in [None, (32, 64)]:  # not a RuntimeError for every photo: the graph at any size is an optimisation
        assert inference.colorize(model, np.zeros((40, 60), np.uint8), size=size).shape == (40, 60, 3)
    assert inference._any_size(model) is None and list(inference._REBUILT[model]) == [(32, 64)]


def test_an_unregistered_stride_is_a_clear_error(register):
    def pooling_net():  # halves and doubles its input; registered without its stride (2)
        inputs = keras.Input((None, None, 1))
        down = keras.layers.MaxPooling2D()(inputs)
        up = keras.layers.UpSampling2D()(keras.layers.Conv2D(4, 3, padding="same")(down))
        return keras.Model(inputs, keras.layers.Conv2D(2, 1)(keras.layers.Concatenate()([up, inputs])))

    register("pooling_net", pooling_net)
    pooling_net = colorzoo.build_model("pooling_net")
    with pytest.raises(ValueError, match=r"failed at 75x101 .*register_model\(..., stride=N\)"):  # a TF traceback
        inference.colorize(pooling_net, np.asarray(photo(102, 76)), size=(75, 101))
    assert inference.colorize(pooling_net, np.asarray(photo(102, 76)), size=(76, 102)).shape == (76, 102, 3)


def test_never_overwrites_inputs(model, tmp_path):
    photo(32, 32).save(tmp_path / "a.png")
    original = (tmp_path / "a.png").read_bytes()
    with pytest.raises(ValueError, match="refusing to overwrite"):
        inference.colorize_files(model, tmp_path / "a.png", tmp_path, progress=False)
    with pytest.raises(ValueError, match="the output folder is the input folder"):
        inference.colorize_files(model, [tmp_path], tmp_path, progress=False)
    with pytest.raises(NotADirectoryError):
        inference.colorize_files(model, tmp_path / "a.png", tmp_path / "a.png", progress=False)
    assert (tmp_path / "a.png").read_bytes() == original
    (tmp_path / "a_compare.png").write_bytes(original)
    inputs = [tmp_path / "a.png", tmp_path / "a_compare.png"]
    with pytest.raises(ValueError, match="refusing to overwrite the input .*a_compare.png"):  # a.png's figure
        inference.colorize_files(model, inputs, tmp_path, output_format="jpeg", compare=True, progress=False)
    os.remove(tmp_path / "a_compare.png")
    summary = inference.colorize_files(
        model, tmp_path / "a.png", tmp_path, suffix="_color", compare=True, progress=False
    )
    assert summary["written"] == [str(tmp_path / "a_color.png"), str(tmp_path / "a_color_compare.png")]
    assert Image.open(tmp_path / "a_color_compare.png").width > 2 * Image.open(tmp_path / "a_color.png").width


def test_failed_write_leaves_nothing(tmp_path):
    def fail(handle):
        handle.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        files.write_atomically(tmp_path / "new" / "x.png", fail)
    assert os.listdir(tmp_path / "new") == []


def test_compare_figure(model, tmp_path):
    original = np.asarray(photo(80, 60))
    colorized = inference.colorize(model, original)
    inference.compare_figure(original, colorized, original, path=tmp_path / "compare.png")
    inference.compare_figure(original, colorized, path=tmp_path / "pair.png")
    three, two = Image.open(tmp_path / "compare.png"), Image.open(tmp_path / "pair.png")
    assert three.width > two.width > two.height
    assert not leftovers(tmp_path)
    # No user file is replaced by default, and never a photo of the figure (before: both silently)
    with pytest.raises(FileExistsError):
        inference.compare_figure(original, colorized, path=tmp_path / "pair.png")
    inference.compare_figure(original, colorized, path=tmp_path / "pair.png", overwrite=True)
    Image.fromarray(original).save(tmp_path / "truth.png")
    before = (tmp_path / "truth.png").read_bytes()
    for figure_photos in ((tmp_path / "truth.png", colorized), (original, colorized, str(tmp_path / "truth.png")),
                          (os.fsencode(tmp_path / "truth.png"), colorized)):
        with pytest.raises(ValueError, match="refusing to replace a photo of the figure"):
            inference.compare_figure(*figure_photos, path=tmp_path / "truth.png", overwrite=True)
    assert (tmp_path / "truth.png").read_bytes() == before


@pytest.mark.parametrize("shape, dtype", [((3000, 2500, 3), np.uint8), ((1, 5000), np.uint16), ((1300, 1250, 3), np.float32)])
def test_compare_figure_panels_are_shrunk_to_the_figure_not_copied_at_full_resolution(shape, dtype, tmp_path, monkeypatch):
    pixels = np.random.default_rng(0).uniform(0, 1, shape) * {np.uint8: 255, np.uint16: 65535, np.float32: 1}[dtype]
    pixels = pixels.astype(dtype)
    panel = inference._panel_pixels(pixels)
    assert max(panel.shape[:2]) <= inference.COMPARE_PANEL_SIDE and panel.dtype == dtype and panel.ndim == pixels.ndim
    scale = 255 if dtype == np.uint8 else 65535 if dtype == np.uint16 else 1
    assert abs(panel.mean() - pixels.mean()) / scale < 0.01  # block means: the photo's look, not a sample of it
    to_float_rgb, plotted = inference.to_float_rgb, []
    monkeypatch.setattr(inference, "to_float_rgb", lambda image: plotted.append(np.shape(image)) or to_float_rgb(image))
    inference.compare_figure(pixels, pixels, pixels, path=tmp_path / "figure.png")
    # before: three full-resolution float copies
    assert len(plotted) == 2 and all(max(panel_shape[:2]) <= inference.COMPARE_PANEL_SIDE for panel_shape in plotted)


def test_compare_figure_of_a_yuv_model_shows_the_luminance_it_saw(tmp_path, monkeypatch):
    """The gray panel of a YUV model is Y (Lab's L differs by up to 62 levels on saturated colours)."""
    yuv_model = colorzoo.build_model("residual_encoder", image_size=32, encoder_weights=None)
    Image.fromarray(np.asarray(photo(40, 32))).save(tmp_path / "photo.png")
    spaces = []
    to_gray = inference.to_gray
    monkeypatch.setattr(inference, "to_gray", lambda image, color_space="lab": spaces.append(color_space)
                        or to_gray(image, color_space))
    inference.colorize_files(yuv_model, [str(tmp_path / "photo.png")], str(tmp_path / "out"), compare=True)
    assert spaces == ["yuv"] and len(os.listdir(tmp_path / "out")) == 2


@pytest.mark.parametrize("size", [True, "64", 64.0, float("nan"), 0, (64, -8), 100_000])
def test_a_run_size_that_is_no_whole_number_or_too_large_is_refused(model, size):
    """Before: True ran at 8 x 8, "64" was accepted, NaN gave a conversion error and 100,000 ran
    out of memory inside TensorFlow."""
    with pytest.raises(ValueError, match="size must be"):
        inference.colorize(model, np.zeros((16, 24, 3), np.uint8), size=size)
    with pytest.raises(ValueError, match="image_shape must be"):
        inference.run_size(model, image_shape=(10, 0))  # before: ZeroDivisionError


def test_colorizing_takes_a_gan_trainer_as_its_generator_and_refuses_a_name(tmp_path):
    from colorzoo.training import make_trainable

    generator = colorzoo.build_model("pix2pix", image_size=32, width=0.125)
    trainer = make_trainable(generator)
    photo_array = np.asarray(photo(40, 32))
    np.testing.assert_array_equal(inference.colorize(trainer, photo_array), inference.colorize(generator, photo_array))
    Image.fromarray(photo_array).save(tmp_path / "photo.png")
    assert metrics.evaluate(trainer, [str(tmp_path / "photo.png")], progress=False)["model"] == "pix2pix"
    for wrong in ("unet_sequential", None):  # before: AttributeError: 'str' object has no attribute 'name'
        with pytest.raises(TypeError, match="colorize takes a built keras.Model"):
            inference.colorize(wrong, photo_array)
        with pytest.raises(TypeError, match="colorize_files takes a built keras.Model"):
            inference.colorize_files(wrong, [str(tmp_path / "photo.png")], str(tmp_path / "out"))


def test_eight_bit_data_in_a_sixteen_bit_image_is_read_with_a_warning(model):
    gray = Image.fromarray(np.asarray(photo(40, 32).convert("L"))).convert("I")  # values 0..255 in a 32-bit image
    with pytest.warns(UserWarning, match="16-bit pixels no higher than 255"):
        inference.load_image(gray)
    with pytest.warns(UserWarning, match="pass it as uint8"):
        inference.colorize(model, np.asarray(photo(40, 32)).astype(np.uint16))


def test_colour_space_mistakes_and_int_sizes_are_plain_errors(model, tmp_path):
    for call in (lambda: inference.to_gray(np.zeros((8, 8, 3), np.uint8), "LAB"),
                 lambda: inference.recombine(np.zeros((8, 8)), np.zeros((8, 8, 2)), "LAB")):
        with pytest.raises(ValueError, match=r"^color_space must be one of"):  # before: inside an autograph trace
            call()
    assert inference.at_input_size(model, 32).input_shape == (None, 32, 32, 1)  # before: 'int' not iterable
    with pytest.raises(ValueError, match="size must be positive"):
        inference.at_input_size(model, (0, 0))  # before: ZeroDivisionError


def test_bytes_paths_work_wherever_paths_do(model, tmp_path):
    photo(40, 32).save(tmp_path / "photo.png")
    folder, out = os.fsencode(tmp_path), os.fsencode(tmp_path / "out")
    assert len(inference.colorize_files(model, folder, out, progress=False)["written"]) == 1
    assert metrics.evaluate(model, os.fsencode(tmp_path / "photo.png"), progress=False)["images"] == 1
    model.save(tmp_path / "model.keras")
    assert colorzoo.load_model(os.fsencode(tmp_path / "model.keras")).name == model.name


def test_a_model_exports_at_one_run_shape_as_the_readme_says(tmp_path):
    keras.utils.set_random_seed(9)
    model = colorzoo.build_model("unet_sequential", image_size=32, width=0.125)
    runnable = inference.at_input_size(model, (32, 64))
    luminance = np.random.default_rng(3).uniform(0, 1, (1, 32, 64, 1)).astype(np.float32)
    expected = runnable(luminance, training=False).numpy()
    runnable.export(str(tmp_path / "saved"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "saved"))  # kept: its variables live as long as it does
    np.testing.assert_allclose(served.serve(luminance), expected, atol=1e-6)
    litert = str(tmp_path / "unet.tflite")
    runnable.export(litert, format="litert", input_signature=[tf.TensorSpec((1, 32, 64, 1), tf.float32)], verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation in favour of ai_edge_litert
        interpreter = tf.lite.Interpreter(model_path=litert)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], luminance)
    interpreter.invoke()
    np.testing.assert_allclose(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]), expected, atol=1e-5)
