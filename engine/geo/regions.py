"""What one object is: a 4-connected region of a mask, the unit the pipeline turns into one polygon.

Diagonal neighbours are separate regions, so every traced ring is simple and every polygon valid. Vectorizing, the
region-score filter, the evaluation's instance counts and the real-scene readers all split masks here, so an
object is the same thing wherever it is counted. Only numpy and rasterio: data, geo and eval may all import it.
"""

from __future__ import annotations

import numpy as np
from rasterio import features

CONNECTIVITY = 4


def region_outlines(mask: np.ndarray, connectivity: int = CONNECTIVITY) -> list[dict]:
    """GeoJSON outlines in pixel space (holes included) of the connected regions of a bool mask, one per region."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    return [geojson for geojson, _ in features.shapes(mask.view(np.uint8), mask=mask, connectivity=connectivity)]


def traced_regions(mask: np.ndarray, connectivity: int = CONNECTIVITY) -> tuple[np.ndarray, list[dict]]:
    """One trace of the connected regions: their outlines, and the ``int32`` labels 1..n of their pixels (0 outside).

    The labels are the outlines rasterized back (pixel-edge outlines cover exactly their pixels), so label k is the
    region of outline k.
    """
    mask = np.asarray(mask, dtype=bool)
    outlines = region_outlines(mask, connectivity)
    if not outlines:
        return np.zeros(mask.shape, dtype=np.int32), []
    labels = features.rasterize(zip(outlines, range(1, len(outlines) + 1)), out_shape=mask.shape, dtype="int32")
    return labels, outlines


def region_labels(mask: np.ndarray, connectivity: int = CONNECTIVITY) -> tuple[np.ndarray, int]:
    """``int32 (H, W)`` labels 1..n of the connected regions of a bool mask (0 outside), and n."""
    labels, outlines = traced_regions(mask, connectivity)
    return labels, len(outlines)


def connected_regions(mask: np.ndarray, min_pixels: int = 0, connectivity: int = CONNECTIVITY) -> list[np.ndarray]:
    """The connected regions of a bool mask as separate bool masks, those under ``min_pixels`` pixels left out."""
    labels, count = region_labels(mask, connectivity)
    regions = (labels == k for k in range(1, count + 1))
    return [region for region in regions if region.sum() >= min_pixels]
