"""Every registered architecture: build, forward, serialisation, layer hygiene, learning."""

import json
import re

import keras
import numpy as np
import pytest

import colorzoo
from colorzoo import hub
from tests.conftest import sample_batch
from tests.helpers import all_layers, check_forward, check_overfit, check_save_load, small_model

MODELS = colorzoo.list_models()


@pytest.mark.parametrize("name", MODELS)
def test_forward_shape(name):
    model, info = small_model(name)
    luminance, _ = sample_batch(info.small["image_size"], color_space=info.color_space)
    check_forward(model, info, luminance)
    assert model.name == name


@pytest.mark.parametrize("name", MODELS)
def test_save_load_identical_outputs(name, tmp_path):
    model, info = small_model(name)
    luminance, _ = sample_batch(info.small["image_size"], color_space=info.color_space)
    check_save_load(model, luminance, str(tmp_path / f"{name}.keras"))


@pytest.mark.parametrize("name", MODELS)
def test_config_round_trip(name):
    model, _ = small_model(name)
    rebuilt = keras.Model.from_config(model.get_config())
    assert rebuilt.get_config() == model.get_config() and rebuilt.count_params() == model.count_params()


@pytest.mark.parametrize("name", MODELS)
def test_layer_hygiene(name):
    model, _ = small_model(name)
    layers = list(all_layers(model))
    assert not [layer.name for layer in layers if isinstance(layer, keras.layers.Lambda)]


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_overfits_one_batch(name):
    keras.utils.set_random_seed(0)
    model, info = small_model(name)
    luminance, chroma = sample_batch(info.small["image_size"], color_space=info.color_space)
    check_overfit(model, luminance, chroma)


def test_unknown_model_lists_known_ones():
    with pytest.raises(ValueError, match="Known models"):
        colorzoo.build_model("no_such_model")


def test_none_kwargs_are_dropped_but_encoder_weights_none_is_kept():
    model = colorzoo.build_model("unet_sequential", image_size=32, width=0.125, kernel_size=None, padding=None)
    assert model.name == "unet_sequential"
    vgg = colorzoo.build_model("vgg16_autoencoder", image_size=32, encoder_weights=None)  # no download attempted
    assert vgg.name == "vgg16_autoencoder"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"image_size": 0}, "image_size must be a positive whole number of pixels, got 0"),
        ({"image_size": (32, 64)}, r"image_size must be a positive whole number of pixels, got \(32, 64\)"),
        ({"image_size": 32.0}, "image_size must be a positive whole number of pixels, got 32.0"),
        ({"image_size": 32, "width": 0}, "width must be a positive number, got 0"),
        ({"image_size": 32, "width": -1}, "width must be a positive number, got -1"),
        ({"image_size": 32, "width": float("nan")}, "width must be a positive number, got nan"),  # before: deep in
        ({"image_size": 32, "width": float("inf")}, "width must be a positive number, got inf"),  # the encoder
    ],
)
def test_sizes_and_widths_are_checked_before_any_builder_runs(options, message):
    with pytest.raises(ValueError, match=f"unet_sequential: {message}"):
        colorzoo.build_model("unet_sequential", **options)


@pytest.mark.parametrize("kernel_size, smallest", [(3, 112), (5, 224), (7, 328)])
def test_valid_padding_names_the_smallest_image_size(kernel_size, smallest):
    """Before: Keras' "Computed output size would be zero or negative" (kernel 7 at the native 256)."""
    model = colorzoo.build_model("unet_sequential", image_size=smallest, width=0.125, padding="valid",
                                 kernel_size=kernel_size)
    assert model.output_shape == (None, smallest, smallest, 2)
    with pytest.raises(ValueError, match=f"kernel_size {kernel_size} needs image_size >= {smallest}, got {smallest - 8}"):
        colorzoo.build_model("unet_sequential", image_size=smallest - 8, padding="valid", kernel_size=kernel_size)


def test_unknown_option_names_the_model_and_its_options():
    with pytest.raises(ValueError, match="unet_sequential has no option 'depth'.*kernel_size"):
        colorzoo.build_model("unet_sequential", depth=3)


@pytest.mark.parametrize("name", ["pix2pix", "resnet18_decoder", "unet_sequential", "zhang_classification"])
def test_models_without_a_pretrained_encoder_take_encoder_weights_none_only(name, tmp_path):
    """``encoder_weights=None`` builds every model (a loop over the registry needs no special case);
    anything else, a saved model's weights file included, is one line pointing at ``weights=``."""
    assert colorzoo.build_model(name, image_size=64, width=0.125, encoder_weights=None).name == name
    colorzoo.build_model(name, image_size=64, width=0.125).save_weights(tmp_path / "saved.weights.h5")
    for weights in ["imagenet", "hed", str(tmp_path / "saved.weights.h5")]:
        with pytest.raises(ValueError, match=f"^{name} has no pretrained encoder: encoder_weights can only be None; "
                                             f"a saved {name}'s weights load with weights=PATH"):
            colorzoo.build_model(name, image_size=64, encoder_weights=weights)


def test_weights_file_loads_into_the_model_built_with_its_options(tmp_path):
    """Keras convention: ``weights=path`` loads a run's ``.keras`` (or ``.weights.h5``) file; a
    fully convolutional model trained at 32 px runs at 64 px with the same weights."""
    trained = colorzoo.build_model("unet_sequential", image_size=32, width=0.125)
    rng = np.random.default_rng(0)
    trained.set_weights([rng.normal(size=w.shape).astype("float32") for w in trained.get_weights()])
    trained.save(tmp_path / "best.keras")
    trained.save_weights(tmp_path / "best.weights.h5")
    for path in (tmp_path / "best.keras", str(tmp_path / "best.weights.h5")):
        model = colorzoo.build_model("unet_sequential", image_size=64, width=0.125, weights=path)
        assert model.input_shape == (None, 64, 64, 1) and model.name == "unet_sequential"
        for expected, actual in zip(trained.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(actual, expected)


def test_weights_file_of_other_options_or_kind_is_refused_naming_it(tmp_path):
    colorzoo.build_model("unet_sequential", image_size=32, width=0.125).save(tmp_path / "narrow.keras")
    with pytest.raises(hub.ModelFileError, match=r"narrow.keras: its weights do not fit unet_sequential.*options"):
        colorzoo.build_model("unet_sequential", image_size=32, width=0.25, weights=tmp_path / "narrow.keras")
    # another architecture: Keras's reason, on the line after its summary, is kept (before: cut at the colon)
    with pytest.raises(hub.ModelFileError, match=r"narrow.keras: .*Example error message for object .*: \S"):
        colorzoo.build_model("resnet18_decoder", image_size=32, width=0.125, weights=tmp_path / "narrow.keras")
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    (tmp_path / "broken.weights.h5").write_bytes(b"not hdf5")
    damaged = bytearray((tmp_path / "narrow.keras").read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # one flipped byte inside the stored weights: a bad CRC
    (tmp_path / "damaged.keras").write_bytes(damaged)
    for path, message in [
        (tmp_path / "broken.keras", "not a .keras model archive"),
        (tmp_path / "broken.weights.h5", "a damaged weights file .*; copy or download it again"),  # before: "do not fit"
        (tmp_path / "damaged.keras", r"a damaged weights file \(Bad CRC-32"),
        (tmp_path / "missing.keras", "no such weights file or folder"),
        (tmp_path / "photo.jpg", "weights must be a .keras or .weights.h5 file"),
    ]:
        with pytest.raises(hub.ModelFileError, match=f"{path.name}: {message}"):
            colorzoo.build_model("unet_sequential", image_size=32, width=0.125, weights=path)
    with pytest.raises(ValueError, match="weights must be None, 'colorzoo' or a path, got 3"):
        colorzoo.build_model("unet_sequential", image_size=32, weights=3)
    with pytest.raises(ValueError, match="loads every layer of vgg16_autoencoder; drop encoder_weights"):
        colorzoo.build_model("vgg16_autoencoder", image_size=32, encoder_weights="hed", weights=tmp_path / "a.keras")


def test_weights_file_of_a_model_with_a_pretrained_encoder_downloads_nothing(tmp_path):
    """vgg16_autoencoder defaults to ImageNet weights (a download); a file of all its weights needs none."""
    trained = colorzoo.build_model("vgg16_autoencoder", image_size=32, width=0.125, encoder_weights=None)
    trained.save(tmp_path / "vgg.keras")
    model = colorzoo.build_model("vgg16_autoencoder", image_size=32, width=0.125, weights=tmp_path / "vgg.keras")
    for expected, actual in zip(trained.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(actual, expected)


def test_weights_folder_loads_the_model_shipped_there(tmp_path):
    trained = colorzoo.build_model("unet_sequential", image_size=32, width=0.125)
    trained.save(tmp_path / "unet.keras")
    entry = {"file": "unet.keras", "sha256": hub.sha256_of(tmp_path / "unet.keras"), "image_size": 32}
    (tmp_path / hub.MANIFEST).write_text(json.dumps({"unet_sequential": entry}))
    model = colorzoo.build_model("unet_sequential", weights=tmp_path)
    for expected, actual in zip(trained.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(actual, expected)
    with pytest.raises(ValueError, match="loads the shipped unet_sequential as trained; drop width"):
        colorzoo.build_model("unet_sequential", weights=tmp_path, width=0.125)
    with pytest.raises(hub.ModelFileError, match="no shipped weights for 'resnet18_decoder'"):
        colorzoo.build_model("resnet18_decoder", weights=str(tmp_path))
    # A folder without a manifest (before: "no such manifest of shipped weights ... reinstall colorzoo")
    exported = tmp_path / "exported"
    exported.mkdir()
    with pytest.raises(hub.ModelFileError, match=r"exported': a folder without manifest.json; weights= takes 'colorzoo'"):
        colorzoo.build_model("unet_sequential", weights=exported, image_size=32)  # before: "drop image_size"
    (exported / "saved_model.pb").write_bytes(b"")
    with pytest.raises(hub.ModelFileError, match=r"\.weights\.h5 file \(a TensorFlow SavedModel, e\.g\. from model\.export"):
        colorzoo.build_model("unet_sequential", weights=exported)


def conv_net(channels=2, name=None):
    inputs = keras.Input((None, None, 1))
    return keras.Model(inputs, keras.layers.Conv2D(channels, 3, padding="same")(inputs), name=name)


@pytest.mark.parametrize(
    "metadata, message",
    [
        ({"color_space": "rgb"}, "color_space must be one of"),
        ({"stride": 0}, "stride must be a positive whole number, got 0"),
        ({"native_size": 12.5}, "native_size must be a positive whole number"),
    ],
)
def test_registration_checks_its_metadata(metadata, message, register):
    with pytest.raises(ValueError, match=message):  # before: accepted, then a failure deep in colorize
        register("checked_net", conv_net, **metadata)
    assert "checked_net" not in colorzoo.list_models()


def test_a_builder_taking_keyword_arguments_receives_every_option(register):
    """Before: ``my_net has no option 'width'; its options: image_size, kwargs``."""
    received = {}

    def wrapped_net(image_size=32, **options):
        received.update(options, image_size=image_size)
        return conv_net()

    register("wrapped_net", wrapped_net)
    colorzoo.build_model("wrapped_net", image_size=48, width=0.5, encoder_weights="hed")
    assert received == {"image_size": 48, "width": 0.5, "encoder_weights": "hed"}


def test_built_models_are_checked_and_carry_their_registry_name(register):
    register("unnamed_net", conv_net)
    register("three_channel_net", lambda: conv_net(channels=3))
    register("not_a_model", lambda: None)
    model = colorzoo.build_model("unnamed_net")  # the builder names it "functional"
    assert model.name == "unnamed_net"  # train() and colorize() find the registry entry by it
    with pytest.raises(ValueError, match=r"three_channel_net: .* to \(h, w, 2\) chroma; .* to \(None, None, 3\)"):
        colorzoo.build_model("three_channel_net")
    with pytest.raises(TypeError, match="the builder of 'not_a_model' returned NoneType"):
        colorzoo.build_model("not_a_model")


@pytest.mark.parametrize(
    "name, options, message",
    [  # before: Keras's "must be a tuple of 2 integers", "got 3" for "3", a slice TypeError, a frozen encoder
        ("unet_sequential", {"kernel_size": 3.0}, "kernel_size must be one of (3, 5, 7), got 3.0"),
        ("unet_sequential", {"kernel_size": "3"}, "kernel_size must be one of (3, 5, 7), got '3'"),
        ("pix2pix", {"width": 0.125, "depth": 2.0}, "depth must be a whole number from 1 to 8, got 2.0"),
        ("ddcolor_lite", {"preset": "lite", "freeze_encoder": "no"}, "freeze_encoder must be True or False, got 'no'"),
    ],
)
def test_options_of_the_wrong_type_are_refused_by_name(name, options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        colorzoo.build_model(name, image_size=32, **options)


def test_a_recipe_without_what_compile_model_needs_is_refused_at_registration(register):
    def builder(image_size=32):
        luminance = keras.Input((image_size, image_size, 1))
        return keras.Model(luminance, keras.layers.Conv2D(2, 3, padding="same")(luminance))

    with pytest.raises(ValueError, match=r"recipe of 'partial_net' lacks \['optimizer', 'learning_rate'\]"):
        register("partial_net", builder, recipe={"loss": "mae"})  # before: KeyError in compile_model later
