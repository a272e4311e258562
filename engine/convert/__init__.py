"""Converters from published checkpoints (pickles in their authors' layouts) to our safetensors model folders."""

from .geopix import convert_geopix
from .geopixel import convert_geopixel
from .report import ConversionError, ConversionReport
from .tokenizer import convert_sentencepiece_tokenizer

__all__ = [
    "ConversionError",
    "ConversionReport",
    "convert_geopix",
    "convert_geopixel",
    "convert_sentencepiece_tokenizer",
]
