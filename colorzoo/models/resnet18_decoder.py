"""The ResNet-18 encoder-decoder of "Colorizing grayscale images using a CNN" (Chalmers).

The report follows the well-known PyTorch colorization tutorial (L. Melas-Kyriazi, 2018): a
ResNet-18 on the gray image, cut after its second stage (128 channels at 1/8 resolution), then
convolution + batch norm + ReLU stages with three nearest x2 upsamplings back to full size and a
tanh output of ab / 128. Trained with Adam 1e-3 and MSE. At 256 x 256 x 1 it has 957,218
parameters (678,720 in the encoder; counts include batch-norm statistics).

The report's "combined colour-biased models" are :func:`build_ensemble` of models trained on
blue-, yellow- and green-biased subsets of the photos: their ab predictions are averaged.
"""

import keras

from colorzoo.encoders import resnet18_trunk
from colorzoo.models.registry import model_info, register_model

# (filters, upsample after) of the decoder stages; then a 2-channel conv and the last upsampling.
DECODER = ((128, True), (64, False), (64, True), (32, False))
ENCODER_STAGES = 2
STRIDE = 8


@register_model(
    "resnet18_decoder",
    color_space="lab",
    output="ab",
    native_size=256,
    stride=STRIDE,
    paper='"Colorizing grayscale images using a CNN" (Chalmers, after the PyTorch colorization tutorial)',
    recipe={"optimizer": "adam", "learning_rate": 1e-3, "loss": "mse"},
    small={"image_size": 64, "width": 0.25},
)
def resnet18_decoder(image_size=256, width=1.0):
    """Build the report's ResNet-18 encoder + upsampling decoder.

    The report trains on 256 x 256 crops; the tutorial it follows uses 224 (ResNet's ImageNet
    size). Both work: any multiple of 8 does.

    Args:
        image_size: input side; any multiple of 8 (the total stride).
        width: multiplies every channel count of encoder and decoder (1.0 is the report's
            network); e.g. 0.25 for CPU.

    The encoder starts from random weights, as in the report (keras.applications has no
    ResNet-18): to start from torchvision's resnet18, copy its weights by layer name (conv1
    summed over RGB, bn1, layer1_0_conv1, ...) into this model, ``save_weights``, and build with
    ``weights=`` that file.

    Example:

    >>> model = build_model("resnet18_decoder")          # 256 px, 957,218 parameters
    >>> compile_model(model)                             # Adam 1e-3 + MSE
    """
    if image_size % STRIDE:
        raise ValueError(f"image_size must be a multiple of {STRIDE}, got {image_size}")

    def filters(count):
        return max(8, int(count * width))  # the rounding of resnet18_trunk, so dec1 matches the cut

    # === Layers ===
    inputs = keras.Input((image_size, image_size, 1), name="luminance")
    x = resnet18_trunk(inputs, stages=ENCODER_STAGES, width=width)[f"layer{ENCODER_STAGES}"]
    for index, (count, upsample) in enumerate(DECODER, start=1):
        x = keras.layers.Conv2D(filters(count), 3, padding="same", name=f"dec{index}_conv")(x)
        x = keras.layers.BatchNormalization(name=f"dec{index}_bn")(x)
        x = keras.layers.ReLU(name=f"dec{index}_relu")(x)
        if upsample:
            x = keras.layers.UpSampling2D(2, name=f"dec{index}_upsample")(x)
    # tanh before the nearest upsampling equals tanh after it, on a quarter of the pixels.
    x = keras.layers.Conv2D(2, 3, padding="same", activation="tanh", name="ab_conv")(x)
    x = keras.layers.UpSampling2D(2, name="ab_upsample")(x)

    # === Functional Model ===
    model = keras.Model(inputs, x, name="resnet18_decoder")
    return model


def build_ensemble(models, name="resnet18_ensemble"):
    """Average the ab predictions of several Lab models of the same input shape.

    Each member becomes a nested model named ``member_0``, ``member_1``, ... (sharing the
    member's weights), so members built from the same architecture do not clash. The result is
    a plain functional model: it saves to ``.keras`` and loads with ``safe_mode=True``.

    Args:
        models: two or more registered colorzoo models predicting Lab ab (their ``name`` is
            the registry name), each with one luminance input and one ab output of the same
            shapes.
        name: the ensemble's name.

    Example:

    >>> blue, yellow, green = (keras.models.load_model(f"resnet18_{c}.keras") for c in colours)
    >>> combined = build_ensemble([blue, yellow, green])   # the report's combined model
    >>> combined.save("resnet18_combined.keras")
    """
    models = list(models)
    if len(models) < 2:
        raise ValueError(f"An ensemble needs at least two models, got {len(models)}")
    for member in models:
        if len(member.inputs) != 1 or len(member.outputs) != 1:
            raise ValueError(f"Ensemble members need one input and one output; {member.name!r} does not")
        _check_lab_ab(member)
    _check_same("input shape", [(member.name, tuple(member.inputs[0].shape[1:])) for member in models])
    _check_same("output shape", [(member.name, tuple(member.outputs[0].shape[1:])) for member in models])

    # === Layers ===
    inputs = keras.Input(models[0].inputs[0].shape[1:], name="luminance")
    outputs = [
        keras.Model(member.inputs[0], member.outputs[0], name=f"member_{index}")(inputs)
        for index, member in enumerate(models)
    ]
    average = keras.layers.Average(name="ab_average")(outputs)

    # === Functional Model ===
    return keras.Model(inputs, average, name=name)


def _check_lab_ab(member):
    try:
        info = model_info(member.name)
    except ValueError as error:
        raise ValueError(
            f"Cannot tell the colour space of ensemble member {member.name!r}: members must be "
            "colorzoo models keeping their registry name."
        ) from error
    if (info.color_space, info.output) != ("lab", "ab"):
        raise ValueError(
            f"Ensemble member {member.name!r} predicts {info.output} in {info.color_space}: an ensemble averages "
            "Lab ab predictions, which is how colorize reads it (averaged logits or UV would give wrong colours)"
        )


def _check_same(what, named_values):
    if len({value for _, value in named_values}) > 1:
        listing = ", ".join(f"{name}: {value}" for name, value in named_values)
        raise ValueError(f"Ensemble members must share their {what}; got {listing}")
