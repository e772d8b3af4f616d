"""Every architecture registers itself on import: one line per file."""

from colorzoo.models.registry import ModelInfo, build_model, list_models, model_info, register_model
from colorzoo.models import unet_sequential
from colorzoo.models import resnet18_decoder
from colorzoo.models import vgg16_autoencoder
from colorzoo.models import residual_encoder
from colorzoo.models import hypercolumn
from colorzoo.models import pix2pix
from colorzoo.models import zhang_classification
from colorzoo.models import ddcolor_lite
