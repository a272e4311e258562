"""Processing "Build training set" through processing.run: polygons from a QGIS layer in another CRS land on their
objects in the chips, and bad parameters are refused with a message."""

from __future__ import annotations

import json
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
    QgsProcessingException,
    QgsProject,
    QgsVectorLayer,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from test_geo_helpers import UTM, disc_image, utm_transform, write_raster  # noqa: E402

DISCS = [(60, 50, 20), (200, 140, 30), (260, 120, 18)]  # (x, y, radius) in pixels on a 0.5 m UTM grid


@pytest.fixture
def provider(qgis_processing, monkeypatch):
    from geoground.plugin import segmentation
    from geoground.plugin.processing.provider import GeoGroundProvider

    monkeypatch.setattr(segmentation, "ENGINES", segmentation.InProcessEngines(lambda *args: None))
    registry = QgsApplication.processingRegistry()
    if registry.providerById("geoground") is None:
        registry.addProvider(GeoGroundProvider())
    yield registry.providerById("geoground")
    registry.removeProvider("geoground")


def examples_in_wgs84(kinds: list[str]) -> QgsVectorLayer:
    """The discs as polygons in EPSG:4326, with a class field: the raster is in UTM, so QGIS must reproject them."""
    layer = QgsVectorLayer("Polygon?crs=EPSG:4326&field=kind:string", "examples", "memory")
    to_wgs84 = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem(UTM), QgsCoordinateReferenceSystem("EPSG:4326"), QgsProject.instance()
    )
    transform = utm_transform(0.5)
    features = []
    for (cx, cy, radius), kind in zip(DISCS, kinds, strict=True):
        ring = []
        for angle in np.linspace(0, 2 * np.pi, 48, endpoint=False):
            x, y = transform * (cx + radius * np.cos(angle), cy + radius * np.sin(angle))
            ring.append(to_wgs84.transform(QgsPointXY(x, y)))
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPolygonXY([ring]))
        feature.setAttribute("kind", kind)
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def test_build_training_set_from_a_layer_in_another_crs(provider, tmp_path):
    import processing

    from geoground.engine.data.layer_dataset import read_dataset

    raster = write_raster(tmp_path / "discs.tif", disc_image(240, 320, DISCS), transform=utm_transform(0.5))
    layer = examples_in_wgs84(["tank", "tank", "pond"])
    out = tmp_path / "training"
    result = processing.run(
        "geoground:buildtrainingset",
        {
            "INPUT": str(raster),
            "POLYGONS": layer,
            "CLASS_FIELD": "kind",
            "CHIP": 128,
            "OVERLAP": 16,
            "OUTPUT": str(out),
        },
    )
    assert result["OUTPUT"] == str(out) and "chips in" in result["REPORT"]
    report = json.loads((out / "report.json").read_text())
    assert report["polygons"] == {"tank": 2, "pond": 1} and report["polygons_outside"] == 0
    assert (out / "contact_sheet.png").is_file() and (out / "samples.jsonl").stat().st_size > 0
    scenes = read_dataset(out)
    masks = [instance.mask for scene in scenes for instance in scene.instances]
    assert scenes and masks and {i.class_name for s in scenes for i in s.instances} == {"tank", "pond"}
    for scene in scenes:  # reprojected by QGIS onto the right pixels: every mask lies on its bright disc
        for instance in scene.instances:
            assert scene.image[instance.mask].mean() > 200, scene.name


def test_bad_parameters_are_refused_with_a_message(provider, tmp_path):
    import processing

    raster = write_raster(tmp_path / "discs.tif", disc_image(240, 320, DISCS), transform=utm_transform(0.5))
    layer = examples_in_wgs84(["tank", "tank", "pond"])
    base = {"INPUT": str(raster), "POLYGONS": layer, "CHIP": 128, "OVERLAP": 16}
    with pytest.raises(QgsProcessingException, match="class field or a class name"):
        processing.run("geoground:buildtrainingset", base | {"OUTPUT": str(tmp_path / "a")})
    empty = QgsVectorLayer("Polygon?crs=EPSG:4326&field=kind:string", "empty", "memory")
    with pytest.raises(QgsProcessingException, match="no features"):
        processing.run(
            "geoground:buildtrainingset",
            base | {"POLYGONS": empty, "CLASS_NAME": "tank", "OUTPUT": str(tmp_path / "b")},
        )
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").iterdir())
