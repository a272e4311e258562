"""The dock's "Selected polygon" and "Drawn rectangle" areas: what is read, what is kept, what is left on the map."""

from __future__ import annotations

import math

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
from qgis.gui import QgsMapToolExtent, QgsMapToolPan, QgsRubberBand

from .chat_doubles import StreamingDouble, ask, result_layers, wait_for
from .conftest import flush_deleted_widgets

# The scene's raster: 320 x 240 pixels of 0.5 m in EPSG:32616 from (500000, 3700000); disc centres in metres:
FIRST = (500030.0, 3699975.0, 10.0)  # x, y, radius
SECOND = (500100.0, 3699930.0, 15.0)
# A triangle over the second disc: its bounding box holds the whole disc, the triangle only part of it.
TRIANGLE_UTM = [(500080.0, 3699910.0), (500120.0, 3699910.0), (500080.0, 3699950.0)]


class RecordingDouble(StreamingDouble):
    """The stand-in model, remembering the size of every image it was shown."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, int]] = []

    def chat(self, image, conversation, **options):
        self.shapes.append(image.shape[:2])
        return super().chat(image, conversation, **options)


def transform(points, source: str, target: str) -> list[QgsPointXY]:
    to_target = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem(source), QgsCoordinateReferenceSystem(target), QgsProject.instance()
    )
    return [to_target.transform(QgsPointXY(x, y)) for x, y in points]


def polygon_layer(points: list[QgsPointXY], crs: str, select: bool = True) -> QgsVectorLayer:
    layer = QgsVectorLayer(f"Polygon?crs={crs}", "areas", "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromPolygonXY([points]))
    layer.dataProvider().addFeatures([feature])
    QgsProject.instance().addMapLayer(layer)
    if select:
        layer.selectAll()
    return layer


def choose_scope(controller, scope: str) -> None:
    combo = controller.dock.scope_combo
    combo.setCurrentIndex(combo.findData(scope))


def disc(x: float, y: float, radius: float) -> QgsGeometry:
    return QgsGeometry.fromPointXY(QgsPointXY(x, y)).buffer(radius, 64)


def test_selected_polygon_in_another_crs_reads_its_box_and_clips_the_results(scene, controller, use_model, qgis_iface):
    layer, _ = scene
    model = RecordingDouble()
    use_model(model)
    selection = polygon_layer(transform(TRIANGLE_UTM, "EPSG:32616", "EPSG:4326"), "EPSG:4326")
    qgis_iface.setActiveLayer(layer)  # the raster is active: the only polygon layer with a selection is used
    choose_scope(controller, "selection")
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    # the 40 m x 40 m box of the triangle, back in the raster's CRS, read at 0.5 m
    assert model.shapes == [(80, 80)], controller.dock.conversation.toPlainText()
    [result] = [r for r in result_layers() if r is not selection]
    assert result.crs() == layer.crs()
    triangle = QgsGeometry.fromPolygonXY([[QgsPointXY(x, y) for x, y in TRIANGLE_UTM]])
    features = list(result.getFeatures())
    assert len(features) == 1
    clipped = features[0].geometry()
    assert triangle.buffer(0.01, 8).contains(clipped)
    expected = disc(*SECOND).intersection(triangle).area()
    assert expected < 0.8 * math.pi * SECOND[2] ** 2  # the clip matters: most of the disc is outside
    assert clipped.area() == pytest.approx(expected, rel=0.06)
    assert features[0]["area_m2"] == pytest.approx(clipped.area(), rel=0.01)  # measured after clipping
    assert "1 object(s)" in controller.dock.conversation.toPlainText()


def test_no_selected_polygon_is_a_notice_and_no_task(scene, controller, use_model, qgis_iface):
    layer, _ = scene
    model = RecordingDouble()
    use_model(model)
    areas = polygon_layer(transform(TRIANGLE_UTM, "EPSG:32616", "EPSG:4326"), "EPSG:4326", select=False)
    choose_scope(controller, "selection")
    qgis_iface.setActiveLayer(areas)
    ask(controller, layer, "Segment all discs")
    assert controller.task is None
    assert "Select one or more polygons of “areas”" in controller.dock.conversation.toPlainText()
    qgis_iface.setActiveLayer(layer)
    ask(controller, layer, "Segment all discs")
    assert controller.task is None
    assert "No polygon is selected" in controller.dock.conversation.toPlainText()
    assert model.shapes == [] and result_layers() == [areas]


def test_drawn_rectangle_sets_the_area_and_restores_the_map_tool(scene, controller, use_model, qgis_iface):
    layer, _ = scene
    model = RecordingDouble()
    use_model(model)
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    pan = QgsMapToolPan(canvas)
    canvas.setMapTool(pan)

    choose_scope(controller, "rectangle")
    ask(controller, layer, "Segment all discs")  # nothing drawn yet: a notice, and the drawing tool is ready
    assert controller.task is None and model.shapes == []
    assert "Draw a rectangle on the map first" in controller.dock.conversation.toPlainText()
    assert isinstance(canvas.mapTool(), QgsMapToolExtent)

    # a 40 m square around the first disc, drawn on a Web Mercator map
    corners = transform([(500010, 3699955), (500050, 3699995)], "EPSG:32616", "EPSG:3857")
    drawn = QgsRectangle(corners[0], corners[1])
    canvas.mapTool().extentChanged.emit(drawn)
    assert canvas.mapTool() is pan
    assert controller.drawer.rectangle == drawn
    assert controller.drawer.band is not None and controller.drawer.band in canvas.scene().items()

    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    [(height, width)] = model.shapes
    assert 80 <= height <= 84 and 80 <= width <= 84  # the square in UTM (its Mercator box is barely larger)
    [result] = result_layers()
    [feature] = list(result.getFeatures())
    assert feature.geometry().contains(QgsGeometry.fromPointXY(QgsPointXY(FIRST[0], FIRST[1])))

    band = controller.drawer.band
    controller.dock.close()  # closing the dock takes the rectangle off the map
    assert controller.drawer.rectangle is None
    assert band not in canvas.scene().items()
    flush_deleted_widgets()
    assert not any(isinstance(item, QgsRubberBand) for item in canvas.scene().items())


def test_draw_button_and_a_click_without_area(scene, controller, qgis_iface):
    canvas = qgis_iface.mapCanvas()
    controller.dock.draw_button.click()
    assert controller.dock.scope == "rectangle"
    assert isinstance(canvas.mapTool(), QgsMapToolExtent)
    canvas.mapTool().extentChanged.emit(QgsRectangle(500010, 3699955, 500010, 3699955))
    assert controller.drawer.rectangle is None
    assert "no area" in controller.dock.conversation.toPlainText()


def test_rubber_band_is_removed_when_the_plugin_unloads(loaded_plugin, qgis_iface, plugin_package):
    import qgis.utils

    canvas = qgis_iface.mapCanvas()
    loaded_plugin.dock.draw_button.click()
    canvas.mapTool().extentChanged.emit(QgsRectangle(0, 0, 100, 100))
    band = loaded_plugin.controller.drawer.band
    assert band in canvas.scene().items()
    assert qgis.utils.unloadPlugin(plugin_package)
    flush_deleted_widgets()
    assert not any(isinstance(item, QgsRubberBand) for item in canvas.scene().items())
    assert not isinstance(canvas.mapTool(), QgsMapToolExtent)


def test_the_active_polygon_layer_wins_and_two_candidates_are_ambiguous(qgis_new_project, scene):
    from geoground.plugin.scopes import ScopeError, selection_layer

    raster, _ = scene
    points = transform(TRIANGLE_UTM, "EPSG:32616", "EPSG:32616")
    first, second = polygon_layer(points, "EPSG:32616"), polygon_layer(points, "EPSG:32616")
    assert selection_layer(second) is second
    assert selection_layer(first) is first
    with pytest.raises(ScopeError, match="Several polygon layers"):
        selection_layer(raster)
    second.removeSelection()
    assert selection_layer(raster) is first
    assert selection_layer(second) is first  # the active layer has no selection: the only one that has is used
