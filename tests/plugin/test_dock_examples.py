"""Show one, find all, in the chat dock: examples picked on the map or taken from selected features, then "Find all
like these" over the dock's area, with the examples and the phrase sent to the engine."""

from __future__ import annotations

import pytest
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.gui import QgsMapToolPan, QgsRubberBand
from qgis.PyQt.QtCore import QPoint, Qt
from qgis.PyQt.QtTest import QTest

from .chat_doubles import DISCS, StreamingDouble, result_layers, wait_for
from .conftest import flush_deleted_widgets

# The scene's raster: 320 x 240 pixels of 0.5 m in EPSG:32616 from (500000, 3700000); disc centres in metres:
FIRST = (500030.0, 3699975.0, 10.0)  # x, y, radius
SECOND = (500100.0, 3699930.0, 15.0)
UTM = "EPSG:32616"
MERCATOR = "EPSG:3857"


# ------------------------------------------------------------------------------------------------- doubles
class Prompt:
    """What the stand-in example encoder makes of the examples: their masks, as the engine cut them."""

    def __init__(self, masks: list) -> None:
        self.masks = masks

    @classmethod
    def concat(cls, parts: list[Prompt]) -> Prompt:
        return cls([mask for part in parts for mask in part.masks])


class Finder:
    """The stand-in model bound to examples: every bright object is like them, named as asked."""

    name = "example-double"

    def __init__(self, prompt: Prompt, phrase: str) -> None:
        self.prompt, self.phrase = prompt, phrase

    def chat(self, image, conversation=None, **options):
        from geoground.engine.types import Reply, Segment

        mask = image.mean(axis=2) > 128
        text = f"<p>{self.phrase}</p>"
        return Reply(text, [Segment(self.phrase, mask, score=0.8)] if mask.any() else [], text + "[SEG]")


class ExampleDouble(StreamingDouble):
    """The streaming double with an example encoder (it answers text instructions too)."""

    def __init__(self) -> None:
        self.prompts: list[Prompt] = []

    def example_prompt(self, image, masks, **options) -> Prompt:
        return Prompt([mask for mask in masks])

    def finder(self, prompt: Prompt, phrase: str = "object") -> Finder:
        self.prompts.append(prompt)
        return Finder(prompt, phrase)


class TextOnlyDouble(StreamingDouble):
    """A model as the engine has them without an example encoder: it refuses examples."""

    def finder(self, prompt, phrase: str = "object"):
        from geoground.engine import ExamplesNotSupportedError

        raise ExamplesNotSupportedError("the model threshold-double has no example encoder: it takes text prompts only")

    def example_prompt(self, image, masks, **options):
        return self.finder(None)


@pytest.fixture
def engine(monkeypatch):
    """Serve a stand-in model in this process and keep every request that reaches the engine."""
    from geoground.plugin import segmentation

    class RecordingEngines(segmentation.InProcessEngines):
        def __init__(self, loader) -> None:
            super().__init__(loader)
            self.requests: list[dict] = []

        def segment(self, request, image, *args, **kwargs):
            self.requests.append(dict(request))
            return super().segment(request, image, *args, **kwargs)

    def install(model_or_factory):
        loader = model_or_factory if callable(model_or_factory) else (lambda *a: model_or_factory)
        engines = RecordingEngines(loader)
        monkeypatch.setattr(segmentation, "ENGINES", engines)
        return engines

    return install


# ------------------------------------------------------------------------------------------------- helpers
def to_crs(x: float, y: float, source: str, target: str) -> QgsPointXY:
    transform = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem(source), QgsCoordinateReferenceSystem(target), QgsProject.instance()
    )
    return transform.transform(QgsPointXY(x, y))


def mercator_map(canvas, layer) -> None:
    """Show the raster on a Web Mercator map (the layer is in UTM) with the pan tool active."""
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem(MERCATOR))
    to_map = QgsCoordinateTransform(layer.crs(), QgsCoordinateReferenceSystem(MERCATOR), QgsProject.instance())
    canvas.setExtent(to_map.transformBoundingBox(layer.extent()))
    canvas.setMapTool(QgsMapToolPan(canvas))


def click_map(canvas, x: float, y: float, crs: str = UTM, button=Qt.MouseButton.LeftButton) -> QgsPointXY:
    """Click the map where the ground point (x, y) in ``crs`` is drawn; returns the map point of that pixel."""
    on_map = to_crs(x, y, crs, canvas.mapSettings().destinationCrs().authid())
    pixel = canvas.getCoordinateTransform().transform(on_map)
    where = QPoint(round(pixel.x()), round(pixel.y()))
    QTest.mouseClick(canvas.viewport(), button, Qt.KeyboardModifier.NoModifier, where)
    return canvas.getCoordinateTransform().toMapCoordinates(where)


def pick(controller, canvas, layer, *points) -> None:
    """What a user does: choose the raster, press "Pick examples", click each object, press Esc."""
    controller.dock.layer_combo.setLayer(layer)
    controller.dock.pick_button.click()
    for x, y in points:
        click_map(canvas, x, y)
    QTest.keyClick(canvas, Qt.Key.Key_Escape)


def find_all(controller, phrase: str = "") -> None:
    """Type the phrase (or nothing) and press "Find all like these"."""
    controller.dock.input.setText(phrase)
    controller.dock.find_button.click()


def choose_scope(controller, scope: str) -> None:
    combo = controller.dock.scope_combo
    combo.setCurrentIndex(combo.findData(scope))


def vector_layer(kind: str, crs: str, geometries: list[QgsGeometry], name: str, select: bool = True) -> QgsVectorLayer:
    layer = QgsVectorLayer(f"{kind}?crs={crs}", name, "memory")
    features = []
    for geometry in geometries:
        feature = QgsFeature()
        feature.setGeometry(geometry)
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    QgsProject.instance().addMapLayer(layer)
    if select:
        layer.selectAll()
    return layer


def square(x: float, y: float, half: float, crs: str = UTM, target: str = UTM) -> QgsGeometry:
    corners = [(x - half, y - half), (x + half, y - half), (x + half, y + half), (x - half, y + half)]
    return QgsGeometry.fromPolygonXY([[to_crs(cx, cy, crs, target) for cx, cy in corners]])


def geometry_of(wkb_hex: str) -> QgsGeometry:
    geometry = QgsGeometry()
    geometry.fromWkb(bytes.fromhex(wkb_hex))
    return geometry


def conversation(controller) -> str:
    return controller.dock.conversation.toPlainText()


# ------------------------------------------------------------------------------------------------- picking
def test_clicks_on_a_web_mercator_map_are_examples_in_the_raster_crs(scene, controller, qgis_iface):
    layer, _ = scene
    canvas = qgis_iface.mapCanvas()
    mercator_map(canvas, layer)
    pan = canvas.mapTool()
    controller.dock.layer_combo.setLayer(layer)
    assert controller.dock.examples_label.text() == "No examples yet"

    controller.dock.pick_button.click()
    assert controller.picker.is_picking() and controller.dock.pick_button.isChecked()
    clicked = [click_map(canvas, FIRST[0], FIRST[1]), click_map(canvas, SECOND[0], SECOND[1])]
    assert len(controller.picker) == 2
    assert controller.dock.examples_label.text() == "2 examples"
    to_utm = QgsCoordinateTransform(QgsCoordinateReferenceSystem(MERCATOR), layer.crs(), QgsProject.instance())
    pixel_on_ground = canvas.mapUnitsPerPixel()  # Web Mercator metres are larger than ground metres here
    for example, on_map, (x, y, _r) in zip(controller.picker.examples, clicked, (FIRST, SECOND), strict=True):
        assert example.crs == layer.crs()
        point = example.geometry.asPoint()
        expected = to_utm.transform(on_map)  # the map point of the pixel clicked, in the raster's CRS
        assert point.x() == pytest.approx(expected.x(), abs=1e-6) and point.y() == pytest.approx(expected.y(), abs=1e-6)
        assert point.distance(QgsPointXY(x, y)) < pixel_on_ground  # and that is the object clicked on
    # shown on the map until cleared
    assert controller.picker.marker_count() == 2
    assert all(band in canvas.scene().items() for band in controller.picker.bands())

    QTest.keyClick(canvas, Qt.Key.Key_Escape)  # Esc ends picking: the map tool used before is back
    assert canvas.mapTool() is pan
    assert not controller.picker.is_picking() and not controller.dock.pick_button.isChecked()
    click_map(canvas, 500050.0, 3699950.0)  # no longer picking: nothing is added
    assert len(controller.picker) == 2

    controller.dock.pick_button.click()
    canvas.setMapTool(QgsMapToolPan(canvas))  # choosing another tool ends picking too
    assert not controller.picker.is_picking() and not controller.dock.pick_button.isChecked()

    controller.dock.clear_examples_button.click()
    assert len(controller.picker) == 0 and controller.picker.marker_count() == 0
    assert controller.dock.examples_label.text() == "No examples yet"
    assert not controller.dock.clear_examples_button.isEnabled()


def test_a_click_off_the_raster_adds_nothing_and_says_so(scene, controller, qgis_iface):
    layer, _ = scene
    canvas = qgis_iface.mapCanvas()
    mercator_map(canvas, layer)
    canvas.zoomByFactor(3.0)  # the raster is now in the middle third of the map
    controller.dock.layer_combo.setLayer(layer)
    controller.dock.pick_button.click()
    click_map(canvas, 499900.0, 3700100.0)  # 100 m beyond the raster's top left corner
    assert len(controller.picker) == 0
    assert "That point is outside the raster layer “discs”" in conversation(controller)
    click_map(canvas, FIRST[0], FIRST[1])
    assert len(controller.picker) == 1


def test_markers_follow_a_change_of_map_crs(scene, controller, qgis_iface):
    layer, _ = scene
    canvas = qgis_iface.mapCanvas()
    mercator_map(canvas, layer)
    pick(controller, canvas, layer, FIRST[:2])
    [example] = controller.picker.examples
    at = example.geometry.asPoint()  # in the raster's CRS
    band = controller.picker.bands()[0]
    before = band.getPoint(0, 0)  # rubber bands hold map coordinates
    on_mercator = to_crs(at.x(), at.y(), UTM, MERCATOR)
    assert before.x() == pytest.approx(on_mercator.x(), abs=1e-3) and before.y() == pytest.approx(
        on_mercator.y(), abs=1e-3
    )
    canvas.setDestinationCrs(layer.crs())
    after = band.getPoint(0, 0)
    assert after.x() == pytest.approx(at.x(), abs=1e-3) and after.y() == pytest.approx(at.y(), abs=1e-3)


def test_selected_polygons_and_points_are_reprojected_to_the_raster_crs(scene, controller, qgis_iface):
    layer, _ = scene
    controller.dock.layer_combo.setLayer(layer)
    outline = square(FIRST[0], FIRST[1], 12.0, UTM, "EPSG:4326")
    polygons = vector_layer("Polygon", "EPSG:4326", [outline], "tanks")
    controller.dock.examples_layer_combo.setLayer(polygons)
    controller.dock.use_selected_button.click()
    assert len(controller.picker) == 1 and controller.dock.examples_label.text() == "1 example"
    assert "1 example taken from the selected features of “tanks”." in conversation(controller)
    [example] = controller.picker.examples
    assert example.crs == layer.crs()
    expected = square(FIRST[0], FIRST[1], 12.0)
    assert example.geometry.area() == pytest.approx(expected.area(), rel=0.01)
    assert example.geometry.centroid().asPoint().distance(QgsPointXY(*FIRST[:2])) < 0.05
    assert controller.picker.marker_count() == 1

    controller.dock.use_selected_button.click()  # the same features again: not added twice
    assert len(controller.picker) == 1
    assert "are examples already" in conversation(controller)

    # the "Active layer" entry: the selected points of the active layer
    spot = to_crs(SECOND[0], SECOND[1], UTM, MERCATOR)
    points = vector_layer("Point", MERCATOR, [QgsGeometry.fromPointXY(spot)], "spots")
    controller.dock.examples_layer_combo.setLayer(None)
    qgis_iface.setActiveLayer(points)
    controller.dock.use_selected_button.click()
    assert len(controller.picker) == 2 and controller.dock.examples_label.text() == "2 examples"
    point = controller.picker.examples[1].geometry.asPoint()
    assert point.x() == pytest.approx(SECOND[0], abs=1e-3) and point.y() == pytest.approx(SECOND[1], abs=1e-3)
    assert controller.picker.marker_count() == 2


def test_curved_and_3d_features_become_plain_2d_examples(scene, controller):
    """The engine's geometry library reads plain 2D WKB: curves are segmentized, Z and M dropped."""
    from qgis.core import QgsCircularString, QgsCurvePolygon, QgsPoint, QgsWkbTypes

    layer, _ = scene
    controller.dock.layer_combo.setLayer(layer)
    x, y, radius = FIRST
    ring = QgsCircularString()
    ring.setPoints([QgsPoint(x - radius, y), QgsPoint(x + radius, y), QgsPoint(x - radius, y)])  # a full circle
    curved = QgsCurvePolygon()
    curved.setExteriorRing(ring)
    circles = vector_layer("CurvePolygon", UTM, [QgsGeometry(curved)], "round tanks")
    assert QgsWkbTypes.isCurvedType(next(circles.getFeatures()).geometry().wkbType())
    points = vector_layer("PointZ", UTM, [QgsGeometry(QgsPoint(SECOND[0], SECOND[1], 42.0))], "spots with height")
    controller.use_selected(circles)
    controller.use_selected(points)
    assert len(controller.picker) == 2
    for example in controller.picker.examples:
        kind = example.geometry.wkbType()
        assert not QgsWkbTypes.isCurvedType(kind) and not QgsWkbTypes.hasZ(kind) and not QgsWkbTypes.hasM(kind)
    assert controller.picker.examples[0].geometry.area() == pytest.approx(3.14159 * radius**2, rel=0.01)


def test_selected_features_that_cannot_be_examples_are_notices(scene, controller, qgis_iface):
    layer, _ = scene
    controller.dock.layer_combo.setLayer(layer)
    unselected = vector_layer("Polygon", UTM, [square(*FIRST[:2], 5.0)], "tanks", select=False)
    controller.dock.examples_layer_combo.setLayer(unselected)
    controller.dock.use_selected_button.click()
    assert "Select one or more features of “tanks” first" in conversation(controller)
    far = vector_layer("Polygon", UTM, [square(600000.0, 3600000.0, 5.0)], "elsewhere")
    controller.dock.examples_layer_combo.setLayer(far)
    controller.dock.use_selected_button.click()
    assert "do not overlap the raster layer “discs”" in conversation(controller)
    line = QgsGeometry.fromPolylineXY([QgsPointXY(*FIRST[:2]), QgsPointXY(*SECOND[:2])])
    lines = vector_layer("LineString", UTM, [line], "roads")
    controller.dock.examples_layer_combo.setLayer(None)
    qgis_iface.setActiveLayer(lines)
    controller.dock.use_selected_button.click()
    assert "“roads” is not a polygon or point layer" in conversation(controller)
    assert len(controller.picker) == 0


# ------------------------------------------------------------------------------------------------- finding
def test_find_all_like_these_sends_the_examples_and_the_phrase(scene, controller, engine, qgis_iface):
    layer, folder = scene
    model = ExampleDouble()
    engines = engine(model)
    canvas = qgis_iface.mapCanvas()
    mercator_map(canvas, layer)
    pick(controller, canvas, layer, FIRST[:2])
    [picked] = controller.picker.examples
    find_all(controller, "storage tank")
    assert controller.task is not None and controller.dock.input.text() == ""  # taken: the input is cleared
    wait_for(controller)

    [request] = engines.requests
    assert request["example_phrase"] == "storage tank"
    [sent] = request["examples"]
    assert geometry_of(sent).asPoint() == picked.geometry.asPoint()  # in the raster's CRS, as picked
    assert "storage tank" in request["instruction"]
    assert len(model.prompts) == 1 and len(model.prompts[0].masks) == 1  # the engine cut one example

    [result] = result_layers()
    assert result.name().startswith("storage_tank_")
    assert result.crs() == layer.crs()
    features = list(result.getFeatures())
    assert len(features) == len(DISCS)  # the example's disc and the other one
    assert {f["phrase"] for f in features} == {"storage tank"}
    assert all(f["score"] == pytest.approx(0.8) and f["area_m2"] > 0 for f in features)
    assert all(f["instruction"] == request["instruction"] for f in features)
    text = conversation(controller)
    total = sum(f["area_m2"] for f in features)
    assert request["instruction"] == "Find all like these (1 example): storage tank"
    assert f"You: {request['instruction']}" in text  # the user's turn
    assert f"{len(DISCS)} storage tanks, {total:,.0f} m² in all." in text
    assert f"{len(DISCS)} object(s) in layer “{result.name()}”" in text
    from geoground.plugin.result_layers import read_conversation

    turns = read_conversation(folder / "project_geoground.gpkg")
    assert [(t["role"], t["layer"]) for t in turns] == [("user", ""), ("assistant", result.name())]


def test_without_a_phrase_the_objects_are_named_object(scene, controller, engine, qgis_iface):
    layer, _ = scene
    engines = engine(ExampleDouble())
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(layer.crs())
    canvas.setExtent(layer.extent())
    controller.dock.layer_combo.setLayer(layer)
    tanks = vector_layer("Polygon", UTM, [square(*FIRST[:2], 9.0), square(*SECOND[:2], 12.0)], "tanks")
    controller.use_selected(tanks)
    find_all(controller)
    wait_for(controller)
    [request] = engines.requests
    assert request["example_phrase"] == "object" and len(request["examples"]) == 2
    assert all(geometry_of(wkb).area() > 300 for wkb in request["examples"])  # the polygons themselves
    [result] = [r for r in result_layers() if r is not tanks]
    assert result.name().startswith("like_the_examples_")
    assert {f["phrase"] for f in result.getFeatures()} == {"object"}
    assert f"{len(DISCS)} objects, " in conversation(controller)


def test_the_area_is_the_dock_s_area(scene, controller, engine, qgis_iface):
    """Examples outside the view are refused before anything runs; over the whole layer they are used."""
    layer, _ = scene
    engines = engine(ExampleDouble())
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(layer.crs())
    canvas.setExtent(layer.extent())
    pick(controller, canvas, layer, FIRST[:2])
    canvas.setExtent(QgsRectangle(500070.0, 3699900.0, 500130.0, 3699960.0))  # only the second disc in view
    find_all(controller, "tank")
    assert controller.task is None and engines.requests == []
    assert "The example lies outside the area searched (the current view): pan or zoom" in conversation(controller)
    assert controller.dock.input.text() == "tank"  # refused: the phrase stays

    choose_scope(controller, "layer")
    find_all(controller, "tank")
    wait_for(controller)
    [request] = engines.requests
    [result] = result_layers()
    assert result.featureCount() == len(DISCS)
    assert "2 tanks" in conversation(controller)

    choose_scope(controller, "rectangle")  # no rectangle drawn yet: the same notice as for an instruction
    find_all(controller, "tank")
    assert controller.task is None and len(engines.requests) == 1
    assert "Draw a rectangle on the map first (press and drag), then press “Find all like these” again." in (
        conversation(controller)
    )


def test_no_examples_is_a_notice(scene, controller, engine):
    layer, _ = scene
    engines = engine(ExampleDouble())
    controller.dock.layer_combo.setLayer(layer)
    find_all(controller, "tank")
    assert controller.task is None and engines.requests == []
    assert "No examples yet: press “Pick examples”" in conversation(controller)


def test_no_raster_layer_is_a_notice(qgis_new_project, controller, qgis_iface):
    controller.dock.find_button.click()
    assert "Add or select a raster layer first." in conversation(controller)
    controller.find_all(None, "tank")
    assert "Select a raster layer first." in conversation(controller)
    controller.dock.pick_button.click()  # nothing to pick on
    assert not controller.dock.pick_button.isChecked()
    assert "Add or select a raster layer first: the examples are objects on it." in conversation(controller)
    assert controller.task is None


def test_an_unexpected_error_is_a_message_not_an_exception(scene, controller, engine, qgis_iface, monkeypatch):
    layer, _ = scene
    engine(ExampleDouble())
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(layer.crs())
    canvas.setExtent(layer.extent())
    pick(controller, canvas, layer, FIRST[:2])

    def broken(crs):
        raise RuntimeError("something unforeseen")

    monkeypatch.setattr(controller.picker, "geometries_in", broken)
    find_all(controller, "tank")  # a click in QGIS: nothing may reach QGIS's exception handler
    assert controller.task is None
    assert "Unexpected error: something unforeseen (details in the GeoGround log panel)" in conversation(controller)


def test_a_model_without_an_example_encoder_is_a_clear_message(scene, controller, engine, qgis_iface):
    layer, _ = scene
    engine(TextOnlyDouble())
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(layer.crs())
    canvas.setExtent(layer.extent())
    pick(controller, canvas, layer, FIRST[:2])
    find_all(controller, "tank")
    wait_for(controller)
    assert result_layers() == []
    text = conversation(controller)
    assert "takes text prompts only: it cannot find objects like examples" in text
    assert controller.dock.find_button.isEnabled() and len(controller.picker) == 1  # the examples stay for another try


def test_an_example_the_engine_finds_outside_the_pixels_read_is_a_clear_message(scene, controller, engine, qgis_iface):
    """The engine's own refusal (its words: "example N lies outside the area searched") in the dock's words."""
    layer, _ = scene

    class Refusing(ExampleDouble):
        def example_prompt(self, image, masks, **options):
            from geoground.engine.geo.errors import RasterError

            raise RasterError("example 1 lies outside the area searched")

    engine(Refusing())
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(layer.crs())
    canvas.setExtent(layer.extent())
    pick(controller, canvas, layer, FIRST[:2])
    find_all(controller)
    wait_for(controller)
    assert result_layers() == []
    assert "An example lies outside the area searched (the current view)" in conversation(controller)


def test_the_real_tiny_model_with_an_example_encoder_runs_through_the_dock(scene, controller, engine, qgis_iface):
    """The engine's real example path (windows read around each example, the example encoder, the finder) with
    random tiny weights: the job ends in a layer or in the "nothing found" notice, never in an error. The same model
    without its encoder is refused in the dock's words."""
    from geoground.engine.api import Engine
    from geoground.engine.model.geoground.modeling import GeoGroundModel
    from geoground.engine.model.geoground.presets import preset_config
    from geoground.engine.model.geoground.tokenizer import build_tokenizer

    def tiny(examples: bool):
        config = preset_config("tiny", example_prompts={"hidden": 32} if examples else None)
        return Engine.from_model(GeoGroundModel(config).eval(), build_tokenizer(config))

    layer, _ = scene
    engine(tiny(True))
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(layer.crs())
    canvas.setExtent(layer.extent())
    pick(controller, canvas, layer, FIRST[:2])
    find_all(controller, "disc")
    wait_for(controller, timeout=120)
    text = conversation(controller)
    layers = result_layers()
    assert len(layers) == 1 or (not layers and "No discs found in this view." in text), text
    assert all({f["phrase"] for f in result.getFeatures()} == {"disc"} for result in layers)

    engine(tiny(False))
    find_all(controller, "disc")
    wait_for(controller, timeout=120)
    assert "takes text prompts only" in conversation(controller)


# ------------------------------------------------------------------------------------------------- clean-up
def test_closing_the_dock_and_unloading_take_the_examples_off_the_map(loaded_plugin, scene, qgis_iface, plugin_package):
    import qgis.utils

    from geoground.plugin.ui.example_picker import PickTool

    layer, _ = scene
    canvas = qgis_iface.mapCanvas()

    def rubber_bands() -> int:  # on the shared test canvas, other tests' tools may have left some
        return sum(isinstance(item, QgsRubberBand) for item in canvas.scene().items())

    before = rubber_bands()
    controller = loaded_plugin.controller
    pick(controller, canvas, layer, FIRST[:2])
    bands = controller.picker.bands()
    assert bands and all(band in canvas.scene().items() for band in bands)
    controller.dock.close()
    assert len(controller.picker) == 0 and controller.dock.examples_label.text() == "No examples yet"
    assert not any(band in canvas.scene().items() for band in bands)

    controller.dock.show()
    pick(controller, canvas, layer, SECOND[:2])
    controller.dock.pick_button.click()  # picking when the plugin goes
    assert isinstance(canvas.mapTool(), PickTool)
    assert qgis.utils.unloadPlugin(plugin_package)
    flush_deleted_widgets()
    assert rubber_bands() == before
    assert not isinstance(canvas.mapTool(), PickTool)


def test_a_new_user_model_appears_in_the_dock_s_picker_at_once(qgis_iface, tmp_path):
    from geoground.plugin.settings import MODELS, add_user_model, remove_user_model
    from geoground.plugin.ui.chat_dock import ChatDock

    dock = ChatDock()
    dock.model_combo.setCurrentText("demo")
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    try:
        add_user_model(str(folder))
        items = [dock.model_combo.itemText(i) for i in range(dock.model_combo.count())]
        assert str(folder) in items
        assert dock.model == "demo"  # the choice is kept
        fresh = ChatDock()  # as after a restart: read from the settings
        assert str(folder) in [fresh.model_combo.itemText(i) for i in range(fresh.model_combo.count())]
    finally:
        remove_user_model(str(folder))
        MODELS.changed.emit()
