"""The sequential encoder-decoder of "Coloring Black and White Images using Keras".

After Emil Wallner's "beta" colorization network: eight strided / plain 3x3 convolutions
down to 1/8 resolution, then convolutions and nearest upsampling back to full size, tanh
output of ab / 128. At 256 x 256 x 1 it has exactly 6,219,410 parameters.
"""

import itertools
import numbers

import keras

from colorzoo.models.registry import register_model

# (filters, strides) of the encoder and the middle, then (filters, upsample-before) of the decoder.
ENCODER = ((64, 2), (128, 1), (128, 2), (256, 1), (256, 2), (512, 1), (512, 1), (256, 1))
DECODER = ((128, False), (64, True), (32, True), (16, False))
KERNEL_SIZES = (3, 5, 7)
OPTIMIZERS = ("adamax", "adam", "rmsprop")


@register_model(
    "unet_sequential",
    color_space="lab",
    output="ab",
    native_size=256,
    stride=8,
    paper='"Coloring Black and White Images using Keras" (after E. Wallner, 2017)',
    recipe={"optimizer": "adamax", "learning_rate": 1e-3, "loss": "mse"},
    small={"image_size": 64, "width": 0.25},
)
def unet_sequential(image_size=256, kernel_size=3, padding="same", width=1.0):
    """Build the report's sequential colorization network.

    Args:
        image_size: input side; any multiple of 8 (the total stride).
        kernel_size: 3, 5 or 7 (the report's sweep).
        padding: ``"same"`` (the report) or ``"valid"`` for the report's padding experiment;
            valid padding needs ``image_size`` of at least 112, 224 or 328 for kernel 3, 5 or 7
            and returns an output resized back to ``image_size``.
        width: multiplies every filter count (1.0 is the report's network); e.g. 0.5 for CPU.

    Example:

    >>> model = build_model("unet_sequential")            # 256 px, 6,219,410 parameters
    >>> model.compile("adamax", "mse")                    # the report's optimizer sweep: adam, rmsprop
    """
    whole = isinstance(kernel_size, numbers.Integral) and not isinstance(kernel_size, bool)
    if not whole or kernel_size not in KERNEL_SIZES:
        raise ValueError(f"kernel_size must be one of {KERNEL_SIZES}, got {kernel_size!r}")
    if padding not in ("same", "valid"):
        raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
    if image_size % 8:
        raise ValueError(f"image_size must be a multiple of 8, got {image_size}")
    if padding == "valid" and _valid_padding_side(image_size, kernel_size) < 1:
        smallest = next(size for size in itertools.count(8, 8) if _valid_padding_side(size, kernel_size) >= 1)
        raise ValueError(f"padding='valid' with kernel_size {kernel_size} needs image_size >= {smallest}, "
                         f"got {image_size} (every convolution trims the map)")

    def filters(count):
        return max(2, int(round(count * width)))

    # === Layers ===
    inputs = keras.Input((image_size, image_size, 1), name="luminance")
    x = inputs
    for index, (count, strides) in enumerate(ENCODER, start=1):
        x = keras.layers.Conv2D(
            filters(count), kernel_size, strides=strides, padding=padding, activation="relu", name=f"enc{index}_conv"
        )(x)
    for index, (count, upsample) in enumerate(DECODER, start=1):
        if upsample:
            x = keras.layers.UpSampling2D(2, name=f"dec{index}_upsample")(x)
        x = keras.layers.Conv2D(filters(count), kernel_size, padding=padding, activation="relu", name=f"dec{index}_conv")(x)
    x = keras.layers.Conv2D(2, kernel_size, padding=padding, activation="tanh", name="ab_conv")(x)
    x = keras.layers.UpSampling2D(2, name="ab_upsample")(x)
    if padding == "valid":
        x = keras.layers.Resizing(image_size, image_size, name="ab_resize")(x)

    # === Functional Model ===
    model = keras.Model(inputs, x, name="unet_sequential")
    return model


def _valid_padding_side(image_size, kernel_size):
    """The side of the map before the last upsampling when every convolution uses valid padding."""
    side = image_size
    for _, strides in ENCODER:
        side = (side - kernel_size) // strides + 1
    for _, upsample in DECODER:
        side = (side * 2 if upsample else side) - kernel_size + 1
    return side - kernel_size + 1
