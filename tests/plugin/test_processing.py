"""Both Processing algorithms run through processing.run, as the model builder, batch mode and qgis_process do."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputLayerDefinition,
    QgsProject,
    QgsVectorLayer,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from test_geo_helpers import UTM, disc_image, utm_transform, write_raster  # noqa: E402

DISCS = [(60, 50, 20), (200, 140, 30)]


class DescribingDouble:
    """Bright pixels are "disc" objects; the answer names them (a stand-in for the model in plumbing tests). Asked
    to segment all of one class, as a description asks each class in turn, it finds the discs as storage tanks and
    grounds every other class with an empty mask."""

    name = "threshold-double"

    def chat(self, image, conversation, **options):
        from geoground.engine.types import Reply, Segment

        mask = image.mean(axis=2) > 128
        if conversation.startswith("Segment all ") and "disc" not in conversation:
            phrase = conversation.removeprefix("Segment all ").rstrip(".")
            found = mask if phrase == "storage tanks" else mask & False
            return Reply(f"Sure, {phrase}.", [Segment(phrase, found, 0.876543219)], f"Sure, <p> {phrase} </p> [SEG].")
        return Reply(
            "There are two discs.", [Segment("discs", mask, 0.876543219)], "There are two <p> discs </p> [SEG]."
        )


@pytest.fixture
def provider(qgis_processing, monkeypatch):
    from geoground.plugin import segmentation
    from geoground.plugin.processing.provider import GeoGroundProvider

    monkeypatch.setattr(segmentation, "ENGINES", segmentation.InProcessEngines(lambda *args: DescribingDouble()))
    registry = QgsApplication.processingRegistry()
    if registry.providerById("geoground") is None:
        provider = GeoGroundProvider()
        registry.addProvider(provider)
    yield registry.providerById("geoground")
    registry.removeProvider("geoground")


@pytest.fixture
def raster(tmp_path):
    return str(write_raster(tmp_path / "discs.tif", disc_image(240, 320, DISCS)))


def test_provider_lists_its_algorithms(provider):
    names = {a.id() for a in provider.algorithms()}
    assert names == {
        "geoground:segmentbyinstruction",
        "geoground:describewithgroundedmasks",
        "geoground:findalllikethese",
        "geoground:buildtrainingset",
        "geoground:finetunemodel",
    }


def test_segment_by_instruction(provider, raster, tmp_path):
    import processing

    out = str(tmp_path / "objects.gpkg")
    result = processing.run(
        "geoground:segmentbyinstruction",
        {"INPUT": raster, "INSTRUCTION": "Segment all discs", "MODEL": "threshold", "OUTPUT": out},
    )
    layer = QgsVectorLayer(result["OUTPUT"], "objects", "ogr")
    assert layer.isValid() and layer.featureCount() == len(DISCS)
    assert layer.crs() == QgsCoordinateReferenceSystem(UTM)
    areas = sorted(f["area_m2"] for f in layer.getFeatures())
    resolution = utm_transform().a
    expected = sorted(3.14159 * (r * resolution) ** 2 for _, _, r in DISCS)
    assert areas == pytest.approx(expected, rel=0.08)
    assert {f["instruction"] for f in layer.getFeatures()} == {"Segment all discs"}
    assert result["ANSWER"] == f"2 discs, {sum(areas):,.0f} m² in all."  # what the output holds, QGIS's areas


def test_extent_limits_the_area(provider, raster, tmp_path):
    import processing

    x0, y0 = utm_transform() * (0, 0)
    # only the left half of the raster: the first disc (centre column 60) but not the second (column 200)
    extent = f"{x0},{x0 + 120 * 0.5},{y0 - 240 * 0.5},{y0} [EPSG:32616]"
    result = processing.run(
        "geoground:segmentbyinstruction",
        {"INPUT": raster, "INSTRUCTION": "Segment all discs", "EXTENT": extent, "OUTPUT": "memory:"},
    )
    assert result["OUTPUT"].featureCount() == 1


def test_describe_returns_the_answer_and_polygons(provider, raster):
    import processing

    result = processing.run("geoground:describewithgroundedmasks", {"INPUT": raster, "OUTPUT": "memory:"})
    layer = result["OUTPUT"]
    assert layer.featureCount() == len(DISCS)
    assert {f["phrase"] for f in layer.getFeatures()} == {"storage tanks"}
    total = sum(f["area_m2"] for f in layer.getFeatures())  # every class asked; the answer names what was found
    assert result["ANSWER"] == f"This area shows 2 storage tanks ({total:,.0f} m²)."


def test_empty_instruction_is_a_clear_error(provider, raster):
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    class Recorder(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.errors = []

        def reportError(self, error, fatalError=False):  # noqa: N802, N803 - QGIS API
            self.errors.append(error)

    feedback = Recorder()
    with pytest.raises(QgsProcessingException):
        processing.run(
            "geoground:segmentbyinstruction",
            {"INPUT": raster, "INSTRUCTION": "  ", "OUTPUT": "memory:"},
            feedback=feedback,
        )
    assert any("instruction is empty" in error for error in feedback.errors), feedback.errors


def run_loading_the_output(algorithm: str, parameters: dict, tmp_path) -> tuple[dict, QgsProcessingContext]:
    """Run as the toolbox does: the output is a temporary layer to be loaded into the project, named "Objects"."""
    import processing

    raster = str(write_raster(tmp_path / "discs.tif", disc_image(240, 320, DISCS)))
    output = QgsProcessingOutputLayerDefinition("TEMPORARY_OUTPUT", QgsProject.instance())
    output.destinationName = "Objects"
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    results = processing.run(
        algorithm, {"INPUT": raster, **parameters, "OUTPUT": output}, context=context, feedback=QgsProcessingFeedback()
    )
    return results, context


def loaded_names(context: QgsProcessingContext) -> list[str]:
    return [details.name for details in context.layersToLoadOnCompletion().values()]


def test_output_is_named_after_the_instruction(provider, tmp_path, qgis_new_project):
    results, context = run_loading_the_output(
        "geoground:segmentbyinstruction", {"INSTRUCTION": "Segment all discs"}, tmp_path
    )
    assert loaded_names(context) == ["Segment all discs"]
    layer = context.getMapLayer(results["OUTPUT"]) if isinstance(results["OUTPUT"], str) else results["OUTPUT"]
    assert {round(f["score"], 6) for f in layer.getFeatures()} == {0.877}  # rounded to 3 decimals


def test_a_long_instruction_is_shortened(provider, tmp_path, qgis_new_project):
    from geoground.plugin.processing.algorithms import DESCRIBE_INSTRUCTION, output_layer_name

    _, context = run_loading_the_output("geoground:describewithgroundedmasks", {}, tmp_path)
    [name] = loaded_names(context)
    assert name == output_layer_name(DESCRIBE_INSTRUCTION) and name.endswith("…") and len(name) <= 60
    assert name[:-1].strip() in DESCRIBE_INSTRUCTION
