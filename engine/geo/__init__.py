"""Georeferenced segmentation: raster windows and tiles in, measured polygons out, GeoPackage on disk.

The raster-independent parts (:mod:`.vectorize`, :mod:`.measure`, :mod:`.merge`, :mod:`.tiles`) take numpy arrays,
affine transforms and CRS definitions, so callers that read pixels another way (the QGIS plugin) reuse them as is.
"""

from .errors import EngineError, GeoError, NoCRSWarning, OutputError, RasterError, SegmentationCancelled
from .measure import Measurer, area_perimeter
from .merge import Instance, Piece, TileMerger
from .pipeline import ChatModel, Feature, SegmentationResult, segment_raster, write_result
from .tiles import Tile, single_tile, tile_grid
from .vectorize import apply_transform, mask_to_polygons

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
