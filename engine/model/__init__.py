"""The GeoGround model family: config, presets, parts, generation and the grounded-text parser."""

from .chat import Conversation, EmptyPromptError, encode, render
from .configuration import GeoGroundConfig
from .generation import GenerationResult, generate
from .grounded_text import GroundedText, parse_grounded
from .modeling import GeoGroundModel, GeoGroundOutput, ImageFeatures
from .presets import PRESETS, preset_config
from .tokenizer import build_tokenizer

__all__ = [
    "PRESETS",
    "Conversation",
    "EmptyPromptError",
    "GenerationResult",
    "GeoGroundConfig",
    "GeoGroundModel",
    "GeoGroundOutput",
    "GroundedText",
    "ImageFeatures",
    "build_tokenizer",
    "encode",
    "generate",
    "parse_grounded",
    "preset_config",
    "render",
]
