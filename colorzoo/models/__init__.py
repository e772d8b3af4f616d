"""Every architecture registers itself on import: one line per file."""

from colorzoo.models.registry import ModelInfo, build_model, list_models, model_info, register_model
from colorzoo.models import unet_sequential
