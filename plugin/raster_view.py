"""Pixels of a raster layer, read through QGIS's own raster provider, for the engine.

Reading through QGIS (not rasterio) means any layer QGIS can show works (files, WMS/XYZ, virtual rasters) and avoids
loading a second GDAL into QGIS's process on platforms where that clashes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from qgis.core import (
    Qgis,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
)

from .i18n import tr

# QGIS data type -> numpy dtype of the bytes a QgsRasterBlock holds
_DTYPES = {
    Qgis.Byte: np.uint8,
    Qgis.UInt16: np.uint16,
    Qgis.Int16: np.int16,
    Qgis.UInt32: np.uint32,
    Qgis.Int32: np.int32,
    Qgis.Float32: np.float32,
    Qgis.Float64: np.float64,
}
DEFAULT_MAX_PIXELS = 4096 * 4096


class RasterReadError(ValueError):
    """A raster view cannot be read; the message is meant for the user."""


@dataclass
class RasterView:
    """Pixels (bands, H, W) of one extent plus what is needed to put results back on the map."""

    data: np.ndarray
    transform: tuple[float, float, float, float, float, float]  # affine (a, b, c, d, e, f), pixel -> layer CRS
    crs_wkt: str  # empty when the layer has no CRS: results stay in pixel-aligned layer coordinates
    nodata: list[float | None]
    extent: QgsRectangle
    scale: float = 1.0  # > 1 when the view was read coarser than the layer's native resolution
    warnings: list[str] = field(default_factory=list)
    crs: QgsCoordinateReferenceSystem = field(default_factory=QgsCoordinateReferenceSystem)  # invalid: no CRS


def map_extent_to_layer(extent: QgsRectangle, map_crs: QgsCoordinateReferenceSystem, layer: QgsRasterLayer):
    """The map canvas extent expressed in the layer's CRS (identity when either CRS is missing)."""
    if not map_crs.isValid() or not layer.crs().isValid() or map_crs == layer.crs():
        return QgsRectangle(extent)
    transform = QgsCoordinateTransform(map_crs, layer.crs(), QgsProject.instance())
    return transform.transformBoundingBox(extent)


@dataclass
class RasterSource:
    """What a worker thread needs to read a layer: a private provider clone plus the layer's grid and CRS.

    QGIS providers are not thread-safe; a clone made on the main thread may be used by one worker thread.
    """

    provider: object
    extent: QgsRectangle
    res_x: float
    res_y: float
    crs: QgsCoordinateReferenceSystem
    crs_wkt: str = ""  # written on the main thread: a CRS's WKT is not reliably available from a worker thread


def snapshot(layer: QgsRasterLayer) -> RasterSource:
    """Capture a layer for reading in a background task (call on the main thread)."""
    if layer is None or not layer.isValid():
        raise RasterReadError(tr("The raster layer is not valid (missing or unreadable file?)."))
    provider = layer.dataProvider().clone()
    if provider is None:
        raise RasterReadError(tr("QGIS cannot read this layer's pixels in the background."))
    return RasterSource(
        provider,
        QgsRectangle(layer.extent()),
        layer.rasterUnitsPerPixelX(),
        layer.rasterUnitsPerPixelY(),
        QgsCoordinateReferenceSystem(layer.crs()),
        layer.crs().toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED) if layer.crs().isValid() else "",
    )


def read_view(
    layer: QgsRasterLayer | RasterSource, extent: QgsRectangle | None = None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> RasterView:
    """Read ``extent`` (layer CRS; whole layer when None) at native resolution, coarser if above ``max_pixels``."""
    source = layer if isinstance(layer, RasterSource) else snapshot(layer)
    provider = source.provider
    wanted = QgsRectangle(source.extent) if extent is None else source.extent.intersect(extent)
    if wanted.isEmpty():
        raise RasterReadError(tr("The requested area does not overlap the raster layer."))
    res_x, res_y = source.res_x, source.res_y
    width = max(1, round(wanted.width() / res_x))
    height = max(1, round(wanted.height() / res_y))
    warnings: list[str] = []
    scale = 1.0
    if width * height > max_pixels:
        scale = math.sqrt(width * height / max_pixels)
        width, height = max(1, int(width / scale)), max(1, int(height / scale))
        warnings.append(
            tr("The view is large; it was read at 1/{:.1f} of the layer's resolution. Zoom in for full detail.").format(
                scale
            )
        )
    bands, nodata = [], []
    for band in range(1, provider.bandCount() + 1):
        dtype = _DTYPES.get(provider.dataType(band))
        if dtype is None:
            raise RasterReadError(tr("Band {} has a data type GeoGround cannot read.").format(band))
        block = provider.block(band, wanted, width, height)
        if not block.isValid():
            raise RasterReadError(tr("QGIS could not read band {} of the layer.").format(band))
        array = np.frombuffer(bytes(block.data()), dtype=dtype).reshape(height, width)
        bands.append(array)
        nodata.append(block.noDataValue() if block.hasNoDataValue() else None)
    crs_wkt = source.crs_wkt
    if not crs_wkt and source.crs.isValid():  # a source made without snapshot()
        crs_wkt = source.crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED)
    if not crs_wkt:
        warnings.append(tr("The layer has no CRS: results are placed in the layer's own coordinates."))
    px, py = wanted.width() / width, wanted.height() / height
    transform = (px, 0.0, wanted.xMinimum(), 0.0, -py, wanted.yMaximum())
    crs = QgsCoordinateReferenceSystem(source.crs)  # passed on as is: parsing crs_wkt back is not needed
    return RasterView(np.stack(bands), transform, crs_wkt, nodata, wanted, scale, warnings, crs)
