"""Training: TOML recipes, the staged training loop, LoRA, exact checkpoints and DDP/FSDP under ``torchrun``."""

from .config import Recipe, RecipeError, load_recipe, parse_recipe
from .data import DataConfig, SampleStream, check_training_path, collate
from .recipe import Trainer, build_model, set_trainable, train

__all__ = [
    "DataConfig",
    "Recipe",
    "RecipeError",
    "SampleStream",
    "Trainer",
    "build_model",
    "check_training_path",
    "collate",
    "load_recipe",
    "parse_recipe",
    "set_trainable",
    "train",
]
