"""Processing "Find all like these" through processing.run: examples from a QGIS layer in another CRS reach the engine
in the raster's CRS, the objects found carry the user's phrase, and unusable examples are refused with a message
before the model runs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingFeedback,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from test_geo_helpers import UTM, disc_image, utm_transform, write_raster  # noqa: E402

DISCS = [(60, 50, 20), (200, 140, 30)]  # (x, y, radius) in pixels of a 320 x 240 raster on a 0.5 m UTM grid
ALGORITHM = "geoground:findalllikethese"


class Prompt:
    """The stand-in's example prompt: the mean brightness under each example."""

    def __init__(self, levels: list[float]) -> None:
        self.levels = levels

    @classmethod
    def concat(cls, parts: list[Prompt]) -> Prompt:
        return cls([level for part in parts for level in part.levels])


class LikeDouble:
    """A stand-in for a model with an example encoder: it finds every pixel about as bright as the examples, so
    examples on a disc find both discs. Asked with text, it fails: the algorithm must always send examples."""

    name = "like-double"

    def chat(self, image, conversation, **options):  # pragma: no cover - reached only if examples were not sent
        raise AssertionError("asked with text instead of examples")

    def example_prompt(self, image, masks):
        return Prompt([float(image[mask].mean()) for mask in masks])

    def finder(self, prompt: Prompt, phrase: str = "object"):
        return LikeFinder(float(np.mean(prompt.levels)), phrase)


class LikeFinder:
    name = "like-double"

    def __init__(self, level: float, phrase: str) -> None:
        self.level, self.phrase = level, phrase

    def chat(self, image, conversation=None, **options):
        from geoground.engine.types import Reply, Segment

        mask = np.abs(image.mean(axis=2) - self.level) < 40
        return Reply(f"<p>{self.phrase}</p>", [Segment(self.phrase, mask, 0.9)], f"<p>{self.phrase}</p>[SEG]")


class TextOnlyDouble(LikeDouble):
    """A model without an example encoder, refusing as the engine's models do."""

    def example_prompt(self, image, masks):
        raise ValueError("the model text-only has no example encoder: it takes text prompts only")


@pytest.fixture
def model():
    return {"double": LikeDouble()}


@pytest.fixture
def engines(model):
    """The in-process engine, keeping every request it is sent."""
    from geoground.plugin import segmentation

    class Recording(segmentation.InProcessEngines):
        def __init__(self) -> None:
            super().__init__(lambda *args: model["double"])
            self.requests: list[dict] = []

        def segment(self, request, image, *args, **kwargs):
            self.requests.append(request)
            return super().segment(request, image, *args, **kwargs)

    return Recording()


@pytest.fixture
def provider(qgis_processing, monkeypatch, engines):
    from geoground.plugin import segmentation
    from geoground.plugin.processing.provider import GeoGroundProvider

    monkeypatch.setattr(segmentation, "ENGINES", engines)
    registry = QgsApplication.processingRegistry()
    if registry.providerById("geoground") is None:
        registry.addProvider(GeoGroundProvider())
    yield registry.providerById("geoground")
    registry.removeProvider("geoground")


@pytest.fixture
def raster(tmp_path):
    return str(write_raster(tmp_path / "discs.tif", disc_image(240, 320, DISCS)))


def utm_point(x: float, y: float) -> QgsPointXY:
    """Pixel coordinates of the raster -> its UTM coordinates."""
    return QgsPointXY(*(utm_transform() * (x, y)))


def disc_outline(cx: float, cy: float, radius: float) -> QgsGeometry:
    """A disc of the raster as a UTM polygon, 24 vertices, ``radius`` in pixels."""
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    return QgsGeometry.fromPolygonXY([[utm_point(cx + radius * np.cos(a), cy + radius * np.sin(a)) for a in angles]])


def examples_layer(kind: str, crs: str, geometries: list[QgsGeometry]) -> QgsVectorLayer:
    """A memory layer in ``crs`` holding ``geometries`` (given in UTM), reprojected to it."""
    layer = QgsVectorLayer(f"{kind}?crs={crs}&field=note:string", "examples", "memory")
    to_layer = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem(UTM), QgsCoordinateReferenceSystem(crs), QgsProject.instance()
    )
    features = []
    for geometry in geometries:
        geometry = QgsGeometry(geometry)
        geometry.transform(to_layer)
        feature = QgsFeature(layer.fields())
        feature.setGeometry(geometry)
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def sent_examples(request: dict) -> list[QgsGeometry]:
    """The examples of an engine request, as QGIS geometries."""
    geometries = []
    for hex_wkb in request["examples"]:
        geometry = QgsGeometry()
        geometry.fromWkb(bytes.fromhex(hex_wkb))
        geometries.append(geometry)
    return geometries


def raster_extent() -> QgsRectangle:
    (x0, y0), (x1, y1) = utm_transform() * (0, 0), utm_transform() * (320, 240)
    return QgsRectangle(x0, y1, x1, y0)


class Recorder(QgsProcessingFeedback):
    """Keeps the errors Processing reports."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[str] = []

    def reportError(self, error, fatalError=False):  # noqa: N802, N803 - QGIS API
        self.errors.append(error)


def refusal(parameters: dict) -> str:
    """What the user reads of a run that must fail: errors in preparing the run are reported to the feedback (the
    exception only says there were some), errors in the run are the exception's message."""
    import processing

    feedback = Recorder()
    with pytest.raises(QgsProcessingException) as refused:
        processing.run(ALGORITHM, parameters | {"OUTPUT": "memory:"}, feedback=feedback)
    return "\n".join([*feedback.errors, str(refused.value)])


def test_the_algorithm_is_registered_with_its_parameters(provider):
    algorithm = QgsApplication.processingRegistry().algorithmById(ALGORITHM)
    assert algorithm is not None and algorithm.displayName() == "Find all like these"
    assert algorithm.shortHelpString()
    names = [p.name() for p in algorithm.parameterDefinitions()]
    assert names == ["INPUT", "EXAMPLES", "PHRASE", "EXTENT", "MODEL", "DEVICE", "OUTPUT"]
    assert [o.name() for o in algorithm.outputDefinitions()] == ["OUTPUT", "ANSWER"]
    examples = algorithm.parameterDefinition("EXAMPLES")
    assert set(examples.dataTypes()) == {QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeVectorPoint}
    phrase = algorithm.parameterDefinition("PHRASE")
    assert phrase.flags() & phrase.FlagOptional and not phrase.defaultValue()
    assert algorithm.parameterDefinition("EXTENT").flags() & phrase.FlagOptional


def test_polygons_in_another_crs_reach_the_engine_in_the_rasters_crs(provider, engines, raster):
    import processing

    outline = disc_outline(*DISCS[0])
    layer = examples_layer("Polygon", "EPSG:4326", [outline])
    result = processing.run(
        ALGORITHM,
        {"INPUT": raster, "EXAMPLES": layer, "PHRASE": " storage  tank ", "MODEL": "like", "OUTPUT": "memory:"},
    )
    [request] = engines.requests
    assert QgsCoordinateReferenceSystem.fromWkt(request["crs_wkt"]) == QgsCoordinateReferenceSystem(UTM)
    assert request["example_phrase"] == "storage tank"
    [sent] = sent_examples(request)
    assert raster_extent().contains(sent.boundingBox())  # metres of the raster's UTM zone, not degrees
    centre = sent.centroid().asPoint()
    expected = utm_point(DISCS[0][0], DISCS[0][1])
    assert centre.distance(expected) < 0.05 and sent.area() == pytest.approx(outline.area(), rel=1e-3)

    output = result["OUTPUT"]
    assert output.crs() == QgsCoordinateReferenceSystem(UTM) and output.featureCount() == len(DISCS)
    features = list(output.getFeatures())
    assert {f["phrase"] for f in features} == {"storage tank"}
    assert {f["instruction"] for f in features} == {"Find all like these: storage tank"}
    total = sum(f["area_m2"] for f in features)
    assert result["ANSWER"] == f"2 storage tanks, {total:,.0f} m² in all."


def test_points_without_a_phrase_find_objects(provider, engines, raster):
    import processing

    clicks = [QgsGeometry.fromPointXY(utm_point(cx, cy)) for cx, cy, _ in DISCS[1:]]
    layer = examples_layer("Point", "EPSG:3857", clicks)
    result = processing.run(ALGORITHM, {"INPUT": raster, "EXAMPLES": layer, "OUTPUT": "memory:"})
    [request] = engines.requests
    [sent] = sent_examples(request)
    assert sent.asPoint().distance(utm_point(DISCS[1][0], DISCS[1][1])) < 0.05
    assert request["example_phrase"] == "object" and request["instruction"] == "Find all like these"
    features = list(result["OUTPUT"].getFeatures())
    assert len(features) == len(DISCS) and {f["phrase"] for f in features} == {"object"}
    assert {f["instruction"] for f in features} == {"Find all like these"}
    assert result["ANSWER"].startswith("2 objects, ")


def test_only_the_selected_examples_are_sent(provider, engines, raster, qgis_new_project):
    import processing

    far_away = QgsGeometry.fromPointXY(QgsPointXY(400_000, 3_600_000))  # 100 km from the raster
    layer = examples_layer("Point", UTM, [QgsGeometry.fromPointXY(utm_point(60, 50)), far_away])
    QgsProject.instance().addMapLayer(layer)
    inside = next(f.id() for f in layer.getFeatures() if raster_extent().contains(f.geometry().asPoint()))
    layer.selectByIds([inside])
    selected = QgsProcessingFeatureSourceDefinition(layer.id(), True)
    result = processing.run(ALGORITHM, {"INPUT": raster, "EXAMPLES": selected, "OUTPUT": "memory:"})
    assert result["OUTPUT"].featureCount() == len(DISCS)
    [request] = engines.requests
    [sent] = sent_examples(request)
    assert sent.asPoint().distance(utm_point(60, 50)) < 0.05
    outside = next(f.id() for f in layer.getFeatures() if f.id() != inside)
    message = refusal({"INPUT": raster, "EXAMPLES": layer})  # every feature: the far one is refused
    assert f"outside the area searched (the raster layer, or the area given): 1 of 2, feature ids {outside}." in message
    assert len(engines.requests) == 1


def test_examples_outside_the_area_are_refused_before_the_model_runs(provider, engines, raster):
    import processing

    # the left half of the raster holds the first disc only
    x0, y0 = utm_transform() * (0, 0)
    left_half = f"{x0},{x0 + 160 * 0.5},{y0 - 240 * 0.5},{y0} [{UTM}]"
    second = examples_layer("Polygon", "EPSG:4326", [disc_outline(*DISCS[1])])
    message = refusal({"INPUT": raster, "EXAMPLES": second, "EXTENT": left_half})
    assert "The example lies outside the area searched" in message and "widen the area" in message
    both = examples_layer("Polygon", "EPSG:4326", [disc_outline(*DISCS[0]), disc_outline(*DISCS[1])])
    message = refusal({"INPUT": raster, "EXAMPLES": both, "EXTENT": left_half})
    assert "outside the area searched (the raster layer, or the area given): 1 of 2, feature ids 2." in message
    assert engines.requests == []  # refused before the model ran
    first = examples_layer("Polygon", "EPSG:4326", [disc_outline(*DISCS[0])])
    result = processing.run(  # an example inside the left half: the first disc is found, the second not searched
        ALGORITHM, {"INPUT": raster, "EXAMPLES": first, "EXTENT": left_half, "OUTPUT": "memory:"}
    )
    assert result["OUTPUT"].featureCount() == 1
    [request] = engines.requests
    assert request["transform"][2] == pytest.approx(x0) and request["transform"][0] == pytest.approx(0.5)


def test_no_examples_is_a_clear_error(provider, engines, raster, qgis_new_project):
    empty = QgsVectorLayer("Polygon?crs=EPSG:4326", "empty", "memory")
    assert "No examples: the examples layer has no polygon or point" in refusal({"INPUT": raster, "EXAMPLES": empty})
    nothing_selected = examples_layer("Point", UTM, [QgsGeometry.fromPointXY(utm_point(60, 50))])
    QgsProject.instance().addMapLayer(nothing_selected)
    selected = QgsProcessingFeatureSourceDefinition(nothing_selected.id(), True)
    assert "No examples" in refusal({"INPUT": raster, "EXAMPLES": selected})
    assert engines.requests == []


def test_a_model_taking_text_prompts_only_is_named_in_the_error(provider, engines, model, raster):
    model["double"] = TextOnlyDouble()
    layer = examples_layer("Point", UTM, [QgsGeometry.fromPointXY(utm_point(60, 50))])
    message = refusal({"INPUT": raster, "EXAMPLES": layer, "MODEL": "text-only"})
    assert "The model “text-only” takes text prompts only: it cannot find objects like examples." in message
