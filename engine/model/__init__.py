"""The GeoGround model family: config, presets, parts, generation and the grounded-text parser."""

from .chat import Conversation, EmptyPromptError, encode, render
from .generation import GenerationResult, generate
from .geoground.configuration import GeoGroundConfig
from .geoground.modeling import GeoGroundModel, GeoGroundOutput, ImageFeatures
from .geoground.presets import PRESETS, preset_config
from .geoground.tokenizer import build_tokenizer
from .grounded_text import GroundedText, parse_grounded

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
