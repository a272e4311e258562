"""The QGIS-side segmentation job shared by the chat dock and the Processing algorithms.

Pixels come from QGIS's providers, the engine answers through ``engine.geo.pipeline.segment_view``, and areas are
measured with QGIS's own geodesy, so no second PROJ or GDAL is used for anything QGIS already does.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsDistanceArea,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsUnitTypes,
)

from .raster_view import RasterSource, RasterView, read_view
from .scopes import clip_polygon
from .settings import Settings


class EngineCache:
    """Keeps one loaded engine (model, device, precision); loads again only when one of them changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._engine = None

    def get(self, model: str, device: str, precision: str, cache_dir: str | None):
        key = (model, device, precision, cache_dir)
        with self._lock:
            if self._key != key:
                from ..engine.api import Engine

                self._engine = None  # free the old model before loading the next
                self._engine = Engine.load(model, device=device, dtype=precision, cache_dir=cache_dir)
                self._key = key
            return self._engine

    def clear(self) -> None:
        with self._lock:
            self._engine, self._key = None, None


ENGINES = EngineCache()  # one model in memory for the dock and the Processing algorithms alike


def segment_source(
    source: RasterSource,
    extent: QgsRectangle | None,
    instruction: str,
    settings: Settings,
    *,
    engines: EngineCache = ENGINES,
    report: Callable[[float], None] = lambda percent: None,
    on_text: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> tuple[RasterView, object]:
    """Read the view, load (or reuse) the engine, ask it; returns the view and a SegmentationResult whose areas are
    still unmeasured (see :func:`result_rows`). Raises ``engine.types.Cancelled`` when ``should_stop()``."""
    from ..engine.geo.pipeline import segment_view
    from ..engine.types import Cancelled

    report(2)
    view = read_view(source, extent)
    if should_stop():
        raise Cancelled("stopped before the model ran")
    report(10)
    engine = engines.get(settings.default_model, settings.device, settings.precision, settings.model_cache_dir)
    report(30)
    result = segment_view(
        view.data,
        view.transform,
        view.crs_wkt,
        instruction,
        engine,
        nodata=next((v for v in view.nodata if v is not None), None),
        max_new_tokens=settings.max_new_tokens,
        measure=False,  # measured with QGIS's geodesy in result_rows
        ground_gsd=ground_pixel_size(view),  # coarser than the model's max_gsd: upsampled first
        tile_size=settings.tile_size or None,  # None: the model's input size
        overlap=settings.tile_overlap if settings.tile_size else None,
        on_progress=lambda done, total: report(30 + 65 * done / total),
        on_text=on_text,
        should_stop=should_stop,
    )
    report(95)
    return view, result


def area_perimeter_measurer(crs_wkt: str) -> Callable[[bytes], tuple[float, float]]:
    """(WKB) -> (area in m2, perimeter in m) with QgsDistanceArea on the CRS's ellipsoid, so geographic and Web
    Mercator layers get true ground measures; NaN without a CRS."""
    crs = QgsCoordinateReferenceSystem.fromWkt(crs_wkt) if crs_wkt else QgsCoordinateReferenceSystem()
    if not crs.isValid():
        return lambda wkb: (math.nan, math.nan)
    distance_area = QgsDistanceArea()
    distance_area.setSourceCrs(crs, QgsProject.instance().transformContext())
    distance_area.setEllipsoid(crs.ellipsoidAcronym() or "EPSG:7030")

    def measure(wkb: bytes) -> tuple[float, float]:
        geometry = QgsGeometry()
        geometry.fromWkb(wkb)
        area = distance_area.convertAreaMeasurement(distance_area.measureArea(geometry), QgsUnitTypes.AreaSquareMeters)
        perimeter = distance_area.convertLengthMeasurement(
            distance_area.measurePerimeter(geometry), QgsUnitTypes.DistanceMeters
        )
        return area, perimeter

    return measure


def ground_pixel_size(view: RasterView) -> float | None:
    """Metres per pixel on the ground at the view's centre, by QGIS's geodesy (None without a CRS)."""
    from affine import Affine

    from ..engine.geo.measure import pixel_corners

    rows, cols = view.data.shape[-2:]
    corners = pixel_corners(Affine(*view.transform), rows / 2, cols / 2)
    pixel = QgsGeometry.fromPolygonXY([[QgsPointXY(x, y) for x, y in corners]])
    area, _ = area_perimeter_measurer(view.crs_wkt)(bytes(pixel.asWkb()))
    return math.sqrt(area) if math.isfinite(area) and area > 0 else None


def result_rows(result, crs_wkt: str, clip: bytes | None = None) -> list[tuple[bytes, dict]]:
    """(WKB, attributes) per feature of a SegmentationResult, measured in m2 / m.

    With ``clip`` (WKB in the result's CRS) each polygon is cut to it first and dropped when nothing is left, so the
    areas are those of the clipped objects.
    """
    measure = area_perimeter_measurer(crs_wkt)
    clip_geometry = None
    if clip is not None:
        clip_geometry = QgsGeometry()
        clip_geometry.fromWkb(clip)
    rows = []
    for feature in result.features:
        wkb = feature.geometry.wkb
        if clip_geometry is not None:
            wkb = clip_polygon(wkb, clip_geometry)
            if wkb is None:
                continue
        area, perimeter = measure(wkb)
        attributes = {
            "phrase": feature.phrase,
            "class": feature.label or feature.phrase,
            "score": feature.score,
            "area_m2": area,
            "perimeter_m": perimeter,
            "instruction": result.instruction,
            "model": result.model,
            "created": result.created,
        }
        rows.append((wkb, attributes))
    return rows
