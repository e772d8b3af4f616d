import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import skimage.data
import skimage.transform
import tensorflow as tf

from colorzoo import color

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
SAMPLE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def sample_rgb(size, count=2):
    """``count`` real colour photos from scikit-image, resized to ``size`` x ``size``, float in [0, 1]."""
    photos = [getattr(skimage.data, name)() for name in SAMPLE_PHOTOS[:count]]
    return np.stack([skimage.transform.resize(p, (size, size), anti_aliasing=True) for p in photos]).astype("float32")


def sample_batch(size, count=2, color_space="lab"):
    """Normalised ``(luminance, chroma)`` of :func:`sample_rgb`, as numpy arrays."""
    luminance, chroma = color.rgb_to_model_input(tf.constant(sample_rgb(size, count)), color_space)
    return luminance.numpy(), chroma.numpy()


@pytest.fixture(autouse=True)
def cpu_without_amx(monkeypatch):
    """Every test sees a CPU without AMX, so that `colorzoo train`'s mixed_bfloat16 note (printed
    on AMX CPUs) is the same on every machine; the tests of that note set the CPU themselves."""
    from colorzoo import training

    monkeypatch.setattr(training, "CPU_FLAGS_FILE", os.path.join(os.sep, "no", "cpuinfo"))


@pytest.fixture(scope="session")
def shared_data():
    """The shared photo folder beside the checkout; tests needing it skip where it is absent."""
    path = os.path.abspath(SHARED_DATA)
    if not os.path.isdir(path):
        pytest.skip("../shared/data is not present")
    return path


@pytest.fixture
def register():
    """``register(name, builder, **metadata)`` registers a builder for one test."""
    from colorzoo.models import registry

    names = []

    def register(name, builder, **metadata):
        registry.register_model(name, **metadata)(builder)
        names.append(name)

    yield register
    for name in names:
        del registry._REGISTRY[name]
