"""Processing "Find all like these": a raster and a few example objects (polygons or points) -> every object like them.

QGIS reads the examples (any layer it opens, selected features only when asked), reprojects them to the raster's CRS
and checks that they lie in the area searched; the engine process compares what lies under them with the whole
area and answers with polygons, measured and written as "Segment by instruction" writes its own.
"""

from __future__ import annotations

from qgis.core import (
    QgsCoordinateTransform,
    QgsCsException,
    QgsGeometry,
    QgsProcessingException,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterString,
    QgsRectangle,
    QgsWkbTypes,
)

from ..i18n import tr
from ..qt_compat import ProcessingTypes
from ..settings import Settings
from .algorithms import GroundingAlgorithm

DEFAULT_PHRASE = "object"  # what the objects found are called when the user gives no name
MAX_LISTED = 10  # feature ids named in a message about examples outside the area


class FindAllLikeThese(GroundingAlgorithm):
    """Raster + example polygons or points -> one polygon per object like them, named by the phrase given."""

    EXAMPLES, PHRASE = "EXAMPLES", "PHRASE"

    def name(self) -> str:
        return "findalllikethese"

    def displayName(self) -> str:  # noqa: N802
        return tr("Find all like these")

    def shortHelpString(self) -> str:  # noqa: N802
        return tr(
            "Finds every object in the raster (the whole layer, or the extent given) that looks like the examples: "
            "outline a few objects as polygons, or click them as points, in any layer (only its selected features "
            "when asked). Examples in another CRS are reprojected to the raster's, and each must lie in the area "
            "searched. The objects found are named by the phrase given (“object” without one) and get a score and "
            "their area in square metres. The model must have an example encoder."
        )

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.add_raster_parameter()
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                self.EXAMPLES,
                tr("Examples (polygons or points on objects)"),
                [ProcessingTypes.VectorPolygon, ProcessingTypes.VectorPoint],
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.PHRASE, tr("Name of the objects found (optional)"), defaultValue="", optional=True
            )
        )
        self.add_area_and_model_parameters(Settings.load())
        self.add_outputs()

    def prepareAlgorithm(self, parameters, context, feedback) -> bool:  # noqa: N802 - runs on the main thread
        layer = self.raster_parameter(parameters, context)
        source = self.parameterAsSource(parameters, self.EXAMPLES, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.EXAMPLES))
        phrase = " ".join((self.parameterAsString(parameters, self.PHRASE, context) or "").split())
        self.prepare_run(layer, parameters, context)
        area = QgsRectangle(self._source.extent)
        if self._extent is not None:
            area = area.intersect(self._extent)
        if area.isEmpty():
            raise QgsProcessingException(tr("The requested area does not overlap the raster layer."))
        examples = example_geometries(source, layer.crs(), context, feedback)
        if not examples:
            raise QgsProcessingException(
                tr(
                    "No examples: the examples layer has no polygon or point (or none is selected when only "
                    "selected features are used). Outline or click a few objects like those to find."
                )
            )
        outside = [fid for fid, geometry in examples if lies_outside(geometry, area)]
        if outside:
            raise QgsProcessingException(outside_message(outside, len(examples)))
        feedback.pushInfo(tr("Examples given: {}.").format(len(examples)))
        self._examples = [bytes(geometry.asWkb()) for _, geometry in examples]
        self._phrase = phrase or DEFAULT_PHRASE
        self._instruction = tr("Find all like these: {}").format(phrase) if phrase else tr("Find all like these")
        return True

    def segment_options(self) -> dict:
        return {"examples": self._examples, "example_phrase": self._phrase}

    def engine_error(self, exc: Exception) -> str:
        text = str(exc)
        if "text prompts only" in text:
            return tr(
                "The model “{}” takes text prompts only: it cannot find objects like examples. Choose a model "
                "with an example encoder."
            ).format(self._settings.default_model)
        if "lies outside the area searched" in text or "lies over pixels without data" in text:
            return tr("The examples cannot be used: {}").format(text)
        return super().engine_error(exc)


def example_geometries(source, crs, context, feedback) -> list[tuple[int, QgsGeometry]]:
    """(feature id, geometry) of each polygon or point of ``source``, in ``crs`` when both CRSs are known (as they
    are otherwise), 2D, without curves, polygons made valid. Features without a geometry are skipped; lines are
    skipped with a warning."""
    transform = None
    if crs.isValid() and source.sourceCrs().isValid() and source.sourceCrs() != crs:
        transform = QgsCoordinateTransform(source.sourceCrs(), crs, context.transformContext())
    kept, lines = [], 0
    for feature in source.getFeatures():
        if feedback.isCanceled():
            break
        if not feature.hasGeometry() or feature.geometry().isEmpty():
            continue
        geometry = plain_geometry(feature.geometry())
        kind = geometry.type()
        if kind not in (QgsWkbTypes.PolygonGeometry, QgsWkbTypes.PointGeometry):
            lines += 1
            continue
        if transform is not None:
            try:
                geometry.transform(transform)
            except QgsCsException as exc:
                message = tr("The example of feature id {} cannot be reprojected to the raster's CRS: {}")
                raise QgsProcessingException(message.format(feature.id(), exc)) from exc
        if kind == QgsWkbTypes.PolygonGeometry:
            geometry = valid_polygon(geometry)
            if geometry.isEmpty():
                continue
        kept.append((feature.id(), geometry))
    if lines:
        feedback.pushWarning(tr("Examples left out (neither polygons nor points): {}.").format(lines))
    return kept


def plain_geometry(geometry: QgsGeometry) -> QgsGeometry:
    """A copy the engine's geometry library reads: curves segmentized, Z and M dropped."""
    if QgsWkbTypes.isCurvedType(geometry.wkbType()):
        plain = geometry.constGet().segmentize()
    else:
        plain = geometry.constGet().clone()
    plain.dropZValue()
    plain.dropMValue()
    return QgsGeometry(plain)


def valid_polygon(geometry: QgsGeometry) -> QgsGeometry:
    """``geometry`` itself when valid, else its valid polygonal parts (empty when nothing polygonal is left)."""
    if geometry.isGeosValid():
        return geometry
    fixed = geometry.makeValid()
    if fixed.type() == QgsWkbTypes.PolygonGeometry:
        return fixed
    parts = [part for part in fixed.asGeometryCollection() if part.type() == QgsWkbTypes.PolygonGeometry]
    return QgsGeometry.collectGeometry(parts) if parts else QgsGeometry()


def lies_outside(geometry: QgsGeometry, area: QgsRectangle) -> bool:
    """Whether an example misses ``area``: a polygon sharing no surface with it, a point not in it."""
    box = QgsGeometry.fromRect(area)
    if geometry.type() == QgsWkbTypes.PolygonGeometry:
        return geometry.intersection(box).area() <= 0
    return not geometry.intersects(box)


def outside_message(fids: list[int], total: int) -> str:
    """What the user reads when examples (given by feature id) lie outside the area searched."""
    listed = ", ".join(str(fid) for fid in fids[:MAX_LISTED]) + (", …" if len(fids) > MAX_LISTED else "")
    if total == 1:
        return tr(
            "The example lies outside the area searched (the raster layer, or the area given): move it inside, "
            "or widen the area."
        )
    return tr(
        "Examples outside the area searched (the raster layer, or the area given): {} of {}, feature ids {}. "
        "Move them inside, widen the area, or leave them out."
    ).format(len(fids), total, listed)
