"""The "Drawn rectangle" area: a QgsMapToolExtent to draw it and a rubber band that keeps it visible.

The rectangle is kept in the CRS the map had when it was drawn, so it still means the same ground after the map CRS
changes; it is shown until it is replaced or :meth:`RectangleDrawer.clear` is called (dock closed, plugin unloaded).
"""

from __future__ import annotations

from qgis.core import QgsCoordinateReferenceSystem, QgsGeometry, QgsRectangle, QgsWkbTypes
from qgis.gui import QgsMapToolExtent, QgsRubberBand
from qgis.PyQt.QtCore import QObject, pyqtSignal
from qgis.PyQt.QtGui import QColor

BAND_COLOR = QColor(255, 140, 0)


class RectangleDrawer(QObject):
    """Draws one rectangle on ``canvas`` on request, restores the previous map tool afterwards, shows the result."""

    drawn = pyqtSignal(QgsRectangle)  # the new rectangle, in :attr:`crs`
    cancelled = pyqtSignal()  # the drawing produced no area (a click without dragging)

    def __init__(self, canvas, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.rectangle: QgsRectangle | None = None
        self.crs = QgsCoordinateReferenceSystem()
        self.band: QgsRubberBand | None = None
        self.tool: QgsMapToolExtent | None = None
        self._previous_tool = None

    def start(self) -> None:
        """Make the extent tool the canvas's map tool until one rectangle is drawn."""
        if self.tool is None:
            self.tool = QgsMapToolExtent(self.canvas)
            self.tool.extentChanged.connect(self._on_extent)
        current = self.canvas.mapTool()
        if current is not self.tool:
            self._previous_tool = current
            self.canvas.setMapTool(self.tool)

    def is_drawing(self) -> bool:
        return self.tool is not None and self.canvas.mapTool() is self.tool

    def _on_extent(self, extent: QgsRectangle) -> None:
        self._restore_tool()
        if extent.isNull() or extent.isEmpty() or extent.width() <= 0 or extent.height() <= 0:
            self.cancelled.emit()
            return
        self.rectangle = QgsRectangle(extent)
        self.crs = QgsCoordinateReferenceSystem(self.canvas.mapSettings().destinationCrs())
        self._show(self.rectangle)
        self.drawn.emit(QgsRectangle(self.rectangle))

    def _show(self, rectangle: QgsRectangle) -> None:
        if self.band is None:
            self.band = QgsRubberBand(self.canvas, QgsWkbTypes.PolygonGeometry)
            self.band.setStrokeColor(BAND_COLOR)
            self.band.setFillColor(QColor(BAND_COLOR.red(), BAND_COLOR.green(), BAND_COLOR.blue(), 40))
            self.band.setWidth(2)
        self.band.setToGeometry(QgsGeometry.fromRect(rectangle), self.crs)

    def _restore_tool(self) -> None:
        if self.tool is not None:
            self.tool.clearRubberBand()
        if self.is_drawing():
            if self._previous_tool is not None:
                self.canvas.setMapTool(self._previous_tool)
            else:
                self.canvas.unsetMapTool(self.tool)
        self._previous_tool = None

    def clear(self) -> None:
        """Forget the rectangle and take everything off the canvas (the rubber band, the tool if still active)."""
        self._restore_tool()
        self.rectangle = None
        if self.band is not None:
            self.band.reset(QgsWkbTypes.PolygonGeometry)
            scene = self.band.scene()
            if scene is not None:
                scene.removeItem(self.band)
            self.band = None
        if self.tool is not None:
            self.tool.deleteLater()
            self.tool = None
