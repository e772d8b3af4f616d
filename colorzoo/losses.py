"""Losses beyond L1 on the chroma: perceptual (VGG16) and colourfulness (DDColor), computed on the
RGB image a prediction gives, and the chroma shortfall against the truth.

All take ``y_true`` and ``y_pred`` as the normalised luminance and chroma concatenated,
``(B, H, W, 3)`` = ``(L / 100, a / 128, b / 128)`` (or ``(Y, U, V)`` normalised with
``color_space="yuv"``). :func:`with_luminance` adapts them to
:class:`colorzoo.gan.GANTrainer`'s ``extra_generator_losses`` signature
``fn(ab_true, ab_pred, luminance)``.

Example:

>>> perceptual = PerceptualLoss(encoder_weights="hed")
>>> value = perceptual(ops.concatenate([l, ab], -1), ops.concatenate([l, ab_pred], -1))
>>> trainer = GANTrainer(generator, discriminator, extra_generator_losses={
...     "perceptual": (5.0, with_luminance(perceptual)),
...     "colourfulness": (0.5, with_luminance(ColourfulnessLoss())),
... })
"""

import math
import numbers

import keras
from keras import ops

from colorzoo import color
from colorzoo.encoders import VGG16_LAYER_NAMES, load_vgg16_weights, vgg16_trunk
from colorzoo.layers import VGG_BGR_MEANS

# DDColor's layer weights, its conv{n}_1 of VGG16 under keras.applications names.
DDCOLOR_PERCEPTUAL_LAYERS = {
    "block1_conv1": 0.0625,
    "block2_conv1": 0.125,
    "block3_conv1": 0.25,
    "block4_conv1": 0.5,
    "block5_conv1": 1.0,
}
_SQRT_EPSILON = 1e-12  # keeps the square roots differentiable at 0 (a gray image), biases them by <= 1e-6


def luminance_chroma_to_rgb(luminance_chroma, color_space="lab"):
    """``(B, H, W, 3)`` normalised (luminance, chroma) -> sRGB in [0, 1], via colorzoo.color."""
    luminance_chroma = ops.cast(luminance_chroma, "float32")
    return color.model_output_to_rgb(luminance_chroma[..., :1], luminance_chroma[..., 1:], color_space)


def _check_luminance_chroma(tensor, loss_name, min_side=1):
    """Refuse, from the static shape, what a (luminance, chroma) loss would misread or crash on."""
    shape = tuple(tensor.shape)
    if len(shape) != 4 or shape[-1] not in (None, 3):
        raise ValueError(
            f"{loss_name} takes normalised (luminance, chroma) images (B, H, W, 3), got shape {shape}; "
            "wrap it with with_luminance() to apply it to ab alone"
        )
    if any(side is not None and side < min_side for side in shape[1:3]):
        raise ValueError(f"{loss_name} needs images of at least {min_side} pixels a side, got shape {shape}")


def with_luminance(loss):
    """Adapt a loss on concatenated (luminance, chroma) to ``fn(ab_true, ab_pred, luminance)``
    returning the loss of each image (``loss.call``: not reduced, not scaled for distribution).

    The result is what :class:`colorzoo.gan.GANTrainer` takes in ``extra_generator_losses``; it
    sums the images' losses and divides by the global batch size itself.

    Example:

    >>> extra = {"colourfulness": (0.5, with_luminance(ColourfulnessLoss()))}
    """

    def loss_fn(ab_true, ab_pred, luminance):
        luminance = ops.cast(luminance, "float32")
        y_true = ops.concatenate([luminance, ops.cast(ab_true, "float32")], axis=-1)
        y_pred = ops.concatenate([luminance, ops.cast(ab_pred, "float32")], axis=-1)
        return loss.call(y_true, y_pred)

    return loss_fn


def colourfulness(rgb):
    """DDColor's colourfulness of each image of a ``(B, H, W, 3)`` sRGB batch in [0, 1], shape ``(B,)``.

    Hasler and Suesstrunk's ``sigma_rgyb + 0.3 mu_rgyb`` with DDColor's choices: the opponent
    channels are absolute values, ``rg = |R - G|`` and ``yb = |(R + G) / 2 - B|``, on the [0, 1]
    scale, with the unbiased (n - 1) standard deviation. A gray image scores 0; the metric of
    the paper (signed opponents on 0-255) is not this one.
    """
    rgb = ops.cast(rgb, "float32")
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    opponents = [ops.abs(red - green), ops.abs(0.5 * (red + green) - blue)]
    count = ops.cast(ops.prod(ops.shape(red)[1:]), "float32")
    means, variances = [], []
    for channel in opponents:
        flat = ops.reshape(channel, (ops.shape(channel)[0], -1))
        mean = ops.mean(flat, axis=1)
        means.append(mean)
        variances.append(ops.sum(ops.square(flat - mean[:, None]), axis=1) / ops.maximum(count - 1.0, 1.0))
    std_root = ops.sqrt(variances[0] + variances[1] + _SQRT_EPSILON)
    mean_root = ops.sqrt(ops.square(means[0]) + ops.square(means[1]) + _SQRT_EPSILON)
    return std_root + 0.3 * mean_root


@keras.saving.register_keras_serializable(package="colorzoo")
class ColourfulnessLoss(keras.losses.Loss):
    """DDColor's colourfulness loss: ``1 - colourfulness(RGB(y_pred)) / scale`` per image.

    ``y_true`` is ignored (the loss rewards vivid predictions); ``y_pred`` is the normalised
    (luminance, chroma) of the prediction, ``(B, H, W, 3)``. ``scale=1`` is DDColor (RGB in
    [0, 1]; a gray image gives 1, typical photos 0.6-0.9). DDColor sums over the batch; this
    averages, like every Keras loss.

    Example:

    >>> loss = ColourfulnessLoss()
    >>> loss(y_true, ops.concatenate([luminance, ab_pred], axis=-1))
    """

    def __init__(self, scale=1.0, color_space="lab", name="colourfulness", **kwargs):
        super().__init__(name=name, **kwargs)
        color.check_color_space(color_space)
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not 0 < scale < math.inf:
            raise ValueError(f"scale must be a positive number, got {scale!r}")
        self.scale = scale
        self.color_space = color_space

    def call(self, y_true, y_pred):
        _check_luminance_chroma(y_pred, self.name)
        return 1.0 - colourfulness(luminance_chroma_to_rgb(y_pred, self.color_space)) / self.scale

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "color_space": self.color_space}


@keras.saving.register_keras_serializable(package="colorzoo")
class ChromaShortfallLoss(keras.losses.Loss):
    """How far each prediction's mean chroma falls short of its truth's, ``max(0, c_true - c_pred)``.

    ``c`` is the mean over pixels of ``sqrt(a^2 + b^2)`` on the normalised chroma (``ab / 128``,
    or UV). L1 and L2 losses shrink chroma towards gray wherever the colour is uncertain; this
    loss pushes the predicted chroma of each image outwards, along the hues the model already
    predicts, until it is as saturated as the photo, and costs nothing from there on. Its
    gradient scales each pixel's chroma along its own hue; :class:`ColourfulnessLoss`, a
    standard deviation of opponent colours, also rewards variance, which a generator can supply
    with noisy patches of wrong colour (seen when pix2pix was fine-tuned with it).

    Args:
        per_pixel: compare each pixel's chroma with its truth's instead, ``mean max(0, |ab_true| -
            |ab_pred|)``: the push goes to the pixels that are colourful in the photo, and none
            to those that are gray in it (a per-image mean can be met by tinting them).
        along_true_hue: compare each pixel's chroma along its truth's hue (implies ``per_pixel``),
            ``mean max(0, |ab_true| - ab_pred . ab_true / |ab_true|)``: a pixel whose hue the model
            knows is pushed to the photo's saturation, while where the photos of a pattern
            disagree on the hue (red or blue) the pushes cancel and L1's hedge towards gray
            stays, instead of a confident wrong colour.

    Example:

    >>> extra = {"chroma_shortfall": (20.0, with_luminance(ChromaShortfallLoss()))}
    """

    def __init__(self, per_pixel=False, along_true_hue=False, name="chroma_shortfall", **kwargs):
        super().__init__(name=name, **kwargs)
        self.per_pixel = bool(per_pixel or along_true_hue)
        self.along_true_hue = bool(along_true_hue)

    def call(self, y_true, y_pred):
        _check_luminance_chroma(y_true, self.name)
        _check_luminance_chroma(y_pred, self.name)
        if self.per_pixel:
            true_chroma, predicted_chroma = _chroma(y_true), _chroma(y_pred)
            true_magnitude = _magnitude(true_chroma)
            if self.along_true_hue:
                predicted = ops.sum(predicted_chroma * true_chroma, axis=-1) / true_magnitude
            else:
                predicted = _magnitude(predicted_chroma)
            shortfall = ops.relu(true_magnitude - predicted)
            return ops.mean(ops.reshape(shortfall, (ops.shape(shortfall)[0], -1)), axis=1)
        return ops.relu(_mean_chroma(y_true) - _mean_chroma(y_pred))

    def get_config(self):
        return {**super().get_config(), "per_pixel": self.per_pixel, "along_true_hue": self.along_true_hue}


def chroma_shortfall_losses(weight, per_pixel=False, along_true_hue=False):
    """``{"chroma_shortfall": (weight, fn)}`` for :class:`colorzoo.gan.GANTrainer`'s
    ``extra_generator_losses`` (a :class:`ChromaShortfallLoss` :func:`with_luminance`); empty for
    ``weight`` 0, so the GAN recipes' ``chroma_weight`` option adds nothing by default.

    >>> extra = {"perceptual": (1.0, with_luminance(PerceptualLoss())), **chroma_shortfall_losses(20, per_pixel=True)}
    """
    if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not 0 <= weight < math.inf:
        raise ValueError(f"chroma_weight must be a number of at least 0, got {weight!r}")
    if not weight:
        return {}
    return {"chroma_shortfall": (weight, with_luminance(ChromaShortfallLoss(per_pixel, along_true_hue)))}


def _chroma(luminance_chroma):
    return ops.cast(luminance_chroma, "float32")[..., 1:]


def _magnitude(chroma):
    return ops.sqrt(ops.sum(ops.square(chroma), axis=-1) + _SQRT_EPSILON)


def _mean_chroma(luminance_chroma):
    magnitude = _magnitude(_chroma(luminance_chroma))
    return ops.mean(ops.reshape(magnitude, (ops.shape(magnitude)[0], -1)), axis=1)


@keras.saving.register_keras_serializable(package="colorzoo")
class PerceptualLoss(keras.losses.Loss):
    """Weighted L1 distance of VGG16 features of the predicted and the true RGB images.

    After DDColor (and BasicSR): ``sum_k w_k mean|phi_k(RGB(y_pred)) - phi_k(RGB(y_true))|``
    over the layers of ``layer_weights`` (default: each block's first convolution with DDColor's
    weights 1/16 ... 1). The true features get no gradient. DDColor takes the convolution outputs
    of a batch-normalised VGG16 (before its BatchNorm) on ImageNet-normalised RGB; these are
    keras.applications VGG16's features after the ReLU, on caffe-preprocessed input: another
    scale, so a weight means something else than DDColor's.

    Args:
        layer_weights: dict from VGG16 layer name (``block3_conv1``) to weight.
        encoder_weights: the VGG16 weights, ``"imagenet"``, ``"hed"`` (offline), a path or
            ``None`` (random; for tests), as :func:`colorzoo.encoders.load_vgg16_weights`.
        color_space: of the (luminance, chroma) inputs.

    Example:

    >>> loss = PerceptualLoss(encoder_weights="hed")
    >>> loss(ops.concatenate([l, ab], -1), ops.concatenate([l, ab_pred], -1))
    """

    def __init__(self, layer_weights=None, encoder_weights="imagenet", color_space="lab", name="perceptual", **kwargs):
        super().__init__(name=name, **kwargs)
        self.layer_weights = dict(layer_weights or DDCOLOR_PERCEPTUAL_LAYERS)
        self.encoder_weights = encoder_weights
        self.color_space = color_space
        unknown = sorted(set(self.layer_weights) - set(VGG16_LAYER_NAMES))
        if unknown:
            raise ValueError(f"layer_weights names unknown VGG16 layers {unknown}; known: {VGG16_LAYER_NAMES}")
        last_block = max(int(layer_name[len("block")]) for layer_name in self.layer_weights)
        self.min_side = 2 ** (last_block - 1)  # one pixel left after the poolings before the last block
        inputs = keras.Input((None, None, 3), name="vgg_input")
        features = vgg16_trunk(inputs, trainable=False, last_block=last_block)
        outputs = [features[layer_name] for layer_name in self.layer_weights]
        self.vgg = keras.Model(inputs, outputs, name="vgg16_features")
        load_vgg16_weights(self.vgg, encoder_weights)

    def _features(self, luminance_chroma):
        rgb = luminance_chroma_to_rgb(luminance_chroma, self.color_space)
        bgr = ops.flip(rgb, axis=-1) * 255.0 - ops.convert_to_tensor(VGG_BGR_MEANS, "float32")
        features = self.vgg(bgr, training=False)
        return features if isinstance(features, (list, tuple)) else [features]

    def call(self, y_true, y_pred):
        _check_luminance_chroma(y_true, self.name, self.min_side)
        _check_luminance_chroma(y_pred, self.name, self.min_side)
        true_features = [ops.stop_gradient(feature) for feature in self._features(y_true)]
        loss = 0.0
        for weight, true, pred in zip(self.layer_weights.values(), true_features, self._features(y_pred)):
            loss = loss + weight * ops.mean(ops.abs(pred - true), axis=(1, 2, 3))
        return loss

    def get_config(self):
        return {
            **super().get_config(),
            "layer_weights": self.layer_weights,
            "encoder_weights": self.encoder_weights,
            "color_space": self.color_space,
        }
