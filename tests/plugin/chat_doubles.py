"""Doubles and fixtures shared by the chat tests: a raster of bright discs, a stand-in model, a dock + controller."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from test_geo_helpers import disc_image, write_raster  # noqa: E402

DISCS = [(60, 50, 20), (200, 140, 30)]  # (col, row, radius) in pixels


class StreamingDouble:
    """Stands in for the model in plugin plumbing tests: bright pixels are one "disc" mask; the answer is streamed.

    Built on the plugin's own copy of the engine types (``geoground.engine``), as the real engine is inside QGIS.
    """

    name = "threshold-double"

    def chat(self, image, conversation, on_text=None, should_stop=None, **options):
        from geoground.engine.types import Reply, Segment

        mask = image.mean(axis=2) > 128
        text = "Found discs."
        if on_text is not None:
            for word in text.split(" "):
                on_text(word + " ")
        return Reply(text, [Segment("disc", mask, score=0.9)] if mask.any() else [], text)


@pytest.fixture
def scene(tmp_path, qgis_iface, qgis_new_project):
    image = disc_image(240, 320, DISCS)
    path = write_raster(tmp_path / "discs.tif", image)
    layer = QgsRasterLayer(str(path), "discs")
    assert layer.isValid()
    project = QgsProject.instance()
    project.setFileName(str(tmp_path / "project.qgz"))
    project.addMapLayer(layer)
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(layer.crs())
    canvas.setExtent(layer.extent())
    return layer, tmp_path


@pytest.fixture
def use_model(monkeypatch):
    """Serve a stand-in model in this process in place of the engine process (imported now: plugin unload tests
    purge modules). The answers still make the engine process's round trip through plain data (WKB)."""
    from geoground.plugin import segmentation

    def install(model_or_factory):
        loader = model_or_factory if callable(model_or_factory) else (lambda *a: model_or_factory)
        monkeypatch.setattr(segmentation, "ENGINES", segmentation.InProcessEngines(loader))

    return install


@pytest.fixture
def controller(qgis_iface):
    from geoground.plugin.controller import ChatController
    from geoground.plugin.ui.chat_dock import ChatDock

    dock = ChatDock(qgis_iface.mainWindow())
    controller = ChatController(qgis_iface, dock)
    yield controller
    controller.shutdown()
    dock.deleteLater()


def ask(controller, layer, text):
    """What a user does: pick the layer in the dock, type, press Send."""
    controller.dock.layer_combo.setLayer(layer)
    controller.dock.input.setText(text)
    controller.dock.submit()


def wait_for(controller, timeout=60.0):
    deadline = time.monotonic() + timeout
    while controller.task is not None and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.01)
    QCoreApplication.processEvents()
    assert controller.task is None, "the task did not finish"


def result_layers() -> list[QgsVectorLayer]:
    return [layer for layer in QgsProject.instance().mapLayers().values() if isinstance(layer, QgsVectorLayer)]
