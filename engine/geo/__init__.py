"""Georeferenced segmentation: raster windows and tiles in, measured polygons out, GeoPackage on disk.

The raster-independent parts (:mod:`.vectorize`, :mod:`.measure`, :mod:`.merge`, :mod:`.tiles`) take numpy arrays,
affine transforms and CRS definitions, so callers that read pixels another way (the QGIS plugin) reuse them as is.
"""

import importlib

from .errors import EngineError, GeoError, NoCRSWarning, OutputError, RasterError, SegmentationCancelled

# Loaded on first use (PEP 562), so importing the package stays light; see the note in .pipeline on pyproj/pyogrio.
_LAZY = {
    "Measurer": ".measure",
    "area_perimeter": ".measure",
    "Instance": ".merge",
    "Piece": ".merge",
    "TileMerger": ".merge",
    "ChatModel": ".pipeline",
    "Feature": ".pipeline",
    "SegmentationResult": ".pipeline",
    "segment_raster": ".pipeline",
    "write_result": ".gpkg",
    "Tile": ".tiles",
    "single_tile": ".tiles",
    "tile_grid": ".tiles",
    "apply_transform": ".vectorize",
    "mask_to_polygons": ".vectorize",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ChatModel",
    "EngineError",
    "Feature",
    "GeoError",
    "Instance",
    "Measurer",
    "NoCRSWarning",
    "OutputError",
    "Piece",
    "RasterError",
    "SegmentationCancelled",
    "SegmentationResult",
    "Tile",
    "TileMerger",
    "apply_transform",
    "area_perimeter",
    "mask_to_polygons",
    "segment_raster",
    "single_tile",
    "tile_grid",
    "write_result",
]
