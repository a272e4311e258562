"""Connects the chat dock to the engine: one background task per instruction, results into a GeoPackage layer.

The pixels are read from a provider clone inside the task, the engine is loaded once and kept, and the result layer
is written and added to the project on the main thread when the task finishes. "Find all like these" runs the same
way, with the dock's examples (see :mod:`.ui.example_picker`) in place of an instruction.
"""

from __future__ import annotations

import functools
import re
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsExpression,
    QgsFeatureRequest,
    QgsMapLayerType,
    QgsMessageLog,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QObject
from qgis.PyQt.QtWidgets import QFileDialog, QMessageBox

from .dependencies import missing_dependencies
from .export import RESULT_PROPERTY, export_results, result_layers
from .i18n import tr
from .model_download import HubModel, ModelDownloadTask, ModelUnavailableError, pending_download, start_download
from .raster_view import RasterSource, map_extent_to_layer, snapshot
from .result_layers import (
    copy_layers,
    gpkg_layer_names,
    phrase_color,
    read_conversation,
    result_layer_name,
    source_table,
    write_conversation,
    write_polygons,
)
from .result_store import new_store, remove_store
from .scopes import ScopeError, selection_in_raster_crs, selection_layer
from .segmentation import answer_text, engines, result_rows, segment_source
from .settings import Settings
from .tasks import LOG_TAG, EngineTask, user_message
from .ui.download_dialog import DownloadDialog
from .ui.example_picker import ExampleError, ExamplePicker, example_count, is_raster, outside
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
    scope: str = "view"  # the dock's area choice, for the words of a "nothing found" answer
    examples: list[bytes] | None = None  # "Find all like these": WKB points or polygons in the layer's CRS
    example_phrase: str = ""  # what the user called the objects like the examples ("": nothing typed)
    result_name: str = ""  # the words the result layer is named after ("": the instruction's)

    @property
    def phrase(self) -> str:
        """The name of each object found like the examples."""
        return self.example_phrase or "object"


def beside_project(project: QgsProject | None = None) -> Path | None:
    """``<project>_geoground.gpkg`` beside the project file; None while the project is no local file (unsaved, or
    kept in a database)."""
    project = project or QgsProject.instance()
    if not project.fileName() or project.projectStorage() is not None:
        return None
    path = Path(project.fileName())
    return path.with_name(path.stem + RESULTS_SUFFIX)


def run_job(job: Job, task: EngineTask):
    """Worker-thread part: read the view and ask the engine (see segmentation.segment_source). A whole-layer run
    that will take long asks the user first."""

    def confirm(tiles: int, seconds: float | None) -> bool:
        if seconds is None:
            question = tr("The whole layer is answered in {} tiles; this can take several minutes. Go on?")
            question = question.format(tiles)
        else:
            question = tr("The whole layer is answered in {} tiles, about {} min. Go on?").format(
                tiles, max(1, round(seconds / 60))
            )
        return task.ask(question)

    options = {"examples": job.examples, "example_phrase": job.phrase} if job.examples else {}
    return segment_source(
        job.source,
        job.extent,
        job.instruction,
        job.settings,
        report=task.report,
        on_text=task.stream,
        on_status=task.status,
        confirm=confirm if job.extent is None else None,
        should_stop=task.isCanceled,
        **options,
    )


def example_instruction(phrase: str, count: int) -> str:
    """What a "Find all like these" run is recorded as (the user's turn, the features' instruction)."""
    if phrase:
        return tr("Find all like these ({}): {}").format(example_count(count), phrase)
    return tr("Find all like these ({})").format(example_count(count))


def area_words(scope: str) -> str:
    """The dock's area, as a message names it."""
    return {
        "layer": tr("the whole layer"),
        "selection": tr("the selected polygons"),
        "rectangle": tr("the drawn rectangle"),
    }.get(scope, tr("the current view"))


EXAMPLES_OUTSIDE_HINT = "lies outside the area searched"  # the engine's words for an example off the pixels read
EXAMPLES_NODATA_HINT = "lies over pixels without data"  # ... and for one on pixels without data only
TEXT_ONLY_HINTS = ("text prompts only", "cannot take examples")  # a model without an example encoder


def guarded(slot):
    """A slot of the dock's buttons that never raises into QGIS: an unexpected error is logged and said in the
    dock."""

    @functools.wraps(slot)
    def run(self, *args, **kwargs):
        try:
            return slot(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the boundary between the dock and QGIS
            QgsMessageLog.logMessage(traceback.format_exc(), LOG_TAG, Qgis.Critical)
            self.dock.show_notice(user_message(exc))
            return None

    return run


class ChatController(QObject):
    """Owns the running task and the conversation of the dock."""

    def __init__(self, iface, dock) -> None:
        super().__init__(dock)
        self.iface = iface
        self.dock = dock
        self.task: EngineTask | None = None  # the running chat task, or the model download that precedes it
        self.download_dialog: DownloadDialog | None = None
        self.turns: list[dict] = []
        self._store: Path | None = None  # this unsaved project's temporary GeoPackage, made on first use
        self._drawer: RectangleDrawer | None = None  # made on first use: the map canvas is not touched before
        self._picker: ExamplePicker | None = None  # the same
        dock.draw_requested.connect(lambda: self.drawer.start())
        dock.closed.connect(self._clear_rectangle)
        dock.closed.connect(self._close_examples)
        dock.instruction_submitted.connect(self.submit)
        dock.pick_toggled.connect(self.pick_examples)
        dock.use_selected_requested.connect(self.use_selected)
        dock.clear_examples_requested.connect(self.clear_examples)
        dock.find_requested.connect(self.find_all)
        dock.stop_requested.connect(self.stop)
        dock.phrase_clicked.connect(self.select_phrase)
        dock.export_requested.connect(self.export)
        project = QgsProject.instance()
        project.readProject.connect(self.load_history)
        project.cleared.connect(self._forget_history)
        project.writeProject.connect(self.keep_results_with_project)  # emitted before the layers' sources are written

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

    @property
    def picker(self) -> ExamplePicker:
        """The examples of "Find all like these": the pick tool, the selected features taken, their markers."""
        if self._picker is None:
            self._picker = ExamplePicker(self.iface.mapCanvas(), self.dock.layer_combo.currentLayer, self)
            self._picker.changed.connect(self.dock.set_example_count)
            self._picker.picking_changed.connect(self.dock.set_picking)
            self._picker.notice.connect(self.dock.show_notice)
        return self._picker

    def _close_examples(self) -> None:
        if self._picker is not None:
            self._picker.close()

    @guarded
    def pick_examples(self, on: bool = True) -> None:  # noqa: FBT001, FBT002 - the dock's toggle button
        """Start (or end) picking examples by clicks on the map."""
        if not on:
            if self._picker is not None:
                self._picker.stop()
            return
        if not is_raster(self.dock.layer_combo.currentLayer()):
            self.dock.set_picking(False)
            self.dock.show_notice(tr("Add or select a raster layer first: the examples are objects on it."))
            return
        self.picker.start()
        self.dock.set_picking(self.picker.is_picking())
        self.dock.show_notice(
            tr(
                "Click objects on the map: each click is an example. Esc ends picking; then press "
                "“Find all like these”."
            )
        )

    @guarded
    def use_selected(self, layer=None) -> int:
        """Take the selected polygons or points of ``layer`` (None: the active layer) as examples; returns how many
        were added."""
        layer = layer if layer is not None else self.iface.activeLayer()
        try:
            added, left_out = self.picker.add_selected(layer)
        except ExampleError as exc:
            self.dock.show_notice(str(exc))
            return 0
        if added:
            message = tr("{} taken from the selected features of “{}”.").format(example_count(added), layer.name())
        else:
            message = tr("The selected features of “{}” are examples already.").format(layer.name())
        if left_out:
            message += " " + tr("{} feature(s) outside the raster layer were left out.").format(left_out)
        self.dock.show_notice(message)
        return added

    @guarded
    def clear_examples(self) -> None:
        if self._picker is not None:
            self._picker.clear()
        self.dock.set_example_count(0)

    def _prepared(self, layer, finding: bool = False) -> tuple | None:  # noqa: FBT001, FBT002
        """(pixels source, extent, clip, settings) for a job on ``layer`` over the dock's area, or None when it cannot
        run (the notice says why)."""
        if self.task is not None:
            self.dock.show_notice(tr("Still working on the previous instruction; press Stop to cancel it."))
            return None
        missing = missing_dependencies()
        if missing:
            self.dock.show_notice(tr("Cannot run: missing Python packages {}.").format(", ".join(missing)))
            return None
        if layer is None or layer.type() != QgsMapLayerType.RasterLayer:
            self.dock.show_notice(tr("Select a raster layer first."))
            return None
        try:
            source = snapshot(layer)
        except ValueError as exc:
            self.dock.show_notice(str(exc))
            return None
        try:
            extent, clip = self._area(layer, finding)
        except ScopeError as exc:
            self.dock.show_notice(str(exc))
            return None
        settings = Settings.load()
        settings.default_model = self.dock.model or settings.default_model
        settings.device = self.dock.device or settings.device
        return source, extent, clip, settings

    def submit(self, layer: QgsRasterLayer, instruction: str) -> None:
        prepared = self._prepared(layer)
        if prepared is None:
            return
        source, extent, clip, settings = prepared
        self._start(Job(source, extent, instruction, settings, layer.name(), clip, scope=self.dock.scope))

    @guarded
    def find_all(self, layer: QgsRasterLayer, phrase: str = "") -> None:
        """ "Find all like these": every object like the examples in the dock's area, named ``phrase`` (or
        "object")."""
        if not is_raster(layer):
            self.dock.show_notice(tr("Select a raster layer first."))
            return
        if self._picker is None or not len(self._picker):
            self.dock.show_notice(
                tr(
                    "No examples yet: press “Pick examples” and click objects on the map, or select polygons or "
                    "points and press “Use selected features”."
                )
            )
            return
        prepared = self._prepared(layer, finding=True)
        if prepared is None:
            return
        source, extent, clip, settings = prepared
        geometries = self.picker.geometries_in(layer.crs())
        searched = layer.extent() if extent is None else layer.extent().intersect(extent)
        off = outside(geometries, searched)
        if off:
            self.dock.show_notice(self._outside_message(len(off), len(geometries), self.dock.scope))
            return
        phrase = phrase.strip()
        job = Job(
            source,
            extent,
            example_instruction(phrase, len(geometries)),
            settings,
            layer.name(),
            clip,
            scope=self.dock.scope,
            examples=[bytes(g.asWkb()) for g in geometries],
            example_phrase=phrase,
            result_name=phrase or tr("like the examples"),
        )
        self._start(job)

    @staticmethod
    def _outside_message(count: int, total: int, scope: str) -> str:
        if total == 1:
            return tr(
                "The example lies outside the area searched ({}): pan or zoom the map to take it in, choose another "
                "area, or press “Clear examples”."
            ).format(area_words(scope))
        return tr(
            "{} of the {} examples lie outside the area searched ({}): pan or zoom the map to take them in, choose "
            "another area, or press “Clear examples”."
        ).format(count, total, area_words(scope))

    def _start(self, job: Job) -> None:
        """Run ``job`` now, or once its hub model is downloaded."""
        try:
            model = pending_download(job.settings.default_model, job.settings.model_cache_dir or None)
        except ModelUnavailableError as exc:
            self.dock.show_notice(str(exc))
            return
        if job.examples:  # the dock shows a typed instruction itself; this question is shown once it is taken
            self.dock.append_message("user", job.instruction)
        if model is not None:
            self._download_then_run(model, job)
            return
        self._run(job)

    def _area(
        self,
        layer: QgsRasterLayer,
        finding: bool = False,  # noqa: FBT001, FBT002
    ) -> tuple[QgsRectangle | None, bytes | None]:
        """(extent in the layer's CRS or None for the whole layer, clip WKB or None) of the dock's chosen area;
        ``finding``: for "Find all like these" (a notice says to press that again)."""
        scope = self.dock.scope
        canvas = self.iface.mapCanvas()
        if scope == "view":
            return map_extent_to_layer(canvas.extent(), canvas.mapSettings().destinationCrs(), layer), None
        if scope == "rectangle":
            if self.drawer.rectangle is None:
                self.drawer.start()
                if finding:
                    raise ScopeError(
                        tr(
                            "Draw a rectangle on the map first (press and drag), then press “Find all like these” "
                            "again."
                        )
                    )
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
        self.task.status_changed.connect(self.dock.show_status)
        self.task.confirm_requested.connect(self._confirm)
        self.dock.set_busy(True)
        self.dock.begin_answer()
        QgsApplication.taskManager().addTask(self.task)

    def _confirm(self, question: str) -> None:
        """Ask the running task's question (a long whole-layer run) and pass the answer back."""
        task = self.task
        if not isinstance(task, EngineTask):
            return
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        answer = QMessageBox.question(self.dock, tr("GeoGround"), question, buttons)
        task.answer(answer == QMessageBox.StandardButton.Yes)

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
        if self._picker is not None:
            self._picker.shutdown()
            self._picker = None
        self.shutdown_signals()
        engines().stop(wait=1.0)

    def _finished(self, job: Job, result, error: str | None) -> None:
        self.task = None
        self.dock.set_busy(False)
        if error is not None:  # failed or stopped: the question leaves the stored conversation, the notice says why
            self._drop_question(job)
            self.dock.end_answer()
            self.dock.show_notice(self._example_error(job, error) if job.examples else error)
            return
        view, segmentation = result
        for warning in view.warnings:
            self.dock.show_notice(warning)
        rows = result_rows(segmentation, view.crs, clip=job.clip)
        reply_text = answer_text(segmentation, rows, job.scope if job.extent is not None else "layer")
        layer = None
        try:
            gpkg = self.results_gpkg()
            layer_name = result_layer_name(job.result_name or job.instruction, gpkg_layer_names(gpkg)) if rows else ""
            if rows:  # nothing found: no empty layer, but the turn stays in the conversation
                layer = write_polygons(gpkg, layer_name, view.crs, rows)
            self._record("assistant", reply_text, layer_name)
            write_conversation(gpkg, self.turns)
        except OSError as exc:
            if self.turns and self.turns[-1]["role"] == "assistant":
                self.turns.pop()
            self._drop_question(job)
            self.dock.end_answer()
            self.dock.show_notice(str(exc))
            return
        if layer is None:
            self.dock.end_answer(reply_text)
            words = None
            if job.examples:
                forms = segmentation.forms.get(job.phrase) or ()
                words = forms[1] if job.example_phrase and len(forms) > 1 else job.example_phrase
                words = words or tr("objects like the examples")
            scope = job.scope if job.extent is not None else "layer"
            self.dock.show_notice(nothing_found(job.instruction, scope, words))
            return
        layer.setCustomProperty(RESULT_PROPERTY, True)
        QgsProject.instance().addMapLayer(layer)
        phrases = dict.fromkeys(attributes["phrase"] for _, attributes in rows)  # those left after any clip
        self.dock.end_answer(
            reply_text,
            {phrase: phrase_color(phrase).name() for phrase in phrases},
            tr("{} object(s) in layer “{}” ({}).").format(len(rows), layer_name, gpkg.name),
            layer.id(),
        )

    @staticmethod
    def _example_error(job: Job, error: str) -> str:
        """The engine's refusal of examples in the dock's words: an example off the pixels read, or a model that
        takes no examples."""
        if EXAMPLES_OUTSIDE_HINT in error:
            scope = job.scope if job.extent is not None else "layer"
            return tr(
                "An example lies outside the area searched ({}): pan or zoom the map to take it in, choose another "
                "area, or press “Clear examples”. ({})"
            ).format(area_words(scope), error)
        if EXAMPLES_NODATA_HINT in error:
            return tr("An example lies over pixels without data: pick examples on objects of the image. ({})").format(
                error
            )
        if any(hint in error for hint in TEXT_ONLY_HINTS):
            return tr(
                "The model “{}” takes text prompts only: it cannot find objects like examples. Choose a model with "
                "an example encoder, or type an instruction instead."
            ).format(job.settings.default_model)
        return error

    def _drop_question(self, job: Job) -> None:
        """Forget the user turn of a job that got no answer, so the saved conversation has no unanswered question."""
        if self.turns and self.turns[-1]["role"] == "user" and self.turns[-1]["text"] == job.instruction:
            self.turns.pop()

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

    def results_gpkg(self) -> Path:
        """Beside the project file once it is saved; before that, this project's own temporary GeoPackage."""
        beside = beside_project()
        if beside is not None:
            return beside
        if self._store is None:
            self._store = new_store()
        return self._store

    def load_history(self, *_args) -> None:
        """Show the conversation stored with the project's results (called when a project is opened), each answer's
        phrases linked again to its result layer."""
        gpkg = self.results_gpkg()
        self.turns = read_conversation(gpkg)
        self.dock.show_history(self._linked_turns(gpkg))

    def _linked_turns(self, gpkg: Path) -> list[dict]:
        """The turns with, for each answer whose layer is in the project, that layer's id and its phrase colours."""
        by_table: dict[str, object] = {}
        for layer in result_layers():
            path, table = source_table(layer)
            if path is not None and _same_file(path, gpkg):
                by_table[table] = layer  # the layer of this GeoPackage wins over a namesake from another one
            else:
                by_table.setdefault(table or layer.name(), layer)
        shown = []
        for turn in self.turns:
            turn = dict(turn)
            layer = by_table.get(turn.get("layer") or "") if turn.get("role") == "assistant" else None
            if layer is not None:
                index = layer.fields().indexOf("phrase")
                phrases = sorted(str(v) for v in layer.uniqueValues(index)) if index >= 0 else []
                turn["layer_id"] = layer.id()
                turn["colors"] = {phrase: phrase_color(phrase).name() for phrase in phrases}
            shown.append(turn)
        return shown

    def _forget_history(self) -> None:
        """A new (or another) project: an empty conversation and no examples; the unsaved project's temporary
        results go."""
        self.turns = []
        self.dock.show_history([])
        self._close_examples()
        self._drop_store()

    def _drop_store(self) -> None:
        """Delete this project's temporary GeoPackage unless a layer of the project still reads it."""
        store, self._store = self._store, None
        if store is None:
            return
        in_use = any(
            _same_file(path, store)
            for path, _ in (source_table(layer) for layer in QgsProject.instance().mapLayers().values())
            if path is not None
        )
        if not in_use:
            remove_store(store)

    def keep_results_with_project(self, document=None) -> None:
        """While the project file is written, copy the results kept elsewhere (the temporary GeoPackage of an
        unsaved project, or the GeoPackage of its previous name) and the conversation into the GeoPackage beside
        it, and point the layers there: the file written refers to that GeoPackage only, and reopens with every
        result after the temporary folder is gone."""
        project = QgsProject.instance()
        destination = beside_project(project)
        if destination is None:
            if self._store is not None and result_layers(project):
                self.dock.show_notice(
                    tr("The project is not a file: GeoGround results stay in {} until it is saved as a file.").format(
                        self._store.parent
                    )
                )
            return
        layers = [layer for layer in result_layers(project) if not _same_file(source_table(layer)[0], destination)]
        if not layers and not self.turns:
            return
        try:
            tables, turns = copy_layers(layers, destination, self.turns, project.transformContext())
            if turns:
                write_conversation(destination, turns)
        except OSError as exc:
            self.dock.show_notice(str(exc))
            return
        self.turns = turns
        for layer in layers:
            layer.setDataSource(f"{destination}|layername={tables[layer.id()]}", layer.name(), "ogr")
        if document is not None:  # the layer tree was written before this signal: give it the new sources too
            _set_layer_tree_sources(document, {layer.id(): layer for layer in layers}, project)
        self._drop_store()
        if layers:
            self.dock.show_notice(tr("Results moved beside the project: {}.").format(destination))

    def shutdown_signals(self) -> None:
        project = QgsProject.instance()
        for signal, slot in (
            (project.readProject, self.load_history),
            (project.cleared, self._forget_history),
            (project.writeProject, self.keep_results_with_project),
        ):
            try:
                signal.disconnect(slot)
            except (TypeError, RuntimeError):
                pass

    def _record(self, role: str, text: str, layer: str) -> None:
        if not self.turns:
            self.turns = read_conversation(self.results_gpkg())
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.turns.append({"turn": len(self.turns), "role": role, "text": text, "layer": layer, "created": created})


def _same_file(path: Path | None, other: Path) -> bool:
    if path is None:
        return False
    try:
        return Path(path).resolve() == Path(other).resolve()
    except OSError:
        return str(path) == str(other)


def _set_layer_tree_sources(document, layers: dict, project: QgsProject) -> None:
    """Write the current sources of ``layers`` (by id) into the layer tree of a project document being written."""
    nodes = document.elementsByTagName("layer-tree-layer")
    for index in range(nodes.count()):
        element = nodes.at(index).toElement()
        layer = layers.get(element.attribute("id"))
        if layer is not None:
            element.setAttribute("source", project.pathResolver().writePath(layer.publicSource()))


_ASKING = re.compile(
    r"^(?:please\s+)?(?:(?:segment|find|detect|outline|show(?:\s+me)?|extract|locate|mark|highlight|identify|"
    r"delineate|map|count|mask|where\s+are)\s+)(?:(?:all|every|each|any|the)\s+)*(?:of\s+the\s+)?",
    re.IGNORECASE,
)
_WHERE = re.compile(
    r"\s+(?:in|on|within|inside|from)\s+(?:this|the)\s+(?:image|picture|view|area|scene|layer|map|raster)$",
    re.IGNORECASE,
)


def object_words(instruction: str) -> str:
    """The objects an instruction asks for ("Segment all storage tanks" -> "storage tanks"); "" when it is not a
    request of that kind (a description, a question)."""
    text = instruction.strip().rstrip(".!?").strip()
    asking = _ASKING.match(text)
    if asking is None:
        return ""
    words = _WHERE.sub("", text[asking.end() :]).strip()
    return words if 0 < len(words.split()) <= 6 else ""


def nothing_found(instruction: str, scope: str, words: str | None = None) -> str:
    """What the dock says when an answer outlines nothing, in the instruction's own object words (or ``words``)."""
    words = words or object_words(instruction) or tr("objects")
    if scope == "layer":
        return tr("No {} found in this layer.").format(words)
    if scope == "selection":
        return tr("No {} found in the selected polygons.").format(words)
    if scope == "rectangle":
        return tr("No {} found in the drawn rectangle.").format(words)
    return tr("No {} found in this view.").format(words)
