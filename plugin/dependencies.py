"""Which engine dependencies are importable, checked without importing them (QGIS start-up must stay fast)."""

from __future__ import annotations

import importlib.util

# import name -> pip requirement, in the order a user would install them
ENGINE_DEPENDENCIES: dict[str, str] = {
    "torch": "torch",
    "transformers": "transformers",
    "peft": "peft",
    "huggingface_hub": "huggingface-hub",
    "safetensors": "safetensors",
    "numpy": "numpy",
    "rasterio": "rasterio",
    "pyproj": "pyproj",
    "shapely": "shapely",
}


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module blocked as None in sys.modules
        return False


def missing_dependencies() -> list[str]:
    """pip requirement names of the engine dependencies that cannot be imported."""
    return [requirement for module, requirement in ENGINE_DEPENDENCIES.items() if not _importable(module)]
