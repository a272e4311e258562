"""The QGIS-side segmentation job shared by the chat dock and the Processing algorithms.

Pixels come from QGIS's providers, the engine answers in its own process (``engine.worker``, through
:mod:`.engine_process`), polygons come back as WKB and are parsed and measured with QGIS's own GEOS and geodesy: no
library of the engine (torch, shapely, rasterio, pyproj, pyogrio) is loaded into QGIS's process.
"""

from __future__ import annotations

import math
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

from ..engine import DESCRIBE, summary_text
from .engine_process import EngineProcess
from .i18n import tr
from .raster_view import RasterSource, RasterView, read_view
from .scopes import clip_polygon
from .settings import Settings

Event = dict
Status = Callable[[str], None]
Confirm = Callable[[int, "float | None"], bool]  # (tiles, estimated seconds or None) -> go on?
CONFIRM_ABOVE_S = 60.0  # a whole-layer run expected to take longer than this asks first
CONFIRM_ABOVE_TILES = 16  # ... and so does one of more tiles than this when no time per tile is known yet


class InProcessEngines:
    """The worker's interface served in this process (tests with stand-in models; Python consoles outside QGIS).

    Answers make the same round trip through plain data as the worker's, so callers see exactly what they would
    get from the process. Never used inside QGIS's desktop binary, where the engine's geometry libraries clash.
    """

    def __init__(self, loader: Callable[[str, str, str, str | None], object] | None = None) -> None:
        from ..engine import EngineService

        self._service = EngineService(loader) if loader is not None else EngineService()
        self.seconds_per_tile: dict[str, float] = {}

    def segment(self, request: dict, image, on_event=lambda e: None, should_stop=lambda: False):
        from ..engine import SegmentAnswer, SegmentRequest

        answer = self._service.segment(SegmentRequest.from_dict(request), image, on_event, should_stop)
        return SegmentAnswer.from_dict(answer.to_dict())

    def plan(self, request: dict, height: int, width: int, on_event=lambda e: None, should_stop=lambda: False):
        from ..engine import SegmentRequest

        return self._service.plan(SegmentRequest.from_dict(request), height, width, on_event)

    def build_dataset(self, params: dict, on_event=lambda e: None, should_stop=lambda: False) -> dict:
        from ..engine import build_training_set

        return build_training_set(params)

    def finetune(self, params: dict, on_event=lambda e: None, should_stop=lambda: False) -> dict:
        from ..engine import finetune_request

        def on_step(step: int, total: int, loss: float) -> None:
            on_event({"event": "progress", "done": step, "total": total, "loss": loss})

        return finetune_request(params, on_step, should_stop)

    def stop(self, wait: float = 0.0) -> None:
        self._service.clear()


ENGINES = EngineProcess()  # one engine process (one model in memory) for the dock and the Processing algorithms


def engines():
    """The engine the plugin talks to now (looked up at call time, so tests can put a stand-in in its place)."""
    return ENGINES


def status_text(event: Event) -> str | None:
    """What the user reads about an engine event (None: nothing worth saying)."""
    if event.get("event") == "status":
        stage = event.get("stage")
        if stage == "loading":
            return tr("Loading the model {} (the first instruction after QGIS starts takes longer)…").format(
                event.get("model", "")
            )
        if stage == "loaded":
            return tr("Model loaded in {:.1f} s.").format(float(event.get("seconds", 0.0)))
        if stage == "waiting":
            return tr("Waiting for the previous GeoGround job to finish…")
        return None
    if event.get("event") == "progress" and int(event.get("total", 1)) > 1:
        return tr("Tile {} of {} done.").format(event.get("done"), event.get("total"))
    return None


def segment_source(
    source: RasterSource,
    extent: QgsRectangle | None,
    instruction: str,
    settings: Settings,
    *,
    report: Callable[[float], None] = lambda percent: None,
    on_text: Callable[[str], None] | None = None,
    on_status: Status | None = None,
    confirm: Confirm | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    examples: list[bytes] | None = None,
    example_phrase: str = "object",
):
    """Read the view and ask the engine process; returns the view and an ``engine.service.SegmentAnswer`` (WKB
    features in the view's CRS, measured later by :func:`result_rows`). ``on_status`` hears model loading and tiles
    done; ``confirm(tiles, seconds)`` is asked before a long run and stops it when it says no. Raises
    ``engine.types.Cancelled`` when ``should_stop()`` or when the user declines.

    ``examples``: WKB polygons or points in the layer's CRS, inside ``extent``: the answer is then every object
    like them, named ``example_phrase`` (``instruction`` is only recorded)."""
    from ..engine import Cancelled

    if not instruction or not instruction.strip():
        raise ValueError(tr("The instruction is empty."))
    report(2)
    view = read_view(source, extent)
    if should_stop():
        raise Cancelled("stopped before the model ran")
    report(5)
    engine = engines()
    request = {
        "instruction": instruction,
        "transform": list(view.transform),
        "crs_wkt": view.crs_wkt,
        "model": settings.default_model,
        "device": settings.device,
        "dtype": settings.precision,
        "cache_dir": settings.model_cache_dir or None,
        "nodata": next((v for v in view.nodata if v is not None), None),
        "ground_gsd": ground_pixel_size(view),  # coarser than the model's max_gsd: upsampled first
        "max_new_tokens": settings.max_new_tokens,
        "tile_size": settings.tile_size or None,  # None: the model's input size
        "overlap": settings.tile_overlap if settings.tile_size else None,
    }
    if examples:
        request["examples"] = [bytes(wkb).hex() for wkb in examples]
        request["example_phrase"] = example_phrase

    def on_event(event: Event) -> None:
        if event.get("event") == "text":
            if on_text is not None:
                on_text(event.get("text", ""))
            return
        if event.get("stage") == "loading":
            report(8)
        elif event.get("stage") == "loaded":
            report(30)
        elif event.get("event") == "progress":
            report(30 + 65 * int(event["done"]) / max(int(event["total"]), 1))
        text = status_text(event)
        if text and on_status is not None:
            on_status(text)

    if confirm is not None:
        rows, cols = view.data.shape[-2:]
        tiles = int(engine.plan(request, rows, cols, on_event, should_stop)["tiles"])
        per_tile = engine.seconds_per_tile.get(settings.default_model)
        seconds = tiles * per_tile if per_tile is not None else None
        long_run = (seconds is not None and seconds > CONFIRM_ABOVE_S) or (
            seconds is None and tiles > CONFIRM_ABOVE_TILES
        )
        if long_run and not confirm(tiles, seconds):
            raise Cancelled("declined")
    report(30)
    answer = engine.segment(request, view.data, on_event, should_stop)
    report(95)
    return view, answer


def as_crs(crs: QgsCoordinateReferenceSystem | str | None) -> QgsCoordinateReferenceSystem:
    """A QGIS CRS from a CRS object (kept as is: no WKT round trip) or WKT (invalid when empty)."""
    if isinstance(crs, QgsCoordinateReferenceSystem):
        return crs
    return QgsCoordinateReferenceSystem.fromWkt(crs) if crs else QgsCoordinateReferenceSystem()


def area_perimeter_measurer(crs: QgsCoordinateReferenceSystem | str | None) -> Callable[[bytes], tuple[float, float]]:
    """(WKB) -> (area in m2, perimeter in m) with QgsDistanceArea on the CRS's ellipsoid, so geographic and Web
    Mercator layers get true ground measures; NaN without a CRS."""
    crs = as_crs(crs)
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
    from ..engine import pixel_corners

    rows, cols = view.data.shape[-2:]
    corners = pixel_corners(view.transform, rows / 2, cols / 2)
    pixel = QgsGeometry.fromPolygonXY([[QgsPointXY(x, y) for x, y in corners]])
    area, _ = area_perimeter_measurer(view.crs)(bytes(pixel.asWkb()))
    return math.sqrt(area) if math.isfinite(area) and area > 0 else None


def result_rows(
    result, crs: QgsCoordinateReferenceSystem | str | None, clip: bytes | None = None
) -> list[tuple[bytes, dict]]:
    """(WKB, attributes) per feature of an ``engine.service.SegmentAnswer``, measured in m2 / m.

    With ``clip`` (WKB in the result's CRS) each polygon is cut to it first and dropped when nothing is left, so the
    areas are those of the clipped objects.
    """
    measure = area_perimeter_measurer(crs)
    clip_geometry = None
    if clip is not None:
        clip_geometry = QgsGeometry()
        clip_geometry.fromWkb(clip)
    rows = []
    for feature in result.features:
        wkb = feature["wkb"]
        if clip_geometry is not None:
            wkb = clip_polygon(wkb, clip_geometry)
            if wkb is None:
                continue
        area, perimeter = measure(wkb)
        attributes = {
            "phrase": feature["phrase"],
            "class": feature.get("label") or feature["phrase"],
            "score": feature["score"],
            "area_m2": area,
            "perimeter_m": perimeter,
            "instruction": result.instruction,
            "model": result.model,
            "created": result.created,
        }
        rows.append((wkb, attributes))
    return rows


def answer_text(answer, rows: list[tuple[bytes, dict]], scope: str) -> str:
    """The answer as the layer holds it: counts and QGIS-measured areas of the rows kept (after any clip) when the
    model grounded phrases, else the model's own words (engine.geo.summary)."""
    if not answer.asked:
        return answer.reply_text
    forms = {phrase: tuple(pair) for phrase, pair in answer.forms.items()}
    found = [(attributes["phrase"], attributes["area_m2"]) for _, attributes in rows]
    return summary_text(answer.asked, found, scope, forms, describe=bool(DESCRIBE.search(answer.instruction)))
