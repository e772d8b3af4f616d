"""The model registry: ``@register_model`` on a builder, ``build_model(name)`` to call it.

Example:

>>> from colorzoo import build_model, list_models
>>> list_models("resnet*")
['resnet18_decoder']
>>> model = build_model("unet_sequential", image_size=64)
"""

import dataclasses
import fnmatch
import inspect
import math
import numbers
import os

import keras

from colorzoo.color import COLOR_SPACES

OUTPUT_KINDS = ("ab", "ab_bins")


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one architecture.

    Args:
        name: registry name.
        builder: function returning a functional ``keras.Model``.
        color_space: ``"lab"`` (input L, output ab) or ``"yuv"`` (input Y, output UV).
        output: ``"ab"`` for normalised chroma, ``"ab_bins"`` for per-pixel logits over
            quantised ab bins (decode with the model's ``decode`` metadata).
        native_size: the image size of the report.
        stride: total down-sampling; the model accepts any size divisible by it. Where an
            option sets it (pix2pix's U-Net depth), a function of the built model returning it.
        paper: the report or paper the architecture follows.
        recipe: the report's training defaults, read by ``colorzoo.training.compile_model``:
            ``optimizer`` (a Keras optimizer name), ``learning_rate``, ``loss`` (a Keras loss
            name or a function returning a ``keras.losses.Loss``), optional ``optimizer_kwargs``
            and ``schedule`` (a function ``(learning_rate) -> schedule``); ``loss_from_data``
            (a function ``(dataset, model) -> loss``, e.g. class rebalancing from the data's prior) and
            ``trainer`` (a function ``(generator, learning_rate, **kwargs) -> compiled GAN
            trainer``) where the architecture needs them.
        small: keyword arguments of a small, fast build (tests, smoke runs, CPU presets).
    """

    name: str
    builder: object
    color_space: str = "lab"
    output: str = "ab"
    native_size: int = 256
    stride: object = 1
    paper: str = ""
    recipe: dict = dataclasses.field(default_factory=lambda: {"optimizer": "adam", "learning_rate": 1e-3, "loss": "mse"})
    small: dict = dataclasses.field(default_factory=lambda: {"image_size": 64})


_REGISTRY = {}


def register_model(name, **metadata):
    """Decorator registering a model builder under ``name`` with its :class:`ModelInfo` fields."""

    def decorator(builder):
        if name in _REGISTRY:
            raise ValueError(f"Model {name!r} is already registered")
        info = ModelInfo(name=name, builder=builder, **metadata)
        if info.output not in OUTPUT_KINDS:
            raise ValueError(f"output must be one of {OUTPUT_KINDS}, got {info.output!r}")
        if info.color_space not in COLOR_SPACES:
            raise ValueError(f"color_space must be one of {COLOR_SPACES}, got {info.color_space!r}")
        missing = [key for key in ("optimizer", "learning_rate", "loss") if key not in info.recipe]
        if missing:
            raise ValueError(
                f"recipe of {name!r} lacks {missing}: compile_model needs optimizer, learning_rate and loss"
            )
        for key in ("native_size", "stride"):
            value = getattr(info, key)
            if key == "stride" and callable(value):
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{key} must be a positive whole number, got {value!r}")
        _REGISTRY[name] = info
        return builder

    return decorator


def list_models(pattern="*"):
    """Sorted registry names matching a shell-style ``pattern``."""
    return sorted(name for name in _REGISTRY if fnmatch.fnmatch(name, pattern))


def model_info(name):
    """The :class:`ModelInfo` of ``name``; an unknown name raises ``ValueError`` listing the known ones."""
    if name not in _REGISTRY:
        raise ValueError(f"Unknown model {name!r}. Known models: {', '.join(list_models())}")
    return _REGISTRY[name]


# Keras convention: weights=None means "random initialisation", so None is kept.
_NONE_MEANS_SOMETHING = ("encoder_weights",)
_POSITIVE_OPTIONS = {"image_size": numbers.Integral, "width": numbers.Real}  # checked before any builder runs
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def build_model(name, **kwargs):
    """Build the registered model ``name``; keyword arguments that are ``None`` are dropped.

    Dropping ``None`` lets a command line pass every option through without overriding the
    builder's own defaults. The exception is ``encoder_weights``: as in keras.applications,
    ``encoder_weights=None`` asks for a randomly initialised encoder and is passed on (a model
    without a pretrained encoder takes it too, and only it).
    ``weights`` follows keras.applications: ``None`` for random initialisation, or the path of a
    ``.keras`` or ``.weights.h5`` file (a run's ``best.keras``) whose weights are loaded into the
    model built with these options (every layer: no encoder weights are downloaded or read).
    ``weights="colorzoo"`` returns the shipped trained model
    instead (``colorzoo.pretrained``), and the path of a folder holding a ``manifest.json`` the
    trained model shipped there; their options are the shipped ones, so other options are refused.

    >>> model = build_model("resnet18_decoder", image_size=256, width=0.5, weights="runs/r18_half/best.keras")  # a width-0.5 run

    The model is checked to map luminance ``(H, W, 1)`` to chroma ``(h, w, 2)`` (or bin logits)
    and named ``name``: training and colorizing find its registry entry by ``model.name``.
    """
    info = model_info(name)
    weights = kwargs.pop("weights", None)
    if weights is not None and not isinstance(weights, (str, os.PathLike)):
        raise ValueError(f"weights must be None, 'colorzoo' or a path, got {weights!r}")
    if weights == "colorzoo" or (weights is not None and os.path.isdir(weights)):
        from colorzoo import hub

        if weights != "colorzoo" and not os.path.isfile(os.path.join(weights, hub.MANIFEST)):
            raise hub.ModelFileError(
                f"weights={os.fsdecode(weights)!r}: a folder without {hub.MANIFEST}; weights= takes 'colorzoo', a "
                f"folder of shipped weights or a .keras or .weights.h5 file{hub.saved_model_hint(os.fsdecode(weights))}"
            )
        options = sorted(key for key, value in kwargs.items() if value is not None)
        if options:
            raise ValueError(f"weights={weights!r} loads the shipped {name} as trained; drop {', '.join(options)}")
        return hub.pretrained(name, hub.WEIGHTS_DIR if weights == "colorzoo" else os.fspath(weights))
    kwargs = {key: value for key, value in kwargs.items() if value is not None or key in _NONE_MEANS_SOMETHING}
    parameters = inspect.signature(info.builder).parameters.values()
    options = [parameter.name for parameter in parameters if parameter.kind not in _VARIADIC]
    takes_any = any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters)  # def f(**kwargs)
    if "encoder_weights" not in options and not takes_any and kwargs.pop("encoder_weights", None) is not None:
        raise ValueError(
            f"{name} has no pretrained encoder: encoder_weights can only be None; a saved {name}'s weights "
            "load with weights=PATH (colorzoo train --init PATH)"
        )
    if weights is not None and "encoder_weights" in options:  # the file holds the encoder too: no download
        if kwargs.get("encoder_weights") is not None:
            raise ValueError(f"weights={weights!r} loads every layer of {name}; drop encoder_weights")
        kwargs["encoder_weights"] = None
    unknown = [] if takes_any else sorted(set(kwargs) - set(options))
    if unknown:
        raise ValueError(f"{name} has no option {', '.join(map(repr, unknown))}; its options: {', '.join(options)}")
    for key, kind in _POSITIVE_OPTIONS.items():
        value = kwargs.get(key)
        if key in kwargs and (isinstance(value, bool) or not isinstance(value, kind) or not 0 < value < math.inf):
            what = "whole number of pixels" if kind is numbers.Integral else "number"
            raise ValueError(f"{name}: {key} must be a positive {what}, got {value!r}")
    model = _checked_build(info, info.builder(**kwargs))
    if weights is not None:
        from colorzoo.hub import load_weights_file

        load_weights_file(model, weights)
    return model


def _checked_build(info, model):
    """``model`` if it is a single-input, single-output ``keras.Model`` of the registered kind, renamed ``info.name``."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"the builder of {info.name!r} returned {type(model).__name__}, not a keras.Model")
    inputs, outputs = model.inputs, model.outputs
    predicts_ab = info.output == "ab"
    wrong_output = len(outputs) != 1 or (predicts_ab and outputs[0].shape[-1] != 2)
    if len(inputs) != 1 or inputs[0].shape[-1] != 1 or wrong_output:
        wanted = "(h, w, 2) chroma" if predicts_ab else "(h, w, Q) bin logits"
        raise ValueError(
            f"{info.name}: a registered model maps (H, W, 1) luminance to {wanted}; its builder's model maps "
            f"{', '.join(str(tuple(x.shape[1:])) for x in inputs)} to {', '.join(str(tuple(x.shape[1:])) for x in outputs)}"
        )
    if model.name != info.name:
        model.name = info.name
    return model
