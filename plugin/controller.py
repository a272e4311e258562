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
    QgsRectangle,
)
from qgis.PyQt.QtCore import QObject
from qgis.PyQt.QtWidgets import QFileDialog

from .dependencies import missing_dependencies
from .export import RESULT_PROPERTY, export_results, result_layers
from .i18n import tr
from .model_download import HubModel, ModelDownloadTask, ModelUnavailableError, pending_download, start_download
from .raster_view import RasterSource, map_extent_to_layer, snapshot
from .result_layers import phrase_color, read_conversation, write_conversation, write_polygons
from .scopes import ScopeError, selection_in_raster_crs, selection_layer
from .segmentation import ENGINES, result_rows, segment_source
from .settings import Settings
from .tasks import EngineTask
from .ui.download_dialog import DownloadDialog
from .ui.rectangle_tool import RectangleDrawer

RESULTS_SUFFIX = "_geoground.gpkg"


@dataclass
class Job:
    """Everything the worker thread needs, captured on the main thread."""

    source: RasterSource
    extent: object  # QgsRectangle in the layer's CRS
    instruction: str
    settings: Settings
    layer_name: str
    clip: bytes | None = None  # WKB in the layer's CRS: results are cut to it (the "Selected polygon" area)


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
        self.task: EngineTask | None = None  # the running chat task, or the model download that precedes it
        self.download_dialog: DownloadDialog | None = None
        self.turns: list[dict] = []
        self._drawer: RectangleDrawer | None = None  # made on first use: the map canvas is not touched before
        dock.draw_requested.connect(lambda: self.drawer.start())
        dock.closed.connect(self._clear_rectangle)
        dock.instruction_submitted.connect(self.submit)
        dock.stop_requested.connect(self.stop)
        dock.phrase_clicked.connect(self.select_phrase)
        dock.export_requested.connect(self.export)
        project = QgsProject.instance()
        project.readProject.connect(self.load_history)
        project.cleared.connect(self._forget_history)
        project.projectSaved.connect(self.keep_unsaved_results)

    @property
    def drawer(self) -> RectangleDrawer:
        """The "Drawn rectangle" area: its map tool and rubber band on the map canvas."""
        if self._drawer is None:
            self._drawer = RectangleDrawer(self.iface.mapCanvas(), self)
            self._drawer.drawn.connect(lambda _r: self.dock.show_notice(tr("Rectangle kept: Send to ask about it.")))
            self._drawer.cancelled.connect(
                lambda: self.dock.show_notice(tr("The rectangle has no area: press and drag on the map."))
            )
        return self._drawer

    def _clear_rectangle(self) -> None:
        if self._drawer is not None:
            self._drawer.clear()

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
        try:
            extent, clip = self._area(layer)
        except ScopeError as exc:
            self.dock.show_notice(str(exc))
            return
        settings = Settings.load()
        settings.default_model = self.dock.model or settings.default_model
        settings.device = self.dock.device or settings.device
        job = Job(source, extent, instruction, settings, layer.name(), clip)
        try:
            model = pending_download(settings.default_model, settings.model_cache_dir or None)
        except ModelUnavailableError as exc:
            self.dock.show_notice(str(exc))
            return
        if model is not None:
            self._download_then_run(model, job)
            return
        self._run(job)

    def _area(self, layer: QgsRasterLayer) -> tuple[QgsRectangle | None, bytes | None]:
        """(extent in the layer's CRS or None for the whole layer, clip WKB or None) of the dock's chosen area."""
        scope = self.dock.scope
        canvas = self.iface.mapCanvas()
        if scope == "view":
            return map_extent_to_layer(canvas.extent(), canvas.mapSettings().destinationCrs(), layer), None
        if scope == "rectangle":
            if self.drawer.rectangle is None:
                self.drawer.start()
                raise ScopeError(tr("Draw a rectangle on the map first (press and drag), then Send again."))
            return map_extent_to_layer(self.drawer.rectangle, self.drawer.crs, layer), None
        if scope == "selection":
            clip = selection_in_raster_crs(selection_layer(self.iface.activeLayer()), layer)
            return clip.boundingBox(), bytes(clip.asWkb())
        return None, None  # whole layer (read coarser when large, with a message)

    def _download_then_run(self, model: HubModel, job: Job) -> None:
        """Fetch the hub model with a progress dialog first; the instruction runs once the files are cached."""
        self.dock.set_busy(True)
        self.task = start_download(model, lambda folder, error: self._downloaded(job, folder, error))
        self.task.progressChanged.connect(lambda p: self.dock.progress.setValue(int(p)))
        self.download_dialog = DownloadDialog(self.task, self.dock)
        self.download_dialog.show()

    def _downloaded(self, job: Job, folder, error: str | None) -> None:
        task, self.task = self.task, None
        if self.download_dialog is not None:
            self.download_dialog.finish()
            self.download_dialog = None
        self.dock.set_busy(False)
        if error is not None:
            if isinstance(task, ModelDownloadTask) and task.isCanceled():
                error = tr(
                    "Stopped. The files downloaded so far are kept; the next instruction with this model goes on from "
                    "them (a conversion that was under way starts again)."
                )
            self.dock.show_notice(error)
            return
        self._run(job)

    def _run(self, job: Job) -> None:
        self._record("user", job.instruction, "")
        self.task = EngineTask(
            tr("GeoGround: {}").format(job.instruction),
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
        """Cancel any running task, take the drawn rectangle off the map and drop the model (plugin unload)."""
        self.stop()
        if self.download_dialog is not None:
            self.download_dialog.finish()
            self.download_dialog = None
        self._clear_rectangle()
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
        rows = result_rows(segmentation, view.crs_wkt, clip=job.clip)
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
        phrases = dict.fromkeys(attributes["phrase"] for _, attributes in rows)  # those left after any clip
        self.dock.end_answer(
            segmentation.reply_text,
            {phrase: phrase_color(phrase).name() for phrase in phrases},
            tr("{} object(s) in layer “{}” ({}).").format(len(rows), layer_name, gpkg.name),
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
