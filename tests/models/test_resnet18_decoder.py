"""resnet18_decoder: the encoder cut, weights options, and the averaging ensemble."""

import keras
import numpy as np
import pytest

import colorzoo
from colorzoo.encoders import resnet18_trunk
from colorzoo.models import registry
from colorzoo.models.resnet18_decoder import build_ensemble, resnet18_decoder
from tests.conftest import sample_batch

SIZE = 32


def tiny(**kwargs):
    return resnet18_decoder(**{"image_size": SIZE, "width": 0.25, **kwargs})


@pytest.mark.parametrize("width", [0.25, 1.0])
def test_encoder_cut_is_layer2_at_one_eighth(width):
    model = tiny(width=width)
    assert model.get_layer("layer2_1_out").output.shape == (None, SIZE // 8, SIZE // 8, int(128 * width))
    assert model.get_layer("dec1_conv").input.shape == model.get_layer("layer2_1_out").output.shape
    assert not [layer for layer in model.layers if layer.name.startswith("layer3")]
    assert model.output.shape == (None, SIZE, SIZE, 2)


def test_parameter_count_at_native_size():
    assert resnet18_decoder().count_params() == 957_218


def test_trunk_strided_layers_sample_even_pixels_as_torchvision():
    inputs = keras.Input((16, 16, 1))
    features = resnet18_trunk(inputs, stages=2, width=0.125)
    model = keras.Model(inputs, features["layer2"])
    probe = keras.Model(
        inputs, [model.get_layer("conv1").output, features["layer1"], model.get_layer("layer2_0_conv1").output]
    )
    for name, size in (("conv1", 7), ("layer2_0_conv1", 3)):
        layer = model.get_layer(name)
        kernel = np.zeros(layer.kernel.shape, "float32")
        kernel[size // 2, size // 2, 0, 0] = 1.0  # output channel 0 copies input channel 0 at the centre
        layer.kernel.assign(kernel)
    image = np.random.default_rng(0).random((1, 16, 16, 1)).astype("float32")
    stem, layer1, layer2_conv = probe.predict(image, verbose=0)
    np.testing.assert_allclose(stem[0, :, :, 0], image[0, ::2, ::2, 0], atol=1e-6)
    np.testing.assert_allclose(layer2_conv[0, :, :, 0], layer1[0, ::2, ::2, 0], atol=1e-6)


@pytest.mark.parametrize("weights", ["imagenet", "hed"])
def test_pretrained_encoder_weights_are_refused(weights):
    """keras.applications has no ResNet-18: the encoder starts from random weights, as in the report."""
    with pytest.raises(ValueError, match="resnet18_decoder has no pretrained encoder"):
        colorzoo.build_model("resnet18_decoder", image_size=SIZE, width=0.25, encoder_weights=weights)


def test_weights_file_of_same_config_loads(tmp_path):
    luminance, _ = sample_batch(SIZE)
    source = tiny()
    path = str(tmp_path / "resnet18.weights.h5")
    source.save_weights(path)
    loaded = colorzoo.build_model("resnet18_decoder", image_size=SIZE, width=0.25, weights=path)
    np.testing.assert_allclose(loaded.predict(luminance, verbose=0), source.predict(luminance, verbose=0), atol=1e-6)


def test_image_size_must_be_multiple_of_stride():
    with pytest.raises(ValueError, match="multiple of 8"):
        tiny(image_size=36)


def test_ensemble_averages_members_and_round_trips(tmp_path):
    luminance, _ = sample_batch(SIZE)
    members = [tiny() for _ in range(3)]
    ensemble = build_ensemble(members)
    expected = np.mean([member.predict(luminance, verbose=0) for member in members], axis=0)
    output = ensemble.predict(luminance, verbose=0)
    np.testing.assert_allclose(output, expected, atol=1e-6)
    assert [layer.name for layer in ensemble.layers] == ["luminance", "member_0", "member_1", "member_2", "ab_average"]
    assert ensemble.name == "resnet18_ensemble"

    path = str(tmp_path / "ensemble.keras")
    ensemble.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored.predict(luminance, verbose=0), output, atol=1e-6)
    assert restored.count_params() == ensemble.count_params() == 3 * members[0].count_params()


def test_ensemble_rejects_mismatched_members(monkeypatch):
    with pytest.raises(ValueError, match="input shape"):
        build_ensemble([tiny(), tiny(image_size=2 * SIZE)])
    with pytest.raises(ValueError, match="at least two"):
        build_ensemble([tiny()])

    inputs = keras.Input((SIZE, SIZE, 1))
    yuv = keras.Model(inputs, keras.layers.Conv2D(2, 1, name="uv")(inputs), name="fake_yuv")
    with pytest.raises(ValueError, match="colour space of ensemble member 'fake_yuv'"):
        build_ensemble([tiny(), yuv])
    info = registry.ModelInfo(name="fake_yuv", builder=None, color_space="yuv")
    monkeypatch.setitem(registry._REGISTRY, "fake_yuv", info)
    with pytest.raises(ValueError, match="member 'fake_yuv' predicts ab in yuv: an ensemble averages Lab ab"):
        build_ensemble([tiny(), yuv])
    zhang = colorzoo.build_model("zhang_classification", image_size=SIZE, width=0.125)
    with pytest.raises(ValueError, match="'zhang_classification' predicts ab_bins in lab"):
        build_ensemble([zhang, zhang])


def test_registry_metadata():
    info = colorzoo.model_info("resnet18_decoder")
    assert (info.color_space, info.output, info.stride, info.native_size) == ("lab", "ab", 8, 256)
    assert info.recipe == {"optimizer": "adam", "learning_rate": 1e-3, "loss": "mse"}
