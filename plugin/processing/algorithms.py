"""Processing algorithms: the chat dock's segmentation job for the toolbox, models, batch mode and qgis_process."""

from __future__ import annotations

from qgis.core import (
    QgsFeatureSink,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsWkbTypes,
)

from ..i18n import tr
from ..qt_compat import ProcessingTypes
from ..raster_view import snapshot
from ..result_layers import RESULT_FIELDS, fields_of, polygon_feature
from ..settings import DEVICE_CHOICES, Settings

DESCRIBE_INSTRUCTION = "Describe this image in detail and outline every object you mention."


class GroundingAlgorithm(QgsProcessingAlgorithm):
    """What the algorithms that ask the model about a raster share: the raster, area, model and device parameters,
    the raster captured on the main thread, the run in the engine process and the measured polygons in OUTPUT.

    A subclass adds its own parameters and, in ``prepareAlgorithm``, calls :meth:`prepare_run` and sets
    ``self._instruction`` (recorded in the features and naming the loaded layer)."""

    INPUT, EXTENT, MODEL, DEVICE = "INPUT", "EXTENT", "MODEL", "DEVICE"
    OUTPUT, ANSWER = "OUTPUT", "ANSWER"

    def createInstance(self):  # noqa: N802 - QGIS API
        return type(self)()

    def add_raster_parameter(self) -> None:
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, tr("Raster layer")))

    def add_area_and_model_parameters(self, settings: Settings) -> None:
        """EXTENT, MODEL and DEVICE."""
        self.addParameter(QgsProcessingParameterExtent(self.EXTENT, tr("Area (whole layer when empty)"), optional=True))
        self.addParameter(
            QgsProcessingParameterString(self.MODEL, tr("Model (name, folder or hub id)"), settings.default_model)
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.DEVICE, tr("Device"), options=list(DEVICE_CHOICES), defaultValue=DEVICE_CHOICES.index("auto")
            )
        )

    def add_outputs(self) -> None:
        """OUTPUT (polygons with the result fields) and ANSWER."""
        self.addParameter(
            QgsProcessingParameterFeatureSink(self.OUTPUT, tr("Objects"), type=ProcessingTypes.VectorPolygon)
        )
        self.addOutput(QgsProcessingOutputString(self.ANSWER, tr("Answer")))

    def raster_parameter(self, parameters, context):
        """The INPUT layer; refused when missing."""
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None:
            raise QgsProcessingException(tr("No raster layer given."))
        return layer

    def prepare_run(self, layer, parameters, context) -> None:
        """Capture ``layer`` for the worker thread and read EXTENT (in the layer's CRS; None: the whole layer), MODEL
        and DEVICE into ``self._source``, ``self._extent`` and ``self._settings``. Call on the main thread."""
        try:
            self._source = snapshot(layer)
        except ValueError as exc:
            raise QgsProcessingException(str(exc)) from exc
        extent = None
        if parameters.get(self.EXTENT):
            extent = self.parameterAsExtent(parameters, self.EXTENT, context, layer.crs())
        self._extent = extent if extent is not None and not extent.isNull() else None
        settings = Settings.load()
        settings.default_model = (
            self.parameterAsString(parameters, self.MODEL, context).strip() or settings.default_model
        )
        settings.device = DEVICE_CHOICES[self.parameterAsEnum(parameters, self.DEVICE, context)]
        self._settings = settings

    def segment_options(self) -> dict:
        """Further keyword arguments of ``segment_source`` (none here)."""
        return {}

    def engine_error(self, exc: Exception) -> str:
        """The message Processing shows when the engine refuses or fails."""
        return f"{type(exc).__name__}: {exc}"

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from ..segmentation import answer_text, result_rows, segment_source

        try:
            view, result = segment_source(
                self._source,
                self._extent,
                self._instruction,
                self._settings,
                report=feedback.setProgress,
                on_status=feedback.pushInfo,
                should_stop=feedback.isCanceled,
                **self.segment_options(),
            )
        except Exception as exc:  # noqa: BLE001 - Processing shows QgsProcessingException messages to the user
            if feedback.isCanceled():
                return {}
            raise QgsProcessingException(self.engine_error(exc)) from exc
        for warning in view.warnings:
            feedback.pushWarning(warning)
        sink, dest_id = self.parameterAsSink(
            parameters, self.OUTPUT, context, fields_of(RESULT_FIELDS), QgsWkbTypes.MultiPolygon, self._source.crs
        )
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        if context.willLoadLayerOnCompletion(dest_id):  # named after the instruction, not the output's "Objects"
            context.layerToLoadOnCompletionDetails(dest_id).name = output_layer_name(self._instruction)
        fields = fields_of(RESULT_FIELDS)
        rows = result_rows(result, view.crs)
        for wkb, attributes in rows:
            sink.addFeature(polygon_feature(fields, wkb, attributes), QgsFeatureSink.FastInsert)
        answer = answer_text(result, rows, "area")  # counts and QGIS-measured areas of what the output holds
        feedback.pushInfo(answer)
        return {self.OUTPUT: dest_id, self.ANSWER: answer}


class SegmentByInstruction(GroundingAlgorithm):
    """Raster + instruction -> one polygon per object the model grounds, with phrase, score and areas in m2."""

    INSTRUCTION, MAX_TOKENS = "INSTRUCTION", "MAX_TOKENS"
    default_instruction = ""

    def name(self) -> str:
        return "segmentbyinstruction"

    def displayName(self) -> str:  # noqa: N802
        return tr("Segment by instruction")

    def shortHelpString(self) -> str:  # noqa: N802
        return tr(
            "Asks the GeoGround model about the raster (the whole layer, or the extent given) and returns one polygon "
            "per object it outlines, with the phrase that names it, a score, and its area in square metres. "
            "Example instruction: “Segment all storage tanks”."
        )

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        settings = Settings.load()
        self.add_raster_parameter()
        self.addParameter(
            QgsProcessingParameterString(self.INSTRUCTION, tr("Instruction"), defaultValue=self.default_instruction)
        )
        self.add_area_and_model_parameters(settings)
        self.addParameter(
            QgsProcessingParameterNumber(
                self.MAX_TOKENS, tr("Answer token limit"), defaultValue=settings.max_new_tokens, minValue=8
            )
        )
        self.add_outputs()

    def prepareAlgorithm(self, parameters, context, feedback) -> bool:  # noqa: N802 - runs on the main thread
        layer = self.raster_parameter(parameters, context)
        instruction = (self.parameterAsString(parameters, self.INSTRUCTION, context) or "").strip()
        if not instruction:
            raise QgsProcessingException(tr("The instruction is empty."))
        self.prepare_run(layer, parameters, context)
        self._instruction = instruction
        self._settings.max_new_tokens = self.parameterAsInt(parameters, self.MAX_TOKENS, context)
        return True


def output_layer_name(instruction: str, limit: int = 60) -> str:
    """The name of the layer loaded into the project: the instruction, shortened to ``limit`` characters."""
    text = " ".join(instruction.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class DescribeWithGroundedMasks(SegmentByInstruction):
    """A grounded description: the answer text plus a polygon for every phrase the model grounds."""

    default_instruction = DESCRIBE_INSTRUCTION

    def name(self) -> str:
        return "describewithgroundedmasks"

    def displayName(self) -> str:  # noqa: N802
        return tr("Describe with grounded masks")

    def shortHelpString(self) -> str:  # noqa: N802
        return tr(
            "Asks the GeoGround model to describe the raster; the answer text is returned in ANSWER and every phrase "
            "it grounds becomes polygons in the output layer."
        )
