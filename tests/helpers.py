"""Shared checks every registered model goes through (as KerasHub's run_backbone_test)."""

import keras
import numpy as np

import colorzoo
from colorzoo.models import model_info
from colorzoo.training import compile_model


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
