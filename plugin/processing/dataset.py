"""Processing "Build training set": a raster and a polygon layer of examples -> a dataset folder the recipes read.

QGIS reads the polygons (any layer it opens, selected features only when asked) and reprojects them to the raster's
CRS; the engine process cuts the chips and writes masks, grounded text, a report and a contact sheet
(``engine.data.layer_dataset``), as ``python -m engine dataset`` does.
"""

from __future__ import annotations

import os
import tempfile

from qgis.core import (
    QgsCoordinateTransform,
    QgsFeature,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputString,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsVectorFileWriter,
)

from ..i18n import tr
from ..qt_compat import ProcessingTypes


class BuildTrainingSet(QgsProcessingAlgorithm):
    """Raster + example polygons (+ class field or one class name) -> chips, instance masks and grounded text."""

    INPUT, POLYGONS, CLASS_FIELD, CLASS_NAME = "INPUT", "POLYGONS", "CLASS_FIELD", "CLASS_NAME"
    EXTENT, CHIP, OVERLAP, OUTPUT, REPORT = "EXTENT", "CHIP", "OVERLAP", "OUTPUT", "REPORT"

    def createInstance(self):  # noqa: N802 - QGIS API
        return type(self)()

    def name(self) -> str:
        return "buildtrainingset"

    def displayName(self) -> str:  # noqa: N802
        return tr("Build training set")

    def shortHelpString(self) -> str:  # noqa: N802
        return tr(
            "Cuts the raster into overlapping chips and turns the polygons into one mask per object, named by the "
            "class field (or by one class name for all), with grounded questions and answers for training. The "
            "folder also holds a report (objects per class, what was left out and why) and a contact sheet. "
            "Polygons in another CRS are reprojected to the raster's."
        )

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, tr("Raster layer")))
        self.addParameter(
            QgsProcessingParameterFeatureSource(self.POLYGONS, tr("Example polygons"), [ProcessingTypes.VectorPolygon])
        )
        self.addParameter(
            QgsProcessingParameterField(
                self.CLASS_FIELD,
                tr("Class field"),
                parentLayerParameterName=self.POLYGONS,
                type=ProcessingTypes.FieldString,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.CLASS_NAME, tr("Class name (when there is no class field)"), optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterExtent(self.EXTENT, tr("Area (whole raster when empty)"), optional=True)
        )
        self.addParameter(
            QgsProcessingParameterNumber(self.CHIP, tr("Chip size (pixels)"), defaultValue=512, minValue=64)
        )
        self.addParameter(
            QgsProcessingParameterNumber(self.OVERLAP, tr("Chip overlap (pixels)"), defaultValue=64, minValue=0)
        )
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, tr("Training set folder")))
        self.addOutput(QgsProcessingOutputString(self.REPORT, tr("Report")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from ..segmentation import engines

        raster = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if raster is None:
            raise QgsProcessingException(tr("No raster layer given."))
        raster_path = raster.source().split("|")[0]
        if not os.path.isfile(raster_path):
            raise QgsProcessingException(
                tr("The raster must be a file (GeoTIFF, JPEG 2000, VRT...): {}").format(raster_path)
            )
        source = self.parameterAsSource(parameters, self.POLYGONS, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.POLYGONS))
        class_field = self.parameterAsString(parameters, self.CLASS_FIELD, context).strip() or None
        class_name = self.parameterAsString(parameters, self.CLASS_NAME, context).strip() or None
        if (class_field is None) == (class_name is None):
            raise QgsProcessingException(tr("Give either a class field or a class name (one of the two)."))
        out_dir = self.parameterAsString(parameters, self.OUTPUT, context)
        area = None
        if parameters.get(self.EXTENT):
            extent = self.parameterAsExtent(parameters, self.EXTENT, context, raster.crs())
            if not extent.isNull():
                area = [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()]
        with tempfile.TemporaryDirectory(prefix="geoground-examples-") as scratch:
            vector = os.path.join(scratch, "examples.gpkg")
            count = self._write_examples(source, raster.crs(), vector, context, feedback)
            if count == 0:
                raise QgsProcessingException(tr("The polygon layer has no features."))
            feedback.pushInfo(tr("{} polygons written for the engine; cutting chips…").format(count))
            params = {
                "raster": raster_path,
                "vector": vector,
                "out_dir": out_dir,
                "chip": self.parameterAsInt(parameters, self.CHIP, context),
                "overlap": self.parameterAsInt(parameters, self.OVERLAP, context),
            }
            params |= {"class_field": class_field, "class_name": class_name, "area": area}
            try:
                done = engines().build_dataset(params, should_stop=feedback.isCanceled)
            except Exception as exc:  # noqa: BLE001 - Processing shows QgsProcessingException messages to the user
                if feedback.isCanceled():
                    return {}
                raise QgsProcessingException(str(exc)) from exc
        for warning in done["report"].get("warnings", []):
            feedback.pushWarning(warning)
        feedback.pushInfo(done["text"])
        return {self.OUTPUT: out_dir, self.REPORT: done["text"]}

    @staticmethod
    def _write_examples(source, crs, path: str, context, feedback) -> int:
        """The source's polygons, reprojected to ``crs`` when both CRSs are known, as a GeoPackage at ``path``."""
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.driverName = "GPKG"
        options.layerName = "examples"
        target = crs if crs.isValid() else source.sourceCrs()
        writer = QgsVectorFileWriter.create(
            path, source.fields(), source.wkbType(), target, context.transformContext(), options
        )
        if writer.hasError() != QgsVectorFileWriter.NoError:
            raise QgsProcessingException(tr("Cannot write the polygons: {}").format(writer.errorMessage()))
        transform = None
        if crs.isValid() and source.sourceCrs().isValid() and source.sourceCrs() != crs:
            transform = QgsCoordinateTransform(source.sourceCrs(), crs, context.transformContext())
        count = 0
        for feature in source.getFeatures():
            if feedback.isCanceled():
                break
            copy = QgsFeature(feature)
            if transform is not None and copy.hasGeometry():
                geometry = copy.geometry()
                geometry.transform(transform)
                copy.setGeometry(geometry)
            writer.addFeature(copy)
            count += 1
        del writer  # closes the file
        return count
