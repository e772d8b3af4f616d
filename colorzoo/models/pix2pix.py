"""The pix2pix generator and PatchGAN of "Automatic image colorization using deep learning".

After Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks" (2017),
as the report uses it for L -> ab:

- generator (``backbone="unet"``): a U-Net of eight 4x4 stride-2 convolutions
  C64-C128-C256-C512-C512-C512-C512-C512 (LeakyReLU 0.2, batch norm on all but the first and
  the innermost, as the authors' code: a 1 x 1 bottleneck of a batch of one would normalise to a
  constant), then 4x4 stride-2 transposed convolutions (batch norm, ReLU, dropout 0.5 on the
  first three) each concatenated with the encoder map of its resolution, and a last transposed
  convolution + tanh to the two ab channels. Weights start from N(0, 0.02) as in the paper.
- generator (``backbone="resnet18"``): the report's second generator, a U-Net whose encoder is
  ResNet-18 (skips from its stem and layers 1-3, ``layer4`` at the bottom, stride 32) and whose
  decoder has five stages of bilinear x2 upsampling, concatenation and two 3x3 conv-BN-ReLU.
- :func:`patchgan_discriminator`: the 70 x 70 PatchGAN C64-C128-C256-C512 on (L, ab).

The registry's recipe (L1, with the GAN stage's Adam 2e-4, beta_1 0.5; the tutorial the report
follows pretrains with Adam 1e-4, beta_1 0.9) trains the generator alone: it is the first,
L1-pretraining stage of the report's two-stage recipe; the second stage is adversarial training
with :class:`colorzoo.gan.GANTrainer` (the recipe's ``"trainer"``).

Unlike the sources: the ResNet-18 encoder starts from random weights (the tutorial starts it from
ImageNet's; no offline ResNet-18 weights exist here), and the generator colorizes as a Keras model
does, with dropout off and BatchNorm's moving statistics, so a photo always gets the same colours
(the paper keeps dropout on at test time and normalises with the test batch's statistics). The generator is the model
that is saved and loaded. At 256 x 256 x 1 and width 1.0 the U-Net generator has 54,420,290
parameters and the ResNet-18 one 14,333,666; the discriminator has 2,767,425.
"""

import math
import numbers
import re

import keras

from colorzoo.encoders import resnet18_trunk
from colorzoo.layers import ScaleLuminance
from colorzoo.losses import chroma_shortfall_losses
from colorzoo.models.registry import register_model

BACKBONES = ("unet", "resnet18")
UNET_FILTERS = (64, 128, 256, 512, 512, 512, 512, 512)
UNET_DROPOUT_BLOCKS = 3
RESNET_SKIPS = ("layer3", "layer2", "layer1", "stem", None)
RESNET_DECODER_FILTERS = (256, 128, 64, 32, 16)
PATCHGAN_FILTERS = (64, 128, 256)
STRIDE = 32  # image sizes are multiples of it; the ResNet-18 backbone's down-sampling
LEAKY_SLOPE = 0.2
L1_WEIGHT = 100.0  # the paper's lambda


def _gan_trainer(
    generator,
    learning_rate=None,
    l1_weight=L1_WEIGHT,
    adversarial_weight=1.0,
    chroma_weight=0.0,
    chroma_per_pixel=False,
    chroma_along_true_hue=False,
    discriminator_width=None,
):
    """The recipe's second stage: a compiled :class:`colorzoo.gan.GANTrainer` around ``generator``.

    Its keyword arguments are the trainer options of ``colorzoo train --trainer-option``; see
    :func:`colorzoo.gan.pix2pix_trainer`. ``chroma_weight > 0`` (the paper has none) adds
    :class:`~colorzoo.losses.ChromaShortfallLoss`, which counters the desaturation L1 brings;
    ``chroma_per_pixel`` compares each pixel's chroma instead of each image's mean,
    ``chroma_along_true_hue`` each pixel's chroma along its photo's hue.
    """
    from colorzoo.gan import pix2pix_trainer  # colorzoo.gan builds on this module

    return pix2pix_trainer(
        generator, learning_rate=learning_rate, l1_weight=l1_weight, adversarial_weight=adversarial_weight,
        discriminator_width=discriminator_width,
        extra_generator_losses=chroma_shortfall_losses(chroma_weight, chroma_per_pixel, chroma_along_true_hue),
    )


def built_stride(generator):
    """The down-sampling of a built generator: ``2**depth`` for the U-Net, 32 for ResNet-18."""
    depth = sum(1 for layer in generator.layers if re.fullmatch(r"enc\d+_conv", layer.name))
    return 2**depth if depth else STRIDE


@register_model(
    "pix2pix",
    color_space="lab",
    output="ab",
    native_size=256,
    stride=built_stride,
    paper='"Automatic image colorization using deep learning" (after P. Isola et al., "pix2pix", 2017)',
    recipe={
        "optimizer": "adam",
        "learning_rate": 2e-4,
        "optimizer_kwargs": {"beta_1": 0.5},
        "loss": "mae",
        "trainer": _gan_trainer,
    },
    small={"image_size": 64, "width": 0.125},
)
def pix2pix(image_size=256, backbone="unet", width=1.0, depth=None):
    """Build the pix2pix generator: normalised L (B, H, W, 1) -> normalised ab (B, H, W, 2).

    Args:
        image_size: input side; a multiple of 32. The U-Net takes ``image_size`` down to
            ``image_size / 2**depth``.
        backbone: ``"unet"`` (the paper's generator) or ``"resnet18"`` (ResNet-18 encoder).
        width: multiplies every channel count (1.0 is the paper); e.g. 0.25 for CPU.
        depth: U-Net only, the number of stride-2 convolutions (1 to 8; ``image_size`` must be a
            multiple of ``2**depth``). ``None`` takes as many as ``image_size`` allows, at most
            the paper's 8: 8 at 256 px (a 1 x 1 bottleneck), 7 at 128, 6 at 64, 5 at 32 or 96.
            The encoder keeps the first ``depth`` filter counts of C64-...-C512.

    Example:

    >>> generator = build_model("pix2pix")                       # 256 px U-Net, 54,420,290 parameters
    >>> compile_model(generator)                                 # stage 1: Adam 2e-4 (beta_1 0.5), L1
    >>> generator = build_model("pix2pix", backbone="resnet18")  # 14,333,666 parameters
    """
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, got {backbone!r}")
    if image_size % STRIDE:
        raise ValueError(f"image_size must be a multiple of {STRIDE}, got {image_size}")
    if backbone == "resnet18" and depth is not None:
        raise ValueError("depth applies to the U-Net backbone only; the ResNet-18 backbone has stride 32")

    # === Layers ===
    inputs = keras.Input((image_size, image_size, 1), name="luminance")
    x = ScaleLuminance(scale=2.0, offset=-1.0, name="input_scale")(inputs)  # [0, 1] -> [-1, 1]
    if backbone == "unet":
        x = _unet(x, _unet_depth(image_size, depth), width)
    else:
        x = _resnet18_unet(x, width)

    # === Functional Model ===
    model = keras.Model(inputs, x, name="pix2pix")
    return model


def _unet_depth(image_size, depth):
    if depth is None:
        powers_of_two = int(math.log2(image_size & -image_size))  # largest 2**k dividing image_size
        return min(len(UNET_FILTERS), powers_of_two)
    whole = isinstance(depth, numbers.Integral) and not isinstance(depth, bool)
    if not whole or depth not in range(1, len(UNET_FILTERS) + 1):
        raise ValueError(f"depth must be a whole number from 1 to {len(UNET_FILTERS)}, got {depth!r}")
    if image_size % 2**depth:
        raise ValueError(f"image_size must be a multiple of 2**depth = {2**depth}, got {image_size}")
    return depth


def _init():
    return keras.initializers.RandomNormal(stddev=0.02)


def _scaled(count, width):
    return max(2, int(round(count * width)))


def _unet(x, depth, width):
    """The pix2pix U-Net on a [-1, 1] input: ``depth`` encoder blocks, ``depth - 1`` decoder blocks."""
    skips = []
    for index, count in enumerate(UNET_FILTERS[:depth], start=1):
        normalise = 1 < index < depth
        x = keras.layers.Conv2D(
            _scaled(count, width), 4, strides=2, padding="same", use_bias=not normalise,
            kernel_initializer=_init(), name=f"enc{index}_conv",
        )(x)
        if normalise:
            x = keras.layers.BatchNormalization(name=f"enc{index}_bn")(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"enc{index}_act")(x)
        skips.append(x)
    # Decoder block n returns to the resolution of encoder block depth - n and takes its filters.
    for index, skip in enumerate(reversed(skips[:-1]), start=1):
        x = keras.layers.Conv2DTranspose(
            skip.shape[-1], 4, strides=2, padding="same", use_bias=False,
            kernel_initializer=_init(), name=f"dec{index}_deconv",
        )(x)
        x = keras.layers.BatchNormalization(name=f"dec{index}_bn")(x)
        if index <= UNET_DROPOUT_BLOCKS:
            x = keras.layers.Dropout(0.5, name=f"dec{index}_dropout")(x)
        x = keras.layers.ReLU(name=f"dec{index}_act")(x)
        x = keras.layers.Concatenate(name=f"dec{index}_concat")([x, skip])
    return keras.layers.Conv2DTranspose(
        2, 4, strides=2, padding="same", activation="tanh", kernel_initializer=_init(), name="ab"
    )(x)


def _resnet18_unet(x, width):
    """ResNet-18 encoder, five upsampling decoder stages with skips from stem and layers 1-3."""
    features = resnet18_trunk(x, width=width)
    x = features["layer4"]
    for stage, (skip, count) in enumerate(zip(RESNET_SKIPS, RESNET_DECODER_FILTERS), start=1):
        x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"decoder_stage{stage}_upsample")(x)
        if skip is not None:
            x = keras.layers.Concatenate(name=f"decoder_stage{stage}_concat")([x, features[skip]])
        for part in "ab":
            x = keras.layers.Conv2D(
                _scaled(count, width), 3, padding="same", use_bias=False, name=f"decoder_stage{stage}{part}_conv"
            )(x)
            x = keras.layers.BatchNormalization(name=f"decoder_stage{stage}{part}_bn")(x)
            x = keras.layers.ReLU(name=f"decoder_stage{stage}{part}_relu")(x)
    return keras.layers.Conv2D(2, 3, padding="same", activation="tanh", name="ab")(x)


def patchgan_discriminator(image_size=256, width=1.0):
    """The 70 x 70 PatchGAN of pix2pix: (normalised L, normalised ab) -> one logit per patch.

    C64-C128-C256 (4x4 stride-2 convolutions, LeakyReLU 0.2, batch norm but on the first), then
    C512 and a one-channel 4x4 convolution at stride 1. Each logit sees a 70 x 70 patch; the grid
    is ``image_size / 8 - 2`` on a side (30 x 30 at 256 px).

    Args:
        image_size: input side; a multiple of 8, at least 24.
        width: multiplies every channel count (1.0 is the paper).

    Example:

    >>> discriminator = patchgan_discriminator(256)
    >>> logits = discriminator([luminance, ab])          # (B, 30, 30, 1)
    """
    if image_size % 8 or image_size < 24:
        raise ValueError(f"image_size must be a multiple of 8 and at least 24, got {image_size}")
    if isinstance(width, bool) or not isinstance(width, numbers.Real) or not 0 < width < math.inf:
        raise ValueError(f"the discriminator's width must be a positive number, got {width!r}")

    # === Layers ===
    luminance = keras.Input((image_size, image_size, 1), name="luminance")
    ab = keras.Input((image_size, image_size, 2), name="ab")
    x = ScaleLuminance(scale=2.0, offset=-1.0, name="input_scale")(luminance)
    x = keras.layers.Concatenate(name="input_concat")([x, ab])
    for index, count in enumerate(PATCHGAN_FILTERS, start=1):
        x = keras.layers.Conv2D(
            _scaled(count, width), 4, strides=2, padding="same", use_bias=index == 1,
            kernel_initializer=_init(), name=f"block{index}_conv",
        )(x)
        if index > 1:
            x = keras.layers.BatchNormalization(name=f"block{index}_bn")(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"block{index}_act")(x)
    x = keras.layers.ZeroPadding2D(1, name="block4_pad")(x)
    x = keras.layers.Conv2D(_scaled(512, width), 4, use_bias=False, kernel_initializer=_init(), name="block4_conv")(x)
    x = keras.layers.BatchNormalization(name="block4_bn")(x)
    x = keras.layers.LeakyReLU(LEAKY_SLOPE, name="block4_act")(x)
    x = keras.layers.ZeroPadding2D(1, name="logits_pad")(x)
    x = keras.layers.Conv2D(1, 4, kernel_initializer=_init(), name="logits")(x)

    # === Functional Model ===
    return keras.Model([luminance, ab], x, name="patchgan")
