"""The dock's instruction runs as a background task and ends as a styled GeoPackage layer on the objects."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest
from qgis.core import QgsApplication, QgsCoordinateReferenceSystem, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication

from .chat_doubles import DISCS, StreamingDouble, ask, result_layers, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from test_geo_helpers import UTM, utm_transform  # noqa: E402


def test_instruction_becomes_a_layer_on_the_objects(scene, controller, use_model):
    layer, folder = scene
    use_model(StreamingDouble())
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    assert len(result_layers()) == 1, controller.dock.conversation.toPlainText()
    [result] = result_layers()
    assert result.crs() == QgsCoordinateReferenceSystem(UTM)
    assert result.source().startswith(str(folder / "project_geoground.gpkg"))
    features = list(result.getFeatures())
    assert len(features) == len(DISCS)
    transform = utm_transform()
    for col, row, radius in DISCS:
        x, y = transform * (col, row)
        hit = [f for f in features if f.geometry().contains(f.geometry().fromPointXY(_point(x, y)))]
        assert len(hit) == 1
        expected = np.pi * (radius * transform.a) ** 2
        assert hit[0]["area_m2"] == pytest.approx(expected, rel=0.08)
        assert hit[0]["phrase"] == "disc" and hit[0]["instruction"] == "Segment all discs"
    text = controller.dock.conversation.toPlainText()
    total = sum(f["area_m2"] for f in features)  # the answer counts and measures what the layer holds
    assert "Segment all discs" in text and f"{len(DISCS)} discs, {total:,.0f} m² in all." in text
    from geoground.plugin.result_layers import read_conversation

    turns = read_conversation(folder / "project_geoground.gpkg")
    assert [t["role"] for t in turns] == ["user", "assistant"]


def test_stop_cancels_without_a_partial_layer(scene, controller, use_model):
    from geoground.engine.types import Cancelled

    layer, _ = scene
    started = []

    class SlowModel(StreamingDouble):
        def chat(self, image, conversation, should_stop=None, **options):
            started.append(True)
            for _ in range(2000):
                if should_stop is not None and should_stop():
                    raise Cancelled("stopped")
                time.sleep(0.005)
            return super().chat(image, conversation, should_stop=should_stop, **options)

    use_model(SlowModel())
    ask(controller, layer, "Segment all discs")
    deadline = time.monotonic() + 20
    while not started and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.01)
    controller.stop()
    wait_for(controller)
    assert result_layers() == []
    assert "Stopped." in controller.dock.conversation.toPlainText()
    assert controller.dock.send_button.isEnabled()


def test_engine_errors_are_messages_not_exceptions(scene, controller, use_model):
    layer, _ = scene

    def no_model(*args):
        raise ValueError("unknown model 'nope'; valid: presets tiny, demo")

    use_model(no_model)
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    assert result_layers() == []
    assert "unknown model 'nope'" in controller.dock.conversation.toPlainText()


def test_the_real_tiny_model_runs_through_the_plugin(scene, controller):
    """The real engine (random tiny weights) behind the same path: the answer is shown, and what it outlines is a
    layer in the raster's CRS (random weights may outline nothing: then no layer, and the dock says so)."""
    from qgis.core import QgsSettings

    QgsSettings().setValue("GeoGround/max_new_tokens", 24)
    controller.dock.model_combo.setCurrentText("tiny")
    try:
        layer, _ = scene
        ask(controller, layer, "Segment all discs")
        wait_for(controller, timeout=120)
    finally:
        QgsSettings().remove("GeoGround")
    layers = result_layers()
    text = controller.dock.conversation.toPlainText()
    assert len(layers) == 1 or (not layers and "No discs found in this view." in text), text
    assert all(layer.crs() == QgsCoordinateReferenceSystem(UTM) for layer in layers)


def _point(x, y):
    from qgis.core import QgsPointXY

    return QgsPointXY(x, y)


def test_task_manager_is_idle_after_tests(qgis_app):
    assert QgsApplication.taskManager().countActiveTasks() == 0


def test_areas_are_ground_measures_in_any_crs(qgis_app):
    from qgis.core import QgsCoordinateTransform, QgsPointXY
    from shapely.geometry import box

    from geoground.plugin.segmentation import area_perimeter_measurer

    def wkt(code):
        return QgsCoordinateReferenceSystem(code).toWkt()

    area, perimeter = area_perimeter_measurer(wkt("EPSG:32633"))(box(500000, 4100000, 500100, 4100100).wkb)
    assert area == pytest.approx(10_000, rel=0.002) and perimeter == pytest.approx(400, rel=0.002)
    # Web Mercator at 60 degrees north: 1 km of map units is about 500 m on the ground each way.
    to_3857 = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem("EPSG:4326"), QgsCoordinateReferenceSystem("EPSG:3857"), QgsProject.instance()
    )
    corner = to_3857.transform(QgsPointXY(10.0, 60.0))
    square = box(corner.x(), corner.y(), corner.x() + 1000, corner.y() + 1000)
    area, _ = area_perimeter_measurer(wkt("EPSG:3857"))(square.wkb)
    assert area == pytest.approx(250_000, rel=0.01)
    nan_area, _ = area_perimeter_measurer("")(square.wkb)
    assert np.isnan(nan_area)


def test_phrase_links_select_and_export_keeps_everything(scene, controller, use_model, tmp_path):
    from geoground.plugin.result_layers import read_conversation

    layer, _ = scene
    use_model(StreamingDouble())
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    [result] = result_layers()
    html = controller.dock.conversation.toHtml()
    assert "phrase:" in html  # the grounded phrase is a link
    controller.dock.phrase_clicked.emit(result.id(), "disc")
    assert sorted(result.selectedFeatureIds()) == sorted(f.id() for f in result.getFeatures())
    exported = controller.export(tmp_path / "exported.gpkg")
    copy = QgsVectorLayer(f"{exported}|layername={result.name()}", "copy", "ogr")
    assert copy.isValid() and copy.featureCount() == len(DISCS) and copy.crs() == result.crs()
    assert [t["role"] for t in read_conversation(exported)] == ["user", "assistant"]


def test_whole_layer_scope_ignores_the_view(scene, controller, use_model, qgis_iface):
    from qgis.core import QgsRectangle

    layer, _ = scene
    use_model(StreamingDouble())
    extent = layer.extent()
    # zoom to the top strip (50 m): only the first disc is in view (the second starts 55 m below the top)
    canvas = qgis_iface.mapCanvas()
    canvas.setExtent(QgsRectangle(extent.xMinimum(), extent.yMaximum() - 50, extent.xMinimum() + 50, extent.yMaximum()))
    assert canvas.extent().yMinimum() > extent.yMaximum() - 55  # the canvas kept the height (it widens to fit)
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    assert [r.featureCount() for r in result_layers()] == [1]
    controller.dock.scope_combo.setCurrentIndex(controller.dock.scope_combo.findData("layer"))
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    assert sorted(r.featureCount() for r in result_layers()) == [1, 2]


def test_results_survive_saving_and_reopening_the_project(scene, controller, use_model):
    layer, folder = scene
    use_model(StreamingDouble())
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    project = QgsProject.instance()
    assert project.write()
    project.clear()
    assert result_layers() == []
    assert controller.dock.conversation.toPlainText() == ""
    assert project.read(str(folder / "project.qgz"))
    [reopened] = result_layers()
    assert reopened.featureCount() == len(DISCS)
    history = controller.dock.conversation.toPlainText()  # the conversation came back from the GeoPackage
    assert "Segment all discs" in history and f"{len(DISCS)} discs, " in history


def test_a_view_larger_than_the_model_input_is_answered_in_tiles(scene, controller, use_model, qgis_app):
    """The 320 x 240 px layer, asked of a model whose input is 96 px, goes in tiles; discs cut by tiles stay whole.
    A fixed tile size in the settings wins over the model's."""
    from qgis.core import QgsSettings

    layer, _ = scene
    model = SizeRecorder(view_size=96)
    seen = model.seen
    ask_whole_layer(controller, layer, use_model, model)
    assert len(seen) > 4 and set(seen) == {(96, 96)}
    [result] = result_layers()
    assert result.featureCount() == len(DISCS)
    seen.clear()
    QgsSettings().setValue("GeoGround/tile_size", 160)
    QgsSettings().setValue("GeoGround/tile_overlap", 32)
    try:
        ask(controller, layer, "Segment all discs")
        wait_for(controller)
    finally:
        QgsSettings().remove("GeoGround/tile_size")
        QgsSettings().remove("GeoGround/tile_overlap")
    assert set(seen) == {(160, 160)} and len(seen) == 3 * 2  # 320 x 240 px in 160 px tiles, 32 px overlap
    assert sorted(r.featureCount() for r in result_layers()) == [len(DISCS), len(DISCS)]


def test_a_view_coarser_than_the_model_s_max_gsd_is_upsampled_first(scene, controller, use_model, qgis_app):
    """The layer has 0.5 m pixels; a model that wants at most 0.25 m sees it at twice the size, in tiles, and the
    polygons still land on the discs with their ground areas."""
    layer, _ = scene
    model = SizeRecorder(view_size=256, max_gsd=0.25)
    seen = model.seen
    ask_whole_layer(controller, layer, use_model, model)
    assert len(seen) == 3 * 2 and set(seen) == {(256, 256)}  # 640 x 480 px in 256 px tiles, 32 px overlap
    [result] = result_layers()
    features = list(result.getFeatures())
    assert len(features) == len(DISCS)
    transform = utm_transform()
    for col, row, radius in DISCS:
        x, y = transform * (col, row)
        [hit] = [f for f in features if f.geometry().contains(f.geometry().fromPointXY(_point(x, y)))]
        assert hit["area_m2"] == pytest.approx(np.pi * (radius * transform.a) ** 2, rel=0.05)


class SizeRecorder(StreamingDouble):
    """The streaming double with a given input size (and max_gsd); records the size of every image it is shown."""

    def __init__(self, view_size: int, max_gsd: float | None = None) -> None:
        self.view_size, self.max_gsd, self.seen = view_size, max_gsd, []

    def chat(self, image, conversation, **options):
        self.seen.append(image.shape[:2])
        return super().chat(image, conversation, **options)


def ask_whole_layer(controller, layer, use_model, model) -> None:
    use_model(model)
    controller.dock.scope_combo.setCurrentIndex(controller.dock.scope_combo.findData("layer"))
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
