"""Exceptions of the geo pipeline, split by who has to act: the user (ValueError) or the model (EngineError)."""

from __future__ import annotations

from ..types import Cancelled


class GeoError(ValueError):
    """Bad input to the geo pipeline: the message is one line a user can act on."""


class RasterError(GeoError):
    """The raster cannot be opened or read, or the requested area is not in it."""


class OutputError(GeoError):
    """The GeoPackage cannot be written where asked (exists, unwritable, not a GeoPackage)."""


class EngineError(RuntimeError):
    """The model failed or answered something unusable (e.g. a mask of the wrong size)."""


class SegmentationCancelled(Cancelled):
    """The caller asked to stop between tiles (``should_stop`` returned True); nothing is written."""


class NoCRSWarning(UserWarning):
    """The raster has no CRS: geometries are in pixel coordinates and areas are not measured."""
