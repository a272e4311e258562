"""Connects the chat dock to the engine: one background task per instruction, results into a GeoPackage layer.

The pixels are read from a provider clone inside the task, the engine is loaded once and kept, and the result layer
is written and added to the project on the main thread when the task finishes.
"""

from __future__ import annotations

import math
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsDistanceArea,
    QgsGeometry,
    QgsMapLayerType,
    QgsProject,
    QgsRasterLayer,
    QgsUnitTypes,
)
from qgis.PyQt.QtCore import QObject

from .dependencies import missing_dependencies
from .i18n import tr
from .raster_view import RasterSource, map_extent_to_layer, read_view, snapshot
from .result_layers import phrase_color, read_conversation, write_conversation, write_polygons
from .settings import Settings
from .tasks import Cancelled, EngineTask

RESULTS_SUFFIX = "_geoground.gpkg"


class EngineCache:
    """Keeps one loaded engine (model, device, precision); loading again only when one of them changes."""

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


@dataclass
class Job:
    """Everything the worker thread needs, captured on the main thread."""

    source: RasterSource
    extent: object  # QgsRectangle in the layer's CRS
    instruction: str
    settings: Settings
    layer_name: str


def results_gpkg(project: QgsProject | None = None) -> Path:
    """Beside the project file when it is saved; otherwise a file in the temporary folder."""
    project = project or QgsProject.instance()
    if project.fileName():
        path = Path(project.fileName())
        return path.with_name(path.stem + RESULTS_SUFFIX)
    return Path(tempfile.gettempdir()) / "geoground" / ("unsaved_project" + RESULTS_SUFFIX)


def run_job(job: Job, engines: EngineCache, task: EngineTask):
    """Worker-thread part: read the view, ask the engine, turn masks into measured polygons."""
    from ..engine.geo.pipeline import segment_view
    from ..engine.types import Cancelled as EngineCancelled

    task.report(2)
    view = read_view(job.source, job.extent)
    if task.isCanceled():
        raise Cancelled
    task.report(10)
    settings = job.settings
    engine = engines.get(settings.default_model, settings.device, settings.precision, settings.model_cache_dir)
    task.report(30)
    try:
        result = segment_view(
            view.data,
            view.transform,
            view.crs_wkt,
            job.instruction,
            engine,
            nodata=next((v for v in view.nodata if v is not None), None),
            max_new_tokens=settings.max_new_tokens,
            measure=False,  # measured on the main thread with QGIS's own geodesy (see measure_rows)
            on_text=task.stream,
            should_stop=task.isCanceled,
        )
    except EngineCancelled as exc:
        raise Cancelled from exc
    task.report(95)
    return view, result


class ChatController(QObject):
    """Owns the running task and the conversation of the dock."""

    def __init__(self, iface, dock) -> None:
        super().__init__(dock)
        self.iface = iface
        self.dock = dock
        self.engines = EngineCache()
        self.task: EngineTask | None = None
        self.turns: list[dict] = []
        dock.instruction_submitted.connect(self.submit)
        dock.stop_requested.connect(self.stop)

    def submit(self, layer: QgsRasterLayer, instruction: str) -> None:
        if self.task is not None:
            self.dock.show_notice(tr("Still working on the previous instruction; press Stop to cancel it."))
            return
        missing = missing_dependencies()
        if missing:
            self.dock.show_notice(tr("Cannot run: missing Python packages {}.").format(", ".join(missing)))
            return
        if layer is None or layer.type() != QgsMapLayerType.RasterLayer:
            self.dock.show_notice(tr("Select a raster layer first."))
            return
        try:
            source = snapshot(layer)
        except ValueError as exc:
            self.dock.show_notice(str(exc))
            return
        canvas = self.iface.mapCanvas()
        extent = map_extent_to_layer(canvas.extent(), canvas.mapSettings().destinationCrs(), layer)
        job = Job(source, extent, instruction, Settings.load(), layer.name())
        self._record("user", instruction, "")
        self.task = EngineTask(
            tr("GeoGround: {}").format(instruction),
            lambda t: run_job(job, self.engines, t),
            lambda result, error: self._finished(job, result, error),
        )
        self.task.progressChanged.connect(lambda p: self.dock.progress.setValue(int(p)))
        self.task.text_streamed.connect(self.dock.stream_text)
        self.dock.set_busy(True)
        self.dock.begin_answer()
        QgsApplication.taskManager().addTask(self.task)

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def shutdown(self) -> None:
        """Cancel any running task and drop the model (plugin unload)."""
        self.stop()
        self.engines.clear()

    def _finished(self, job: Job, result, error: str | None) -> None:
        self.task = None
        self.dock.set_busy(False)
        if error is not None:
            self.dock.end_answer()
            self.dock.show_notice(error)
            return
        view, segmentation = result
        for warning in view.warnings:
            self.dock.show_notice(warning)
        gpkg = results_gpkg()
        layer_name = _layer_name(job.instruction)
        measure = area_perimeter_measurer(view.crs_wkt)
        rows = [
            (
                feature.geometry.wkb,
                {
                    "phrase": feature.phrase,
                    "class": feature.label or feature.phrase,
                    "score": feature.score,
                    **dict(zip(("area_m2", "perimeter_m"), measure(feature.geometry.wkb))),
                    "instruction": segmentation.instruction,
                    "model": segmentation.model,
                    "created": segmentation.created,
                },
            )
            for feature in segmentation.features
        ]
        try:
            layer = write_polygons(gpkg, layer_name, view.crs_wkt, rows)
            self._record("assistant", segmentation.reply_text, layer_name)
            write_conversation(gpkg, self.turns)
        except OSError as exc:
            self.dock.end_answer()
            self.dock.show_notice(str(exc))
            return
        QgsProject.instance().addMapLayer(layer)
        counts = segmentation.counts()
        self.dock.end_answer(
            segmentation.reply_text,
            {phrase: phrase_color(phrase).name() for phrase in counts},
            tr("{} object(s) in layer “{}” ({}).").format(len(segmentation.features), layer_name, gpkg.name),
        )

    def _record(self, role: str, text: str, layer: str) -> None:
        if not self.turns:
            self.turns = read_conversation(results_gpkg())
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.turns.append({"turn": len(self.turns), "role": role, "text": text, "layer": layer, "created": created})


def area_perimeter_measurer(crs_wkt: str):
    """(WKB) -> (area in m2, perimeter in m) with QGIS's QgsDistanceArea: ellipsoidal on the CRS's ellipsoid, so
    geographic and Web Mercator layers get true ground measures; NaN without a CRS."""
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


def _layer_name(instruction: str) -> str:
    stamp = datetime.now().strftime("%H%M%S")
    words = "".join(c if c.isalnum() else "_" for c in instruction.lower()).strip("_")
    return f"{words[:40].strip('_') or 'result'}_{stamp}"
