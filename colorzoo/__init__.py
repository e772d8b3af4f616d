"""colorzoo: automatic colorization of grayscale photographs with Keras 3.

Example:

>>> import colorzoo
>>> colorzoo.list_models()
>>> model = colorzoo.build_model("resnet18_decoder", image_size=128)
"""

from colorzoo import color, layers, training  # training registers the optimizer of mixed-precision checkpoints
from colorzoo.hub import load_model, pretrained
from colorzoo.inference import colorize
from colorzoo.models import build_model, list_models, model_info, register_model
from colorzoo.models.resnet18_decoder import build_ensemble

__version__ = "0.1.0"
