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
from ..raster_view import snapshot
from ..result_layers import RESULT_FIELDS, fields_of, polygon_feature
from ..settings import DEVICE_CHOICES, Settings

DESCRIBE_INSTRUCTION = "Describe this image in detail and outline every object you mention."


class SegmentByInstruction(QgsProcessingAlgorithm):
    """Raster + instruction -> one polygon per object the model grounds, with phrase, score and areas in m2."""

    INPUT, INSTRUCTION, EXTENT, MODEL, DEVICE, MAX_TOKENS = (
        "INPUT",
        "INSTRUCTION",
        "EXTENT",
        "MODEL",
        "DEVICE",
        "MAX_TOKENS",
    )
    OUTPUT, ANSWER = "OUTPUT", "ANSWER"
    default_instruction = ""

    def createInstance(self):  # noqa: N802 - QGIS API
        return type(self)()

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
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, tr("Raster layer")))
        self.addParameter(
            QgsProcessingParameterString(self.INSTRUCTION, tr("Instruction"), defaultValue=self.default_instruction)
        )
        self.addParameter(QgsProcessingParameterExtent(self.EXTENT, tr("Area (whole layer when empty)"), optional=True))
        self.addParameter(
            QgsProcessingParameterString(self.MODEL, tr("Model (name, folder or hub id)"), settings.default_model)
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.DEVICE, tr("Device"), options=list(DEVICE_CHOICES), defaultValue=DEVICE_CHOICES.index("auto")
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.MAX_TOKENS, tr("Answer token limit"), defaultValue=settings.max_new_tokens, minValue=8
            )
        )
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, tr("Objects"), type=3))  # TypeVectorPolygon
        self.addOutput(QgsProcessingOutputString(self.ANSWER, tr("Answer")))

    def prepareAlgorithm(self, parameters, context, feedback) -> bool:  # noqa: N802 - runs on the main thread
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None:
            raise QgsProcessingException(tr("No raster layer given."))
        instruction = (self.parameterAsString(parameters, self.INSTRUCTION, context) or "").strip()
        if not instruction:
            raise QgsProcessingException(tr("The instruction is empty."))
        try:
            self._source = snapshot(layer)
        except ValueError as exc:
            raise QgsProcessingException(str(exc)) from exc
        extent = None
        if parameters.get(self.EXTENT):
            extent = self.parameterAsExtent(parameters, self.EXTENT, context, layer.crs())
        self._extent = extent if extent is not None and not extent.isNull() else None
        self._instruction = instruction
        settings = Settings.load()
        settings.default_model = (
            self.parameterAsString(parameters, self.MODEL, context).strip() or settings.default_model
        )
        settings.device = DEVICE_CHOICES[self.parameterAsEnum(parameters, self.DEVICE, context)]
        settings.max_new_tokens = self.parameterAsInt(parameters, self.MAX_TOKENS, context)
        self._settings = settings
        return True

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
            )
        except Exception as exc:  # noqa: BLE001 - Processing shows QgsProcessingException messages to the user
            if feedback.isCanceled():
                return {}
            raise QgsProcessingException(f"{type(exc).__name__}: {exc}") from exc
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
