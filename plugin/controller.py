"""Connects the chat dock to the engine: one background task per instruction, results into a GeoPackage layer.

The pixels are read from a provider clone inside the task, the engine is loaded once and kept, and the result layer
is written and added to the project on the main thread when the task finishes.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsExpression,
    QgsFeatureRequest,
    QgsMapLayerType,
    QgsProject,
    QgsRasterLayer,
)
from qgis.PyQt.QtCore import QObject
from qgis.PyQt.QtWidgets import QFileDialog

from .dependencies import missing_dependencies
from .export import RESULT_PROPERTY, export_results, result_layers
from .i18n import tr
from .raster_view import RasterSource, map_extent_to_layer, snapshot
from .result_layers import phrase_color, read_conversation, write_conversation, write_polygons
from .segmentation import ENGINES, result_rows, segment_source
from .settings import Settings
from .tasks import EngineTask

RESULTS_SUFFIX = "_geoground.gpkg"


@dataclass
class Job:
    """Everything the worker thread needs, captured on the main thread."""

    source: RasterSource
    extent: object  # QgsRectangle in the layer's CRS
    instruction: str
    settings: Settings
    layer_name: str


def unsaved_results_gpkg() -> Path:
    """Where results go while the project has no file yet (moved beside the project when it is saved)."""
    return Path(tempfile.gettempdir()) / "geoground" / ("unsaved_project" + RESULTS_SUFFIX)


def results_gpkg(project: QgsProject | None = None) -> Path:
    """Beside the project file when it is saved; otherwise a file in the temporary folder."""
    project = project or QgsProject.instance()
    if project.fileName():
        path = Path(project.fileName())
        return path.with_name(path.stem + RESULTS_SUFFIX)
    return unsaved_results_gpkg()


def run_job(job: Job, task: EngineTask):
    """Worker-thread part: read the view and ask the engine (see segmentation.segment_source)."""
    return segment_source(
        job.source,
        job.extent,
        job.instruction,
        job.settings,
        report=task.report,
        on_text=task.stream,
        should_stop=task.isCanceled,
    )


class ChatController(QObject):
    """Owns the running task and the conversation of the dock."""

    def __init__(self, iface, dock) -> None:
        super().__init__(dock)
        self.iface = iface
        self.dock = dock
        self.task: EngineTask | None = None
        self.turns: list[dict] = []
        dock.instruction_submitted.connect(self.submit)
        dock.stop_requested.connect(self.stop)
        dock.phrase_clicked.connect(self.select_phrase)
        dock.export_requested.connect(self.export)
        project = QgsProject.instance()
        project.readProject.connect(self.load_history)
        project.cleared.connect(self._forget_history)
        project.projectSaved.connect(self.keep_unsaved_results)

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
        extent = None  # whole layer (read coarser when large, with a message)
        if self.dock.scope == "view":
            extent = map_extent_to_layer(canvas.extent(), canvas.mapSettings().destinationCrs(), layer)
        settings = Settings.load()
        settings.default_model = self.dock.model or settings.default_model
        settings.device = self.dock.device or settings.device
        job = Job(source, extent, instruction, settings, layer.name())
        self._record("user", instruction, "")
        self.task = EngineTask(
            tr("GeoGround: {}").format(instruction),
            lambda t: run_job(job, t),
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
        self.shutdown_signals()
        ENGINES.clear()

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
        rows = result_rows(segmentation, view.crs_wkt)
        try:
            layer = write_polygons(gpkg, layer_name, view.crs_wkt, rows)
            self._record("assistant", segmentation.reply_text, layer_name)
            write_conversation(gpkg, self.turns)
        except OSError as exc:
            self.dock.end_answer()
            self.dock.show_notice(str(exc))
            return
        layer.setCustomProperty(RESULT_PROPERTY, True)
        QgsProject.instance().addMapLayer(layer)
        counts = segmentation.counts()
        self.dock.end_answer(
            segmentation.reply_text,
            {phrase: phrase_color(phrase).name() for phrase in counts},
            tr("{} object(s) in layer “{}” ({}).").format(len(segmentation.features), layer_name, gpkg.name),
            layer.id(),
        )

    def select_phrase(self, layer_id: str, phrase: str) -> list[int]:
        """Select and flash the polygons of one grounded phrase (the dock's phrase links)."""
        layer = QgsProject.instance().mapLayer(layer_id)
        if layer is None:
            self.dock.show_notice(tr("That result layer is no longer in the project."))
            return []
        request = QgsFeatureRequest(QgsExpression(QgsExpression.createFieldEqualityExpression("phrase", phrase)))
        ids = [feature.id() for feature in layer.getFeatures(request)]
        layer.selectByIds(ids)
        if ids:
            self.iface.mapCanvas().flashFeatureIds(layer, ids)
        return ids

    def export(self, destination: Path | None = None) -> Path | None:
        """Export every result layer and the conversation; asks for the file when ``destination`` is None."""
        if destination is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self.dock, tr("Export GeoGround results"), "", tr("GeoPackage (*.gpkg)")
            )
            if not chosen:
                return None
            destination = Path(chosen if chosen.lower().endswith(".gpkg") else chosen + ".gpkg")
        try:
            written = export_results(result_layers(), self.turns, destination)
        except OSError as exc:
            self.dock.show_notice(str(exc))
            return None
        self.dock.show_notice(tr("Exported to {}.").format(written))
        return written

    def load_history(self, *_args) -> None:
        """Show the conversation stored with the project's results (called when a project is opened)."""
        self.turns = read_conversation(results_gpkg())
        self.dock.show_history(self.turns)

    def _forget_history(self) -> None:
        self.turns = []
        self.dock.show_history([])

    def keep_unsaved_results(self) -> None:
        """Once an unsaved project gets a file, move results from the temporary GeoPackage beside it."""
        temporary = unsaved_results_gpkg()
        layers = [layer for layer in result_layers() if layer.source().startswith(str(temporary))]
        if not layers:
            return
        destination = results_gpkg()
        try:
            export_results(layers, self.turns, destination)
        except OSError as exc:
            self.dock.show_notice(str(exc))
            return
        for layer in layers:
            layer.setDataSource(f"{destination}|layername={layer.name()}", layer.name(), "ogr")
        self.dock.show_notice(tr("Results moved beside the project: {}.").format(destination))

    def shutdown_signals(self) -> None:
        project = QgsProject.instance()
        for signal, slot in (
            (project.readProject, self.load_history),
            (project.cleared, self._forget_history),
            (project.projectSaved, self.keep_unsaved_results),
        ):
            try:
                signal.disconnect(slot)
            except (TypeError, RuntimeError):
                pass

    def _record(self, role: str, text: str, layer: str) -> None:
        if not self.turns:
            self.turns = read_conversation(results_gpkg())
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.turns.append({"turn": len(self.turns), "role": role, "text": text, "layer": layer, "created": created})


def _layer_name(instruction: str) -> str:
    stamp = datetime.now().strftime("%H%M%S")
    words = "".join(c if c.isalnum() else "_" for c in instruction.lower()).strip("_")
    return f"{words[:40].strip('_') or 'result'}_{stamp}"
