"""Pixel-grounding engine: a remote-sensing multimodal LLM that answers with masks.

This module is the engine's public face, used by the QGIS plugin, the Processing provider and scripts:

    from engine import Engine
    engine = Engine.load("demo")
    reply = engine.chat(image, "segment all storage tanks")

Names other than the plain data types are imported on first use, so ``import engine`` stays light (no torch) for a
GUI that only needs, say, the model hub's names. Nothing in this package imports QGIS. Modules import each other
relatively so the package works both as the top-level ``engine`` and as a sub-package of the installed plugin folder.
"""

from __future__ import annotations

import importlib
from typing import Any

from .types import Cancelled, InferenceSettings, Reply, Segment, Turn

# public name -> module (relative to this package) that defines it
_LAZY = {
    # inference
    "Engine": ".api",
    "DeviceOutOfMemoryError": ".api",
    "ImageInputError": ".api",
    "ExampleFinder": ".api",
    "ExamplesNotSupportedError": ".api",
    "EmptyPromptError": ".model.chat",
    "PromptTooLongError": ".model.chat",
    "check_instruction": ".hub.limits",
    # georeferenced answers: rasters in, polygons out (the plugin's engine process serves these)
    "EngineService": ".service",
    "SegmentRequest": ".service",
    "SegmentAnswer": ".service",
    "segment_raster": ".geo.pipeline",
    "segment_view": ".geo.pipeline",
    "write_result": ".geo",
    "DESCRIBE": ".geo.summary",
    "summary_text": ".geo.summary",
    "pixel_corners": ".geo.pixels",
    # training sets from the user's own layers
    "build_training_set": ".data.layer_dataset",
    "finetune_request": ".train.finetune",
    # models by name: presets, folders, hub ids, published checkpoints
    "DEFAULT_MODEL": ".hub.registry",
    "hub_reference": ".hub.registry",
    "ModelNotFoundError": ".errors",
    "find_published": ".hub.published",
    "prepare_published": ".hub.published",
    "prepared_folder": ".hub.published",
    "sources_cached": ".hub.published",
    "DownloadProgress": ".hub.progress",
}

__all__ = ["Cancelled", "InferenceSettings", "Reply", "Segment", "Turn", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # not cached here: the defining module stays the one place a name is looked up (and can be patched)
    return getattr(importlib.import_module(_LAZY[name], __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)
