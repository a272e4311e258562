"""The areas an instruction can cover besides the view and the whole layer: selected polygons and a drawn rectangle.

Both are resolved on the main thread into plain geometry in the raster's CRS, so the worker thread only ever sees a
rectangle to read and, for a selection, a polygon to clip the results to.
"""

from __future__ import annotations

from qgis.core import (
    QgsCoordinateTransform,
    QgsGeometry,
    QgsMapLayer,
    QgsProject,
    QgsRasterLayer,
    QgsVectorLayer,
    QgsWkbTypes,
)

from .i18n import tr


class ScopeError(ValueError):
    """The chosen area cannot be used (nothing selected, not polygons...); the message is meant for the user."""


def _is_polygon_layer(layer: QgsMapLayer | None) -> bool:
    return isinstance(layer, QgsVectorLayer) and layer.geometryType() == QgsWkbTypes.PolygonGeometry


def selection_layer(active: QgsMapLayer | None, project: QgsProject | None = None) -> QgsVectorLayer:
    """The polygon layer whose selection is meant: the active layer when it has selected polygons, else the only
    polygon layer of the project that has some."""
    if _is_polygon_layer(active) and active.selectedFeatureCount() > 0:
        return active
    project = project or QgsProject.instance()
    candidates = [
        layer for layer in project.mapLayers().values() if _is_polygon_layer(layer) and layer.selectedFeatureCount() > 0
    ]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise ScopeError(tr("Several polygon layers have a selection: make the one to use the active layer."))
    if _is_polygon_layer(active):
        raise ScopeError(tr("Select one or more polygons of “{}” first.").format(active.name()))
    raise ScopeError(tr("No polygon is selected: select polygons of a polygon layer first."))


def selection_in_raster_crs(vector: QgsVectorLayer, raster: QgsRasterLayer) -> QgsGeometry:
    """The union of the selected polygons of ``vector``, in the CRS of ``raster`` (as is when either has no CRS)."""
    parts = [f.geometry() for f in vector.selectedFeatures() if f.hasGeometry() and not f.geometry().isEmpty()]
    union = QgsGeometry.unaryUnion(parts) if parts else QgsGeometry()
    if union.isNull() or union.isEmpty() or union.area() <= 0:
        raise ScopeError(tr("The selected features of “{}” have no polygon area.").format(vector.name()))
    if vector.crs().isValid() and raster.crs().isValid() and vector.crs() != raster.crs():
        transform = QgsCoordinateTransform(vector.crs(), raster.crs(), QgsProject.instance())
        union.transform(transform)
    if not union.boundingBox().intersects(raster.extent()):
        raise ScopeError(tr("The selected polygons do not overlap the raster layer “{}”.").format(raster.name()))
    return union


def clip_polygon(wkb: bytes, clip: QgsGeometry) -> bytes | None:
    """The polygonal part of ``wkb`` inside ``clip`` as WKB, or None when nothing with an area is left."""
    geometry = QgsGeometry()
    geometry.fromWkb(wkb)
    inside = geometry.intersection(clip)
    if inside.isNull() or inside.isEmpty():
        return None
    if inside.type() != QgsWkbTypes.PolygonGeometry:  # a collection when the edges also touch along a line/point
        polygons = [part for part in inside.asGeometryCollection() if part.type() == QgsWkbTypes.PolygonGeometry]
        if not polygons:
            return None
        inside = QgsGeometry.collectGeometry(polygons)
    if inside.area() <= 0:
        return None
    return bytes(inside.asWkb())
