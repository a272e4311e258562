"""Drives the real QGIS desktop application: run by ``qgis --code tests/desktop/driver.py`` under Xvfb.

QGIS executes this file in its own Python after start-up (``exec`` in ``__main__``: there is no ``__file__``). What to
do comes from the JSON file named by ``GEOGROUND_DESKTOP_CONFIG`` (written by ``test_desktop.py``):

- ``phase: first``: wait for the plugin (installed from build/geoground.zip into a fresh profile), install the engine
  packages with the plugin's own installer from a folder of wheels, open a raster, chat in the dock through its real
  widgets, run both Processing algorithms, optionally the shared tank farm (an instruction, then "Find all like these"
  from one example picked in the dock, then the Processing algorithm of the same name), save the project, quit.
- ``phase: second`` (a new temporary folder; the first one was deleted): open the saved project, look at the layers
  and the dock's conversation, export with the dock's export and read the export back, quit.

Every step runs from a QTimer (the application's event loop keeps running: tasks, map rendering, dialogs), in a
try/except that keeps the traceback, and everything measured goes into ``report.json`` under the phase's key, which is
rewritten after each step. Screenshots of the main window go beside it. Modal dialogs are watched, recorded, pictured
and answered. A watchdog writes the report and ends QGIS if the whole phase takes too long.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import tempfile
import threading
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import qgis.utils
from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDataProvider,
    QgsFeature,
    QgsGeometry,
    QgsMapLayerType,
    QgsPointXY,
    QgsProcessingFeedback,
    QgsProject,
    QgsRasterLayer,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QDate, QDateTime, QMetaObject, QPoint, Qt, QTimer, QVariant

try:  # Qt6 moved QAction to QtGui
    from qgis.PyQt.QtGui import QAction
except ImportError:  # QGIS 3 (Qt5)
    from qgis.PyQt.QtWidgets import QAction
from qgis.PyQt.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QLineEdit,
    QMessageBox,
)
from qgis.utils import iface

PLUGIN = "geoground"
DOCK_NAME = "GeoGroundChatDock"
CHAT_ACTION = "GeoGroundChatAction"
RESULT_PROPERTY = "geoground/result"
LOG_LIMIT = 3000  # message-log entries kept per launch
FEATURE_LIMIT = 300  # features described per layer


class Wait:
    """Yielded by a step: resume when ``predicate()`` is true (sends True), or at ``timeout`` s (TimeoutError, or
    False when ``soft``)."""

    def __init__(self, predicate, timeout: float, what: str, soft: bool = False, interval_ms: int = 250) -> None:
        self.predicate, self.timeout, self.what = predicate, timeout, what
        self.soft, self.interval_ms = soft, interval_ms


class Driver:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.phase = config["phase"]
        self.out = Path(config["out_dir"])
        self.out.mkdir(parents=True, exist_ok=True)
        self.report_path = Path(config["report"])
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.state: dict = {}
        self.step_name = "start"
        self.step_index = -1
        self.steps: list = []
        self.modal_policy = None  # callable(widget) -> bool set by a step for the dialogs it expects
        self.modal_current: dict | None = None  # the modal dialog being answered
        self.shot_count = 0
        self.data: dict = {
            "phase": self.phase,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "finished": False,
            "watchdog_fired": False,
            "environment": {},
            "steps": {},
            "screenshots": {},
            "modal_dialogs": [],
            "log": [],
            "log_dropped": 0,
        }
        self._timers: list[QTimer] = []

    # ----------------------------------------------------------------------------------------------- report
    def elapsed(self) -> float:
        return round(time.monotonic() - self.t0, 2)

    def write(self) -> None:
        """Merge this phase's record into report.json (read, replace our key, write atomically)."""
        with self.lock:
            for _ in range(5):
                try:
                    text = json.dumps(self.data, indent=1, default=str)
                    break
                except RuntimeError:  # the main thread changed the record while the watchdog thread wrote it
                    time.sleep(0.05)
            else:
                return
            try:
                existing = json.loads(self.report_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                existing = {}
            existing[self.phase] = json.loads(text)
            temporary = self.report_path.with_name(self.report_path.name + f".{self.phase}.tmp")
            temporary.write_text(json.dumps(existing, indent=1), encoding="utf-8")
            os.replace(temporary, self.report_path)

    def on_log(self, message, tag, level) -> None:
        if len(self.data["log"]) >= LOG_LIMIT:
            self.data["log_dropped"] += 1
            return
        self.data["log"].append(
            {"t": self.elapsed(), "step": self.step_name, "tag": tag, "level": int(level), "message": message[:4000]}
        )

    def message_bar(self) -> list[dict]:
        try:
            return [
                {"title": item.title(), "text": item.text(), "level": int(item.level())}
                for item in iface.messageBar().items()
            ]
        except Exception as exc:  # noqa: BLE001
            return [{"error": repr(exc)}]

    # -------------------------------------------------------------------------------------------- start-up
    def start(self) -> None:
        QgsApplication.messageLog().messageReceived.connect(self.on_log)
        QgsApplication.instance().aboutToQuit.connect(self.on_quit)
        env = self.data["environment"]
        env.update(
            qgis_version=Qgis.QGIS_VERSION,
            python=sys.version,
            sys_executable=sys.executable,
            sys_prefix=sys.prefix,
            tempdir=tempfile.gettempdir(),
            settings_dir=QgsApplication.qgisSettingsDirPath(),
            platform=QApplication.platformName(),
            screen=[QApplication.primaryScreen().size().width(), QApplication.primaryScreen().size().height()],
        )
        watchdog_s = float(self.config.get("watchdog_s", 1200))
        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(lambda: self.watchdog("qtimer"))
        timer.start(int(watchdog_s * 1000))
        self._timers.append(timer)
        # If the main thread is blocked, the QTimer cannot fire: a thread does the same a minute later.
        backstop = threading.Timer(watchdog_s + 60, lambda: self.watchdog("thread"))
        backstop.daemon = True
        backstop.start()
        modal = QTimer()
        modal.timeout.connect(self.check_modal)
        modal.start(400)
        self._timers.append(modal)
        self.steps = FIRST_STEPS if self.phase == "first" else SECOND_STEPS
        self.write()
        QTimer.singleShot(500, self.next_step)

    def watchdog(self, how: str) -> None:
        self.data["watchdog_fired"] = how
        self.data["watchdog_step"] = self.step_name
        self.data["seconds"] = self.elapsed()
        try:
            if how == "qtimer":
                self.screenshot("watchdog")
        except Exception:  # noqa: BLE001,S110 - nothing more to do: the report is what matters now
            pass
        self.write()
        os._exit(124)

    def on_quit(self) -> None:
        self.data["about_to_quit_at"] = self.elapsed()
        self.write()

    # -------------------------------------------------------------------------------------------- modal dialogs
    def check_modal(self) -> None:
        """Record each modal dialog once (with a picture), let it settle a second, then answer it: the current step's
        policy first, else default_modal. A dialog still open 3 s after an answer is answered again (3 tries)."""
        widget = QApplication.activeModalWidget()
        if widget is None:
            self.modal_current = None
            return
        current = self.modal_current
        if current is None or current["widget"] is not widget:  # holding the wrapper keeps `is` meaningful
            entry = {
                "t": self.elapsed(),
                "step": self.step_name,
                "class": type(widget).__name__,
                "qt_class": widget.metaObject().className(),
                "object_name": widget.objectName(),
                "title": widget.windowTitle(),
                "answers": [],
            }
            if isinstance(widget, QMessageBox):
                entry["text"] = widget.text()
                entry["informative_text"] = widget.informativeText()
                entry["buttons"] = [b.text() for b in widget.buttons()]
            try:
                n = len(self.data["modal_dialogs"]) + 1
                path = self.out / f"{self.phase}-modal-{n:02d}.png"
                widget.grab().save(str(path))
                entry["screenshot"] = str(path)
            except Exception as exc:  # noqa: BLE001
                entry["screenshot_error"] = repr(exc)
            self.data["modal_dialogs"].append(entry)
            self.modal_current = {"widget": widget, "seen": time.monotonic(), "entry": entry, "last": 0.0}
            self.write()
            return
        now = time.monotonic()
        if now - current["seen"] < 1.0 or now - current["last"] < 3.0 or len(current["entry"]["answers"]) >= 3:
            return
        current["last"] = now
        try:
            handled = self.modal_policy(widget) if self.modal_policy is not None else False
            if not handled:
                handled = self.default_modal(widget)
        except Exception:  # noqa: BLE001
            handled = "error: " + traceback.format_exc()
        current["entry"]["answers"].append(handled)
        self.write()

    def default_modal(self, widget) -> str:
        """GeoGround's own questions get Yes, QGIS's 'save changes?' gets Discard, anything else is dismissed."""
        if isinstance(widget, QMessageBox):
            discard = widget.button(QMessageBox.StandardButton.Discard)
            if discard is not None:
                discard.click()
                return "Discard"
            yes = widget.button(QMessageBox.StandardButton.Yes)
            if yes is not None and "tiles" in widget.text():
                yes.click()
                return "Yes"
        if isinstance(widget, QDialog):
            widget.reject()
            return "reject"
        widget.close()
        return "close"

    # -------------------------------------------------------------------------------------------- steps
    def next_step(self) -> None:
        self.step_index += 1
        if self.step_index >= len(self.steps):
            return
        name, function = self.steps[self.step_index]
        self.step_name = name
        self.record = self.data["steps"].setdefault(name, {})
        self.record["started_at"] = self.elapsed()
        self.step_t0 = time.monotonic()
        self.modal_policy = None
        try:
            result = function(self, self.record)
        except Exception:  # noqa: BLE001
            self.fail()
            return
        if result is None:
            self.done()
            return
        self.generator = result
        self.advance()

    def advance(self, value=None, error: BaseException | None = None) -> None:
        try:
            item = self.generator.throw(error) if error is not None else self.generator.send(value)
        except StopIteration:
            self.done()
            return
        except Exception:  # noqa: BLE001
            self.fail()
            return
        if isinstance(item, Wait):
            self.poll(item, time.monotonic() + item.timeout)
        else:
            QTimer.singleShot(int(float(item or 0) * 1000), self.advance)

    def poll(self, wait: Wait, deadline: float) -> None:
        try:
            ready = bool(wait.predicate())
        except Exception as exc:  # noqa: BLE001
            self.advance(error=exc)
            return
        if ready:
            self.advance(True)
        elif time.monotonic() > deadline:
            if wait.soft:
                self.advance(False)
            else:
                self.advance(error=TimeoutError(f"waited {wait.timeout:.0f} s for {wait.what}"))
        else:
            QTimer.singleShot(wait.interval_ms, lambda: self.poll(wait, deadline))

    def done(self) -> None:
        self.record.setdefault("ok", True)
        self.finish_step()

    def fail(self) -> None:
        self.record["ok"] = False
        self.record["error"] = traceback.format_exc()
        try:
            self.screenshot(f"{self.step_name}-error")
        except Exception:  # noqa: BLE001
            self.record["error_screenshot"] = traceback.format_exc()
        self.finish_step()

    def finish_step(self) -> None:
        self.record["seconds"] = round(time.monotonic() - self.step_t0, 2)
        self.record["message_bar"] = self.message_bar()
        self.modal_policy = None
        self.write()
        QTimer.singleShot(100, self.next_step)

    # -------------------------------------------------------------------------------------------- helpers
    def screenshot(self, name: str) -> str:
        self.shot_count += 1
        window = iface.mainWindow()
        path = self.out / f"{self.phase}-{self.shot_count:02d}-{name}.png"
        saved = window.grab().save(str(path))
        canvas = iface.mapCanvas()
        corner = canvas.mapTo(window, QPoint(0, 0))
        self.data["screenshots"][name] = {
            "path": str(path),
            "saved": bool(saved),
            "step": self.step_name,
            "window": [window.width(), window.height()],
            "canvas_rect": [corner.x(), corner.y(), canvas.width(), canvas.height()],
            "canvas_visible": canvas.isVisible(),
            "layers_on_canvas": [layer.name() for layer in canvas.layers()],
        }
        return str(path)

    def shoot(self, name: str):
        """Refresh the map, wait until it is drawn, then picture the main window (a generator: ``yield from``)."""
        canvas = iface.mapCanvas()
        canvas.refreshAllLayers()
        yield 0.5
        yield Wait(lambda: not canvas.isDrawing(), 60, "the map to be drawn", soft=True)
        yield 1.5
        self.screenshot(name)

    def plugin(self):
        return qgis.utils.plugins[PLUGIN]

    def dock(self):
        return iface.mainWindow().findChild(QDockWidget, DOCK_NAME)

    def show_dock(self, record: dict) -> None:
        dock = self.dock()
        action = iface.mainWindow().findChild(QAction, CHAT_ACTION)
        record["chat_action_found"] = action is not None
        if dock is not None and not dock.isVisible() and action is not None:
            action.trigger()  # the toolbar button (checkable: it toggles the dock)
        record["dock_visible"] = dock is not None and dock.isVisible()

    def chat(self, record: dict, layer: QgsRasterLayer, instruction: str, timeout: float):
        """Type the instruction into the dock, click Send, wait for the answer; record what the user sees."""
        from qgis.PyQt.QtTest import QTest

        plugin = self.plugin()
        self.show_dock(record)
        yield 0.5
        dock = self.dock()
        record["dock_is_plugin_dock"] = dock is plugin.dock
        dock.layer_combo.setLayer(layer)
        record["layer_in_combo"] = dock.layer_combo.currentLayer().name() if dock.layer_combo.currentLayer() else None
        record["model"] = dock.model_combo.currentText()
        record["scope"] = dock.scope_combo.currentData()
        record["device"] = dock.device_combo.currentText()
        before = set(QgsProject.instance().mapLayers())
        conversation_before = dock.conversation.toPlainText()
        dock.input.setFocus()
        dock.input.clear()
        QTest.keyClicks(dock.input, instruction)
        record["typed"] = dock.input.text()
        QTest.mouseClick(dock.send_button, Qt.MouseButton.LeftButton)
        started = time.monotonic()
        yield 0.3
        record["task_started"] = plugin.controller.task is not None
        finished = yield Wait(lambda: plugin.controller.task is None, timeout, "the answer", soft=True)
        record["task_finished"] = bool(finished)
        record["answer_seconds"] = round(time.monotonic() - started, 1)
        yield 1.0
        text = dock.conversation.toPlainText()
        record["conversation"] = text
        record["conversation_added"] = (
            text[len(conversation_before) :] if text.startswith(conversation_before) else text
        )
        record["input_after"] = dock.input.text()
        record["send_enabled_after"] = dock.send_button.isEnabled()
        record["progress_visible_after"] = dock.progress.isVisible()
        new_layers = [layer for layer_id, layer in QgsProject.instance().mapLayers().items() if layer_id not in before]
        record["new_layers"] = [describe_layer(new, layer) for new in new_layers]
        results = [new for new in new_layers if isinstance(new, QgsVectorLayer) and new.customProperty(RESULT_PROPERTY)]
        record["result_layer"] = describe_layer(results[0], layer) if results else None
        record["controller_turns"] = [dict(turn) for turn in getattr(plugin.controller, "turns", [])]
        return results[0] if results else None


# ------------------------------------------------------------------------------------------------- describing
def plain(value):
    """A QGIS attribute value as JSON."""
    if value is None or (isinstance(value, QVariant) and value.isNull()):
        return None
    if isinstance(value, QDateTime):
        return value.toString(Qt.DateFormat.ISODate)
    if isinstance(value, QDate):
        return value.toString(Qt.DateFormat.ISODate)
    if isinstance(value, (int, float, str, bool)):
        return value
    return str(value)


def describe_layer(layer, raster: QgsRasterLayer | None = None) -> dict:
    """Name, source, validity and, for vector layers, features: areas and whether they lie within the raster."""
    info = {
        "name": layer.name(),
        "id": layer.id(),
        "source": layer.source(),
        "provider": layer.providerType(),
        "valid": layer.isValid(),
        "crs": layer.crs().authid(),
        "is_result": bool(layer.customProperty(RESULT_PROPERTY, False)),
    }
    if layer.type() == QgsMapLayerType.RasterLayer:
        info.update(type="raster", width=layer.width(), height=layer.height(), bands=layer.bandCount())
        info["extent"] = rectangle(layer.extent())
        return info
    if not isinstance(layer, QgsVectorLayer):
        info["type"] = str(layer.type())
        return info
    info.update(
        type="vector",
        geometry_type=QgsWkbTypes.displayString(layer.wkbType()),
        feature_count=layer.featureCount(),
        fields=[field.name() for field in layer.fields()],
    )
    if not layer.isValid():
        return info
    raster_area = None
    if raster is not None and raster.isValid():
        extent = raster.extent()
        if raster.crs() != layer.crs():
            transform = QgsCoordinateTransform(raster.crs(), layer.crs(), QgsProject.instance())
            extent = transform.transformBoundingBox(extent)
        pixel = max(raster.rasterUnitsPerPixelX(), raster.rasterUnitsPerPixelY())
        raster_area = QgsGeometry.fromRect(extent).buffer(2 * pixel, 1)  # a pixel or two of slack at the edges
        info["raster_extent_in_layer_crs"] = rectangle(extent)
    names = set(info["fields"])
    features = []
    for feature in layer.getFeatures():
        geometry = feature.geometry()
        item = {
            "geometry_type": QgsWkbTypes.displayString(geometry.wkbType()) if not geometry.isNull() else None,
            "empty": geometry.isNull() or geometry.isEmpty(),
            "geometry_area": geometry.area() if not geometry.isNull() else 0.0,
            "geos_valid": geometry.isGeosValid() if not geometry.isNull() else False,
        }
        for name in ("phrase", "class", "score", "area_m2", "perimeter_m", "instruction", "model"):
            if name in names:
                item[name] = plain(feature[name])
        if raster_area is not None and not geometry.isNull():
            item["within_raster"] = raster_area.contains(geometry)
        features.append(item)
        if len(features) >= FEATURE_LIMIT:
            break
    info["features"] = features
    areas = [f.get("area_m2") for f in features]
    info["all_polygons"] = bool(features) and all(
        (f["geometry_type"] or "").replace("Multi", "") == "Polygon" and not f["empty"] for f in features
    )
    info["all_within_raster"] = bool(features) and all(f.get("within_raster", False) for f in features)
    info["all_area_m2_positive"] = bool(features) and all(isinstance(a, (int, float)) and a > 0 for a in areas)
    info["total_area_m2"] = sum(a for a in areas if isinstance(a, (int, float)))
    return info


def rectangle(rect) -> list[float]:
    return [rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum()]


def gpkg_layers(path: Path) -> dict:
    """Every layer of a GeoPackage read back with QgsVectorLayer: features, and all rows of geometry-less tables."""
    probe = QgsVectorLayer(str(path), "probe", "ogr")
    names = []
    for sublayer in probe.dataProvider().subLayers() if probe.isValid() else []:
        parts = sublayer.split(QgsDataProvider.SUBLAYER_SEPARATOR)
        if len(parts) > 1:
            names.append(parts[1])
    layers = {}
    for name in names:
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        entry = {"valid": layer.isValid(), "feature_count": layer.featureCount()}
        entry["fields"] = [field.name() for field in layer.fields()] if layer.isValid() else []
        if layer.isValid() and not layer.isSpatial():
            entry["rows"] = [
                {field: plain(feature[field]) for field in entry["fields"]} for feature in layer.getFeatures()
            ]
        elif layer.isValid():
            entry["areas_m2"] = [
                plain(feature["area_m2"]) for feature in layer.getFeatures() if "area_m2" in entry["fields"]
            ][:FEATURE_LIMIT]
        layers[name] = entry
    return layers


def find_raster(name: str):
    for layer in QgsProject.instance().mapLayersByName(name):
        if isinstance(layer, QgsRasterLayer):
            return layer
    return None


# ------------------------------------------------------------------------------------------------- first launch
def step_plugin_loaded(driver: Driver, record: dict):
    window = iface.mainWindow()
    window.showNormal()
    window.setGeometry(0, 0, 1280, 1000)
    loaded = yield Wait(lambda: PLUGIN in qgis.utils.plugins, 180, "the plugin to load")
    record["loaded"] = bool(loaded)
    record["active_plugins"] = sorted(qgis.utils.active_plugins)
    module = sys.modules.get(PLUGIN)
    record["plugin_file"] = getattr(module, "__file__", None)
    plugins_dir = Path(QgsApplication.qgisSettingsDirPath()) / "python" / "plugins"
    record["loaded_from_profile"] = bool(record["plugin_file"]) and Path(record["plugin_file"]).is_relative_to(
        plugins_dir
    )
    record["dock_found"] = driver.dock() is not None
    record["chat_action_found"] = window.findChild(QAction, CHAT_ACTION) is not None
    from geoground.plugin.dependencies import missing_dependencies

    record["missing_dependencies"] = missing_dependencies()
    record["torch_spec"] = spec_origin("torch")
    yield 2.0
    yield from driver.shoot("started")


def spec_origin(module: str):
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        return f"error: {exc!r}"
    return spec.origin if spec is not None else None


def step_install(driver: Driver, record: dict):
    from geoground.plugin import installer
    from geoground.plugin.dependencies import missing_dependencies

    wheels = Path(driver.config["wheels"])
    version = f"{sys.version_info[0]}{sys.version_info[1]}"
    private = Path(QgsApplication.qgisSettingsDirPath()) / "python" / f"geoground-packages-py{version}"
    record["wheels"] = str(wheels)
    record["wheel_count"] = len(list(wheels.glob("*.whl")))
    record["private_folder"] = str(private)
    record["missing_before"] = missing_dependencies()
    outcome: dict = {}
    started = time.monotonic()

    def on_done(ok: bool, message: str) -> None:
        outcome.update(ok=bool(ok), message=str(message), seconds=round(time.monotonic() - started, 1))

    driver.state["install_task"] = installer.start_install(on_done, wheel_dir=wheels)
    yield Wait(lambda: bool(outcome), float(driver.config.get("install_timeout_s", 900)), "the installer's on_done")
    record.update(outcome)
    record["ok"] = outcome["ok"]
    record["missing_after"] = missing_dependencies()
    record["private_folder_exists"] = private.is_dir()
    record["private_folder_entries"] = len(list(private.iterdir())) if private.is_dir() else 0
    record["torch_spec"] = spec_origin("torch")
    record["numpy_spec"] = spec_origin("numpy")
    yield from driver.shoot("installed")


def step_open_raster(driver: Driver, record: dict):
    path = driver.config["raster"]["path"]
    layer = iface.addRasterLayer(path, driver.config["raster_name"])
    if layer is None or not layer.isValid():
        raise RuntimeError(f"QGIS could not open {path}")
    driver.state["raster"] = layer
    iface.setActiveLayer(layer)
    canvas = iface.mapCanvas()
    canvas.setExtent(layer.extent())
    canvas.refresh()
    record["layer"] = describe_layer(layer)
    record["project_crs"] = QgsProject.instance().crs().authid()
    record["canvas_crs"] = canvas.mapSettings().destinationCrs().authid()
    yield from driver.shoot("raster")


def step_chat(driver: Driver, record: dict):
    raster = driver.state["raster"]
    iface.mapCanvas().setExtent(raster.extent())
    result = yield from driver.chat(
        record, raster, driver.config["instruction"], driver.config.get("chat_timeout_s", 900)
    )
    driver.state["result_layer"] = result
    iface.mapCanvas().setExtent(raster.extent())
    yield from driver.shoot("chat")
    if result is None:
        record["ok"] = False
        record["error"] = "no result layer was added to the project (see conversation and log)"


def step_processing(driver: Driver, record: dict):
    import processing

    raster = driver.state["raster"]
    folder = Path(driver.config["project"]).parent
    folder.mkdir(parents=True, exist_ok=True)
    runs = {
        "segmentbyinstruction": {"INSTRUCTION": driver.config["instruction"], "OUTPUT": folder / "segment.gpkg"},
        "describewithgroundedmasks": {"OUTPUT": folder / "describe.gpkg"},
    }
    all_ok = True
    for name, parameters in runs.items():
        entry = record.setdefault(name, {})
        output = parameters["OUTPUT"]
        parameters = dict(parameters, INPUT=raster.source(), OUTPUT=str(output))
        feedback = QgsProcessingFeedback()
        started = time.monotonic()
        try:
            result = processing.run(f"geoground:{name}", parameters, feedback=feedback)
            entry["ok"] = True
            entry["answer"] = result.get("ANSWER")
            entry["output"] = str(result.get("OUTPUT"))
            layer = QgsVectorLayer(entry["output"], f"processing_{name}", "ogr")
            entry["layer"] = describe_layer(layer, raster)
            if layer.isValid():
                QgsProject.instance().addMapLayer(layer)
        except Exception:  # noqa: BLE001 - recorded; the other algorithm still runs
            entry["ok"] = False
            entry["error"] = traceback.format_exc()
            all_ok = False
        entry["seconds"] = round(time.monotonic() - started, 1)
        entry["feedback_log"] = feedback.textLog()[-4000:]
        yield 0.2
    # A training set from the polygons the first algorithm wrote, built by the engine process.
    entry = record.setdefault("buildtrainingset", {})
    training = folder / "training-set"
    feedback = QgsProcessingFeedback()
    try:
        parameters = {"INPUT": raster.source(), "POLYGONS": str(folder / "segment.gpkg"), "CLASS_NAME": "storage tank"}
        parameters |= {"CHIP": 256, "OVERLAP": 32, "OUTPUT": str(training)}
        result = processing.run("geoground:buildtrainingset", parameters, feedback=feedback)
        entry["ok"] = True
        entry["report"] = result.get("REPORT")
        entry["dataset"] = (training / "dataset.json").is_file()
        entry["contact_sheet"] = (training / "contact_sheet.png").is_file()
    except Exception:  # noqa: BLE001 - recorded for the test
        entry["ok"] = False
        entry["error"] = traceback.format_exc()
        all_ok = False
    entry["feedback_log"] = feedback.textLog()[-4000:]
    yield 0.2
    yield from _fine_tune(driver, record, raster, folder, training)
    try:
        dialog = processing.createAlgorithmDialog("geoground:buildtrainingset", {"INPUT": raster.id()})
        dialog.show()
        yield 2.0
        entry["dialog_saved"] = bool(dialog.grab().save(str(driver.out / f"{driver.phase}-training-set-dialog.png")))
        dialog.close()
    except Exception:  # noqa: BLE001
        entry["dialog_error"] = traceback.format_exc()
    # The algorithm dialog of the toolbox, filled in, pictured (not run: processing.run above did the work).
    dialog_entry = record.setdefault("dialog", {})
    try:
        dialog = processing.createAlgorithmDialog(
            "geoground:segmentbyinstruction", {"INPUT": raster.id(), "INSTRUCTION": driver.config["instruction"]}
        )
        dialog.show()
        yield 2.0
        path = driver.out / f"{driver.phase}-processing-dialog.png"
        dialog_entry["saved"] = bool(dialog.grab().save(str(path)))
        dialog_entry["path"] = str(path)
        dialog_entry["title"] = dialog.windowTitle()
        dialog.close()
    except Exception:  # noqa: BLE001
        dialog_entry["error"] = traceback.format_exc()
    iface.mapCanvas().setExtent(raster.extent())
    yield from driver.shoot("processing")
    record["ok"] = all_ok


def _fine_tune(driver: Driver, record: dict, raster, folder: Path, training: Path):
    """Fine-tune the shipped model on the training set for a few steps, then ask the new model the same question: the
    folder, the user-model list and a different answer are recorded."""
    import processing

    from geoground.plugin.settings import user_models

    entry = record.setdefault("finetunemodel", {})
    model = folder / "my-model"
    feedback = QgsProcessingFeedback()
    started = time.monotonic()
    try:
        parameters = {"DATASETS": str(training), "BASE": "demo", "STEPS": 40, "OUTPUT": str(model)}
        result = processing.run("geoground:finetunemodel", parameters, feedback=feedback)
        entry["ok"] = True
        entry["report"] = result.get("REPORT")
        entry["model"] = result.get("MODEL")
        entry["config"] = (model / "config.json").is_file()
        entry["listed"] = str(model) in user_models() or str(model.resolve()) in user_models()
        log = json.loads((model / "finetune.json").read_text(encoding="utf-8"))
        entry["losses"] = [round(h["loss"], 4) for h in log["history"]]
        answers = {}
        for name, chosen in (("base", "demo"), ("tuned", str(model))):
            out = folder / f"segment-{name}.gpkg"
            run = processing.run("geoground:segmentbyinstruction", {"INPUT": raster.source(), "MODEL": chosen,
                                 "INSTRUCTION": driver.config["instruction"], "OUTPUT": str(out)})  # fmt: skip
            layer = QgsVectorLayer(str(run["OUTPUT"]), name, "ogr")
            answers[name] = {"answer": run.get("ANSWER"), "features": layer.featureCount(),
                             "area_m2": round(sum(f["area_m2"] for f in layer.getFeatures()), 1)}  # fmt: skip
        entry["answers"] = answers
    except Exception:  # noqa: BLE001 - recorded for the test
        entry["ok"] = False
        entry["error"] = traceback.format_exc()
    entry["seconds"] = round(time.monotonic() - started, 1)
    entry["feedback_log"] = feedback.textLog()[-4000:]
    yield 0.2


def step_tank_farm(driver: Driver, record: dict):
    path = driver.config.get("tank_farm")
    if not path:
        record["skipped"] = "no tank farm raster in the shared data folder"
        return
    layer = iface.addRasterLayer(path, "tank_farm")
    if layer is None or not layer.isValid():
        raise RuntimeError(f"QGIS could not open {path}")
    driver.state["tank_farm"] = layer
    record["layer"] = describe_layer(layer)
    canvas = iface.mapCanvas()
    transform = QgsCoordinateTransform(layer.crs(), canvas.mapSettings().destinationCrs(), QgsProject.instance())
    canvas.setExtent(transform.transformBoundingBox(layer.extent()))
    canvas.refresh()
    yield 1.0
    result = yield from driver.chat(
        record, layer, driver.config["instruction"], driver.config.get("chat_timeout_s", 900)
    )
    yield from driver.shoot("tank-farm")
    if result is None:
        record["ok"] = False
        record["error"] = "no result layer was added to the project (see conversation and log)"


def roof_in_layer_crs(layer: QgsRasterLayer, roof: dict) -> tuple[QgsPointXY, float]:
    """A tank roof of the evaluation labels (pixel col, row, radius) as its centre and radius in the layer's CRS."""
    extent = layer.extent()
    res_x, res_y = layer.rasterUnitsPerPixelX(), layer.rasterUnitsPerPixelY()
    centre = QgsPointXY(extent.xMinimum() + roof["col"] * res_x, extent.yMaximum() - roof["row"] * res_y)
    return centre, roof["radius_px"] * res_x


def new_result_layers(before: set, raster: QgsRasterLayer) -> list:
    return [
        layer
        for layer_id, layer in QgsProject.instance().mapLayers().items()
        if layer_id not in before and isinstance(layer, QgsVectorLayer) and layer.customProperty(RESULT_PROPERTY)
    ]


def step_find_all(driver: Driver, record: dict):
    """Show one, find all, in the dock: a click on one tank roof adds an example (the map is in another CRS than
    the raster), "Clear examples" takes it away, then the roof's outline, selected in a polygon layer in WGS 84, is
    taken with "Use selected features", a phrase is typed and "Find all like these" is pressed."""
    from qgis.PyQt.QtTest import QTest

    layer = driver.state.get("tank_farm")
    roof = driver.config.get("tank_roof")
    if layer is None or not roof:
        record["skipped"] = "no tank farm raster in the shared data folder"
        return
    plugin = driver.plugin()
    controller = plugin.controller
    driver.show_dock(record)
    yield 0.5
    dock = driver.dock()
    dock.layer_combo.setLayer(layer)
    dock.scope_combo.setCurrentIndex(dock.scope_combo.findData("view"))
    canvas = iface.mapCanvas()
    map_crs = canvas.mapSettings().destinationCrs()
    to_map = QgsCoordinateTransform(layer.crs(), map_crs, QgsProject.instance())
    canvas.setExtent(to_map.transformBoundingBox(layer.extent()))
    canvas.refresh()
    yield Wait(lambda: not canvas.isDrawing(), 60, "the map to be drawn", soft=True)
    record["map_crs"] = map_crs.authid()
    record["raster_crs"] = layer.crs().authid()
    centre, radius = roof_in_layer_crs(layer, roof)
    record["roof"] = {"x": centre.x(), "y": centre.y(), "radius": radius}

    # 1. a click on the roof with "Pick examples"
    QTest.mouseClick(dock.pick_button, Qt.MouseButton.LeftButton)
    yield 0.3
    record["picking"] = controller.picker.is_picking() and dock.pick_button.isChecked()
    record["map_tool"] = type(canvas.mapTool()).__name__
    pixel = canvas.getCoordinateTransform().transform(to_map.transform(centre))
    QTest.mouseClick(
        canvas.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        QPoint(round(pixel.x()), round(pixel.y())),
    )
    yield 0.5
    record["label_after_click"] = dock.examples_label.text()
    record["examples_after_click"] = len(controller.picker)
    if len(controller.picker):
        example = controller.picker.examples[0]
        point = example.geometry.asPoint()
        record["click_example"] = {"x": point.x(), "y": point.y(), "crs": example.crs.authid()}
        record["click_distance_to_roof_centre"] = point.distance(centre)
    record["markers_after_click"] = controller.picker.marker_count()
    yield from driver.shoot("find-all-picked")
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    yield 0.3
    record["picking_after_escape"] = controller.picker.is_picking() or dock.pick_button.isChecked()
    QTest.mouseClick(dock.clear_examples_button, Qt.MouseButton.LeftButton)
    yield 0.3
    record["examples_after_clear"] = len(controller.picker)
    record["label_after_clear"] = dock.examples_label.text()

    # 2. the roof's outline, selected in a polygon layer in WGS 84 (a file, as a user's own layer would be)
    examples = example_layer(driver.out / "data" / "tank_example.gpkg", centre, radius, layer.crs())
    QgsProject.instance().addMapLayer(examples)
    examples.selectAll()
    driver.state["tank_example_layer"] = examples
    dock.examples_layer_combo.setLayer(examples)
    QTest.mouseClick(dock.use_selected_button, Qt.MouseButton.LeftButton)
    yield 0.3
    record["examples_after_selection"] = len(controller.picker)
    record["label_after_selection"] = dock.examples_label.text()
    if len(controller.picker):
        example = controller.picker.examples[0]
        record["selection_example"] = {
            "crs": example.crs.authid(),
            "area": example.geometry.area(),
            "centroid_distance_to_roof_centre": example.geometry.centroid().asPoint().distance(centre),
        }
    record["roof_area"] = QgsGeometry.fromPointXY(centre).buffer(radius, 32).area()

    # 3. "Find all like these", the objects named by the phrase typed
    phrase = driver.config.get("example_phrase", "storage tank")
    before = set(QgsProject.instance().mapLayers())
    turns_before = len(getattr(controller, "turns", []))
    conversation_before = dock.conversation.toPlainText()
    dock.input.setFocus()
    dock.input.clear()
    QTest.keyClicks(dock.input, phrase)
    record["typed"] = dock.input.text()
    QTest.mouseClick(dock.find_button, Qt.MouseButton.LeftButton)
    record["task_started"] = controller.task is not None  # the click returns once the task is queued
    started = time.monotonic()
    yield 0.3
    finished = yield Wait(
        lambda: controller.task is None, float(driver.config.get("chat_timeout_s", 900)), "the answer", soft=True
    )
    record["task_finished"] = bool(finished)
    record["answer_seconds"] = round(time.monotonic() - started, 1)
    yield 1.0
    text = dock.conversation.toPlainText()
    record["conversation"] = text
    record["conversation_added"] = text[len(conversation_before) :] if text.startswith(conversation_before) else text
    record["input_after"] = dock.input.text()
    turns = [dict(turn) for turn in getattr(controller, "turns", [])][turns_before:]
    record["turns"] = turns
    answers = [turn for turn in turns if turn["role"] == "assistant"]
    record["answer"] = answers[-1]["text"] if answers else None
    results = new_result_layers(before, layer)
    record["result_layer"] = describe_layer(results[0], layer) if results else None
    if results:
        record["result_layer"]["phrases"] = sorted({str(f["phrase"]) for f in results[0].getFeatures()})
    canvas.setExtent(to_map.transformBoundingBox(layer.extent()))
    # the earlier answers' polygons are hidden while the map is pictured, so the new layer is what is seen
    tree = QgsProject.instance().layerTreeRoot()
    hidden = [
        node
        for node in (tree.findLayer(layer_id) for layer_id in before)
        if node is not None
        and node.layer() is not None
        and node.layer().customProperty(RESULT_PROPERTY)
        and node.itemVisibilityChecked()
    ]
    for node in hidden:
        node.setItemVisibilityChecked(False)
    yield from driver.shoot("find-all")
    for node in hidden:
        node.setItemVisibilityChecked(True)
    if not results:
        record["ok"] = False
        record["error"] = "no result layer was added to the project (see conversation and log)"


def example_layer(path: Path, centre: QgsPointXY, radius: float, crs) -> QgsVectorLayer:
    """A GeoPackage with one polygon, the circle of ``radius`` around ``centre`` (in ``crs``), written in WGS 84."""
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    outline = QgsGeometry.fromPointXY(centre).buffer(radius, 32)
    outline.transform(QgsCoordinateTransform(crs, wgs84, QgsProject.instance()))
    memory = QgsVectorLayer("Polygon?crs=EPSG:4326&field=name:string", "tank example", "memory")
    feature = QgsFeature(memory.fields())
    feature.setGeometry(outline)
    feature["name"] = "one storage tank"
    memory.dataProvider().addFeatures([feature])
    path.parent.mkdir(parents=True, exist_ok=True)
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = "tank_example"
    error, message, *_ = QgsVectorFileWriter.writeAsVectorFormatV3(
        memory, str(path), QgsProject.instance().transformContext(), options
    )
    if error != QgsVectorFileWriter.NoError:
        raise RuntimeError(f"cannot write {path}: {message}")
    layer = QgsVectorLayer(f"{path}|layername=tank_example", "tank example", "ogr")
    if not layer.isValid():
        raise RuntimeError(f"cannot open {path}")
    return layer


def step_processing_find_all(driver: Driver, record: dict):
    """The Processing algorithm "Find all like these" on the tank farm with the polygon example of step_find_all,
    run with processing.run; its dialog is pictured."""
    import processing

    layer = driver.state.get("tank_farm")
    examples = driver.state.get("tank_example_layer")
    if layer is None or examples is None:
        record["skipped"] = "no tank farm raster in the shared data folder"
        return
    algorithm_id = "geoground:findalllikethese"
    record["registered"] = QgsApplication.processingRegistry().algorithmById(algorithm_id) is not None
    if not record["registered"]:
        record["ok"] = False
        record["error"] = f"{algorithm_id} is not registered"
        return
    folder = Path(driver.config["project"]).parent
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / "find_all.gpkg"
    parameters = {
        "INPUT": layer.source(),
        "EXAMPLES": examples,
        "PHRASE": driver.config.get("example_phrase", "storage tank"),
        "OUTPUT": str(output),
    }
    feedback = QgsProcessingFeedback()
    started = time.monotonic()
    try:
        result = processing.run(algorithm_id, parameters, feedback=feedback)
        record["answer"] = result.get("ANSWER")
        record["output"] = str(result.get("OUTPUT"))
        found = QgsVectorLayer(record["output"], "processing_findalllikethese", "ogr")
        record["layer"] = describe_layer(found, layer)
        if found.isValid():
            record["layer"]["phrases"] = sorted({str(f["phrase"]) for f in found.getFeatures()})
            QgsProject.instance().addMapLayer(found)
    except Exception:  # noqa: BLE001 - recorded for the test
        record["ok"] = False
        record["error"] = traceback.format_exc()
    record["seconds_run"] = round(time.monotonic() - started, 1)
    record["feedback_log"] = feedback.textLog()[-4000:]
    yield 0.2
    try:
        dialog = processing.createAlgorithmDialog(
            algorithm_id, {"INPUT": layer.id(), "EXAMPLES": examples.id(), "PHRASE": parameters["PHRASE"]}
        )
        dialog.show()
        yield 2.0
        path = driver.out / f"{driver.phase}-find-all-dialog.png"
        record["dialog_saved"] = bool(dialog.grab().save(str(path)))
        record["dialog_path"] = str(path)
        dialog.close()
    except Exception:  # noqa: BLE001
        record["dialog_error"] = traceback.format_exc()
    canvas = iface.mapCanvas()
    to_map = QgsCoordinateTransform(layer.crs(), canvas.mapSettings().destinationCrs(), QgsProject.instance())
    canvas.setExtent(to_map.transformBoundingBox(layer.extent()))
    yield from driver.shoot("processing-find-all")


def step_save(driver: Driver, record: dict):
    project = QgsProject.instance()
    path = Path(driver.config["project"])
    path.parent.mkdir(parents=True, exist_ok=True)
    raster = driver.state.get("raster")
    if raster is not None:
        iface.mapCanvas().setExtent(raster.extent())
    record["dirty_before"] = project.isDirty()
    record["file_name_before"] = project.fileName()
    handled: dict = {}

    def fill_file_dialog(widget):
        """Type the project's path into Qt's file dialog and click its Save button."""
        if not isinstance(widget, QFileDialog):
            return False
        handled["title"] = widget.windowTitle()
        handled["attempts"] = handled.get("attempts", 0) + 1
        edit = widget.findChild(QLineEdit, "fileNameEdit")
        if edit is not None:
            edit.setText(str(path))
        else:
            widget.selectFile(str(path))
        box = widget.findChild(QDialogButtonBox)
        accept = (
            [b for b in box.buttons() if box.buttonRole(b) == QDialogButtonBox.ButtonRole.AcceptRole] if box else []
        )
        if accept:  # the dialog's own Save button (QFileDialog.accept is protected in PyQt)
            handled["clicked"] = f"{accept[0].text()} (enabled {accept[0].isEnabled()})"
            accept[0].click()
        else:
            handled["clicked"] = "invokeMethod(accept)"
            QMetaObject.invokeMethod(widget, "accept")
        return "typed the path, clicked Save"

    driver.modal_policy = fill_file_dialog
    started = time.monotonic()
    iface.actionSaveProjectAs().trigger()  # modal file dialog, answered by fill_file_dialog from the modal watcher
    yield 2.0
    driver.modal_policy = None
    record["save_as_dialog"] = handled or None
    record["saved_with_save_as"] = Path(project.fileName() or "/nonexistent") == path
    if not record["saved_with_save_as"]:
        record["write_fallback"] = project.write(str(path))
    record["save_seconds"] = round(time.monotonic() - started, 1)
    yield 1.0
    record["file_name"] = project.fileName()
    record["project_exists"] = path.is_file()
    record["dirty_after"] = project.isDirty()
    results = [layer for layer in project.mapLayers().values() if layer.customProperty(RESULT_PROPERTY, False)]
    record["result_layers"] = [describe_layer(layer, raster) for layer in results]
    record["results_gpkg_beside_project"] = str(path.with_name(path.stem + "_geoground.gpkg"))
    beside = path.with_name(path.stem + "_geoground.gpkg")
    record["results_gpkg_layers"] = gpkg_layers(beside) if beside.is_file() else None
    record["temporary_folder"] = tempfile.gettempdir()
    record["result_sources_in_temporary_folder"] = [
        layer.name() for layer in results if layer.source().startswith(tempfile.gettempdir())
    ]
    record["layers"] = [describe_layer(layer, raster) for layer in project.mapLayers().values()]
    dock = driver.dock()
    record["conversation"] = dock.conversation.toPlainText() if dock is not None else None
    yield from driver.shoot("saved")


def step_quit(driver: Driver, record: dict):
    project = QgsProject.instance()
    record["dirty_at_quit"] = project.isDirty()
    record["layer_count"] = len(project.mapLayers())
    driver.data["finished"] = True
    driver.data["seconds"] = driver.elapsed()
    record["ok"] = True
    record["seconds"] = 0
    driver.write()
    # A hard stop if quitting hangs (a dialog we cannot see): the report is already written.
    backstop = threading.Timer(120, lambda: os._exit(3))
    backstop.daemon = True
    backstop.start()
    QTimer.singleShot(200, iface.actionExit().trigger)


# ------------------------------------------------------------------------------------------------- second launch
def step_open_project(driver: Driver, record: dict):
    from geoground.plugin.dependencies import missing_dependencies

    window = iface.mainWindow()
    window.showNormal()
    window.setGeometry(0, 0, 1280, 1000)
    path = Path(driver.config["project"])
    record["temporary_folder"] = tempfile.gettempdir()
    record["temporary_geoground_exists"] = (Path(tempfile.gettempdir()) / "geoground").exists()
    record["missing_dependencies"] = missing_dependencies()
    record["project_exists"] = path.is_file()
    started = time.monotonic()
    record["add_project"] = bool(iface.addProject(str(path)))  # a bad-layers dialog is answered by the watcher
    record["open_seconds"] = round(time.monotonic() - started, 1)
    yield 2.0
    project = QgsProject.instance()
    dialogs = [d for d in driver.data["modal_dialogs"] if d["step"] == driver.step_name]
    record["modal_dialogs"] = dialogs
    record["handle_unavailable_layers_shown"] = any("unavailable" in (d.get("title") or "").lower() for d in dialogs)
    raster = find_raster(driver.config["raster_name"])
    driver.state["raster"] = raster
    layers = list(project.mapLayers().values())
    record["layers"] = [describe_layer(layer, raster) for layer in layers]
    record["invalid_layers"] = [layer.name() for layer in layers if not layer.isValid()]
    record["result_layers"] = [
        describe_layer(layer, raster) for layer in layers if layer.customProperty(RESULT_PROPERTY)
    ]
    record["dirty_after_open"] = project.isDirty()
    driver.show_dock(record)
    yield 1.0
    dock = driver.dock()
    record["conversation"] = dock.conversation.toPlainText() if dock is not None else None
    controller = driver.plugin().controller
    record["controller_turns"] = [dict(turn) for turn in getattr(controller, "turns", [])]
    if raster is not None:
        iface.mapCanvas().setExtent(raster.extent())
    yield from driver.shoot("reopened")


def step_export(driver: Driver, record: dict):
    destination = Path(driver.config["export"])
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists():
        destination.unlink()
    written = driver.plugin().controller.export(destination)
    record["returned"] = str(written) if written is not None else None
    record["exists"] = destination.is_file()
    record["size"] = destination.stat().st_size if destination.is_file() else 0
    record["layers"] = gpkg_layers(destination) if destination.is_file() else {}
    dock = driver.dock()
    record["conversation_after"] = dock.conversation.toPlainText() if dock is not None else None
    yield from driver.shoot("exported")
    if written is None:
        record["ok"] = False
        record["error"] = "export returned None (see the dock's notice in conversation_after)"


FIRST_STEPS = [
    ("plugin", step_plugin_loaded),
    ("install", step_install),
    ("raster", step_open_raster),
    ("chat", step_chat),
    ("processing", step_processing),
    ("tank_farm", step_tank_farm),
    ("find_all", step_find_all),
    ("processing_find_all", step_processing_find_all),
    ("save", step_save),
    ("quit", step_quit),
]
SECOND_STEPS = [
    ("plugin", step_plugin_loaded),
    ("open_project", step_open_project),
    ("export", step_export),
    ("quit", step_quit),
]


def main() -> None:
    config = json.loads(Path(os.environ["GEOGROUND_DESKTOP_CONFIG"]).read_text(encoding="utf-8"))
    driver = Driver(config)
    # QGIS runs this file in __main__; keep the driver alive there (its timers and slots belong to it).
    sys.modules["__main__"].__dict__["_geoground_desktop_driver"] = driver
    driver.start()


if __name__ == "__main__":
    main()
