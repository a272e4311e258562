"""Examples for "Find all like these": points clicked on the map and selected features of a vector layer.

Each example is kept in the CRS of the raster layer it was picked for (clicks are transformed from the map's CRS,
features from their layer's), so it still means the same ground after the map CRS changes; it is reprojected again
only when the examples are used on a raster of another CRS. The examples are shown on the map (points as circles,
polygons as outlines) until they are cleared.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass

from qgis.core import (
    Qgis,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCsException,
    QgsGeometry,
    QgsMapLayerType,
    QgsMessageLog,
    QgsPointXY,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.gui import QgsMapTool, QgsRubberBand
from qgis.PyQt.QtCore import QObject, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor

from ..i18n import tr

MARKER_COLOR = QColor(0, 170, 255)
LOG_TAG = "GeoGround"


class ExampleError(ValueError):
    """An example cannot be taken (no raster layer, nothing selected, outside the raster...); the message is for the
    user."""


@dataclass
class Example:
    """One example: a point (a click on an object) or a polygon (its outline), in ``crs``."""

    geometry: QgsGeometry
    crs: QgsCoordinateReferenceSystem

    def in_crs(self, crs: QgsCoordinateReferenceSystem) -> QgsGeometry:
        """The geometry in ``crs`` (as it is when either CRS is missing)."""
        return _reprojected(self.geometry, self.crs, crs)


def _reprojected(
    geometry: QgsGeometry, source: QgsCoordinateReferenceSystem, target: QgsCoordinateReferenceSystem
) -> QgsGeometry:
    geometry = QgsGeometry(geometry)
    if source.isValid() and target.isValid() and source != target:
        geometry.transform(QgsCoordinateTransform(source, target, QgsProject.instance()))
    return geometry


def example_count(count: int) -> str:
    """ "No examples yet", "1 example", "3 examples"."""
    if count == 0:
        return tr("No examples yet")
    if count == 1:
        return tr("1 example")
    return tr("{} examples").format(count)


def is_raster(layer) -> bool:
    return isinstance(layer, QgsRasterLayer) and layer.type() == QgsMapLayerType.RasterLayer


def overlaps(geometry: QgsGeometry, area: QgsRectangle) -> bool:
    """Whether an example is in ``area`` (a rectangle in its CRS): a point in it, a polygon sharing surface with it."""
    box = QgsGeometry.fromRect(area)
    if geometry.type() == QgsWkbTypes.PolygonGeometry:
        return geometry.intersection(box).area() > 0
    return geometry.intersects(box)


def outside(geometries: list[QgsGeometry], area: QgsRectangle) -> list[int]:
    """The 1-based numbers of the ``geometries`` that are not in ``area``."""
    return [number for number, geometry in enumerate(geometries, start=1) if not overlaps(geometry, area)]


def plain(geometry: QgsGeometry) -> QgsGeometry:
    """A 2D copy without curves (segmentized), polygons made valid: what the engine's geometry library reads."""
    if QgsWkbTypes.isCurvedType(geometry.wkbType()):
        copy = geometry.constGet().segmentize()
    else:
        copy = geometry.constGet().clone()
    copy.dropZValue()
    copy.dropMValue()
    result = QgsGeometry(copy)
    if result.type() == QgsWkbTypes.PolygonGeometry and not result.isGeosValid():
        fixed = result.makeValid()
        if fixed.type() != QgsWkbTypes.PolygonGeometry:  # a collection: its polygons
            parts = [part for part in fixed.asGeometryCollection() if part.type() == QgsWkbTypes.PolygonGeometry]
            fixed = QgsGeometry.collectGeometry(parts) if parts else QgsGeometry()
        result = fixed
    return result


class PickTool(QgsMapTool):
    """A map tool whose left clicks are examples; Esc or a right click ends it."""

    clicked = pyqtSignal(QgsPointXY)  # in the map's CRS
    finished = pyqtSignal()

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.setCursor(Qt.CursorShape.CrossCursor)

    def canvasReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(QgsPointXY(event.mapPoint()))
        elif event.button() == Qt.MouseButton.RightButton:
            self.finished.emit()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            self.finished.emit()
        else:
            event.ignore()


class ExamplePicker(QObject):
    """The examples of the dock: picked by clicks (:meth:`start`) or taken from selected features
    (:meth:`add_selected`), shown on ``canvas``. ``raster()`` is the raster layer they are for (the dock's)."""

    changed = pyqtSignal(int)  # how many examples there are now
    picking_changed = pyqtSignal(bool)  # the pick tool became the map tool, or stopped being it
    notice = pyqtSignal(str)  # something the user should read (a click that added nothing...)

    def __init__(self, canvas, raster: Callable[[], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.raster = raster
        self.examples: list[Example] = []
        self.tool: PickTool | None = None
        self._previous_tool = None
        self._points: QgsRubberBand | None = None
        self._outlines: QgsRubberBand | None = None
        canvas.destinationCrsChanged.connect(self._show)

    # ------------------------------------------------------------------------------------------------ picking
    def start(self) -> None:
        """Make the pick tool the canvas's map tool: each left click adds a point example."""
        if self.tool is None:
            self.tool = PickTool(self.canvas)
            self.tool.clicked.connect(self._on_click)
            self.tool.finished.connect(self.stop)
            self.tool.activated.connect(lambda: self.picking_changed.emit(True))
            self.tool.deactivated.connect(lambda: self.picking_changed.emit(False))
        current = self.canvas.mapTool()
        if current is not self.tool:
            self._previous_tool = current
            self.canvas.setMapTool(self.tool)

    def is_picking(self) -> bool:
        return self.tool is not None and self.canvas.mapTool() is self.tool

    def stop(self) -> None:
        """End picking: the map tool used before comes back."""
        if self.is_picking():
            previous = self._previous_tool
            if previous is not None and previous is not self.tool:
                try:
                    self.canvas.setMapTool(previous)
                except RuntimeError:  # that tool was deleted meanwhile
                    self.canvas.unsetMapTool(self.tool)
            else:
                self.canvas.unsetMapTool(self.tool)
        self._previous_tool = None

    def _on_click(self, point: QgsPointXY) -> None:
        try:
            self.add_point(point, self.canvas.mapSettings().destinationCrs())
        except ExampleError as exc:
            self.notice.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a map click must never raise into QGIS
            QgsMessageLog.logMessage(traceback.format_exc(), LOG_TAG, Qgis.Critical)
            self.notice.emit(tr("The example could not be added: {}").format(exc))

    # ------------------------------------------------------------------------------------------------ adding
    def _raster(self) -> QgsRasterLayer:
        layer = self.raster()
        if not is_raster(layer):
            raise ExampleError(tr("Add or select a raster layer first: the examples are objects on it."))
        return layer

    def add_point(self, point: QgsPointXY, map_crs: QgsCoordinateReferenceSystem) -> Example:
        """Add a click at ``point`` (in ``map_crs``) as an example in the raster layer's CRS."""
        raster = self._raster()
        try:
            geometry = _reprojected(QgsGeometry.fromPointXY(QgsPointXY(point)), map_crs, raster.crs())
        except QgsCsException as exc:
            raise ExampleError(tr("That point has no place in the raster layer's CRS: {}").format(exc)) from exc
        if not overlaps(geometry, raster.extent()):
            raise ExampleError(
                tr("That point is outside the raster layer “{}”: click on an object of the raster.").format(
                    raster.name()
                )
            )
        example = Example(geometry, QgsCoordinateReferenceSystem(raster.crs()))
        self.examples.append(example)
        self._changed()
        return example

    def add_selected(self, layer) -> tuple[int, int]:
        """Add the selected polygons or points of ``layer`` as examples, in the raster layer's CRS. Returns (added,
        left out because they do not overlap the raster); features that are examples already are not added twice."""
        if not isinstance(layer, QgsVectorLayer) or layer.geometryType() not in (
            QgsWkbTypes.PolygonGeometry,
            QgsWkbTypes.PointGeometry,
        ):
            if layer is None:
                raise ExampleError(
                    tr(
                        "Choose a polygon or point layer (or make one the active layer) whose selected features are "
                        "the examples."
                    )
                )
            raise ExampleError(
                tr("“{}” is not a polygon or point layer: examples are polygons or points.").format(layer.name())
            )
        raster = self._raster()
        selected = [f.geometry() for f in layer.selectedFeatures() if f.hasGeometry() and not f.geometry().isEmpty()]
        if not selected:
            raise ExampleError(
                tr("Select one or more features of “{}” first: they become the examples.").format(layer.name())
            )
        known = {bytes(e.in_crs(raster.crs()).asWkb()) for e in self.examples}
        added = left_out = 0
        for geometry in selected:
            try:
                geometry = plain(_reprojected(geometry, layer.crs(), raster.crs()))
            except QgsCsException:
                left_out += 1
                continue
            if geometry.isNull() or geometry.isEmpty() or not overlaps(geometry, raster.extent()):
                left_out += 1
                continue
            wkb = bytes(geometry.asWkb())
            if wkb in known:
                continue
            known.add(wkb)
            self.examples.append(Example(geometry, QgsCoordinateReferenceSystem(raster.crs())))
            added += 1
        if not added and left_out:
            raise ExampleError(
                tr("The selected features of “{}” do not overlap the raster layer “{}”.").format(
                    layer.name(), raster.name()
                )
            )
        self._changed()
        return added, left_out

    def clear(self) -> None:
        """Forget every example and take the markers off the map (picking goes on if it was on)."""
        self.examples.clear()
        self._changed()

    def wkb_in(self, crs: QgsCoordinateReferenceSystem) -> list[bytes]:
        """The examples as WKB in ``crs`` (the raster layer a job reads)."""
        return [bytes(example.in_crs(crs).asWkb()) for example in self.examples]

    def geometries_in(self, crs: QgsCoordinateReferenceSystem) -> list[QgsGeometry]:
        return [example.in_crs(crs) for example in self.examples]

    def __len__(self) -> int:
        return len(self.examples)

    # ------------------------------------------------------------------------------------------------ display
    def _changed(self) -> None:
        self._show()
        self.changed.emit(len(self.examples))

    def _bands(self) -> tuple[QgsRubberBand, QgsRubberBand]:
        if self._points is None:
            self._points = QgsRubberBand(self.canvas, QgsWkbTypes.PointGeometry)
            self._points.setIcon(QgsRubberBand.ICON_CIRCLE)
            self._points.setIconSize(12)
            self._points.setColor(MARKER_COLOR)
            self._points.setWidth(3)
        if self._outlines is None:
            self._outlines = QgsRubberBand(self.canvas, QgsWkbTypes.PolygonGeometry)
            self._outlines.setStrokeColor(MARKER_COLOR)
            self._outlines.setFillColor(QColor(MARKER_COLOR.red(), MARKER_COLOR.green(), MARKER_COLOR.blue(), 50))
            self._outlines.setWidth(2)
        return self._points, self._outlines

    def _show(self, *_args) -> None:
        """Draw every example on the map, in the map's current CRS."""
        if not self.examples and self._points is None:
            return
        points, outlines = self._bands()
        points.reset(QgsWkbTypes.PointGeometry)
        outlines.reset(QgsWkbTypes.PolygonGeometry)
        for example in self.examples:
            try:
                if example.geometry.type() == QgsWkbTypes.PolygonGeometry:
                    outlines.addGeometry(example.geometry, example.crs, False)
                else:
                    for vertex in example.geometry.vertices():
                        points.addGeometry(
                            QgsGeometry.fromPointXY(QgsPointXY(vertex.x(), vertex.y())), example.crs, False
                        )
            except QgsCsException:  # no place in the map's CRS: not drawn, still used
                continue
        points.updatePosition()
        points.update()
        outlines.updatePosition()
        outlines.update()

    def marker_count(self) -> int:
        """How many examples are drawn on the map (point markers plus polygon outlines)."""
        if self._points is None or self._outlines is None:
            return 0
        outlines = self._outlines.asGeometry()
        parts = 0 if outlines.isNull() or outlines.isEmpty() else outlines.constGet().partCount()
        return self._points.numberOfVertices() + parts

    def bands(self) -> list[QgsRubberBand]:
        """The rubber bands on the map now."""
        return [band for band in (self._points, self._outlines) if band is not None]

    def close(self) -> None:
        """End picking, forget the examples and take the markers off the canvas (the dock was closed, a new
        project)."""
        self.stop()
        self.examples.clear()
        for band, kind in ((self._points, QgsWkbTypes.PointGeometry), (self._outlines, QgsWkbTypes.PolygonGeometry)):
            if band is None:
                continue
            band.reset(kind)
            scene = band.scene()
            if scene is not None:
                scene.removeItem(band)
        self._points = self._outlines = None
        self.changed.emit(0)

    def shutdown(self) -> None:
        """:meth:`close`, and the map tool goes too (plugin unloaded)."""
        self.close()
        try:
            self.canvas.destinationCrsChanged.disconnect(self._show)
        except (TypeError, RuntimeError):
            pass
        if self.tool is not None:
            self.tool.deleteLater()
            self.tool = None
