"""Result polygons and the conversation go to a GeoPackage through QGIS's writer and come back intact."""

from __future__ import annotations

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsVectorLayer
from shapely.geometry import Polygon, box

UTM = QgsCoordinateReferenceSystem("EPSG:32633").toWkt()


def rows():
    square = box(500000, 4100000, 500010, 4100010)
    with_hole = Polygon(
        [(500020, 4100000), (500040, 4100000), (500040, 4100020), (500020, 4100020)],
        [[(500025, 4100005), (500030, 4100005), (500030, 4100010), (500025, 4100010)]],
    )
    common = {"instruction": "segment all tanks", "model": "tiny", "created": "2026-01-01T00:00:00Z"}
    return [
        (square.wkb, {"phrase": "storage tank", "class": "storage tank", "score": 0.9, "area_m2": 100.0, **common}),
        (with_hole.wkb, {"phrase": "building", "class": "building", "score": 0.5, "area_m2": 375.0, **common}),
    ]


def test_polygons_round_trip_with_style(tmp_path, qgis_app):
    from geoground.plugin.result_layers import write_polygons

    layer = write_polygons(tmp_path / "out" / "results.gpkg", "segment_all_tanks", UTM, rows())
    assert layer.isValid() and layer.featureCount() == 2
    assert layer.crs().authid() == "EPSG:32633"
    features = {f["phrase"]: f for f in layer.getFeatures()}
    assert features["storage tank"].geometry().area() == pytest.approx(100.0)
    assert features["building"].geometry().area() == pytest.approx(375.0)  # the hole is kept
    assert features["building"]["score"] == pytest.approx(0.5)
    categories = {c.value() for c in layer.renderer().categories()}
    assert categories == {"storage tank", "building"}


def test_layers_and_conversation_share_one_geopackage(tmp_path, qgis_app):
    from geoground.plugin.result_layers import read_conversation, write_conversation, write_polygons

    gpkg = tmp_path / "results.gpkg"
    write_polygons(gpkg, "first", UTM, rows()[:1])
    write_polygons(gpkg, "second", UTM, rows())
    turns = [
        {"turn": 1, "role": "user", "text": "Segment all tanks", "layer": "first", "created": "t1"},
        {"turn": 0, "role": "user", "text": "hello", "layer": "", "created": "t0"},
    ]
    write_conversation(gpkg, turns)
    assert QgsVectorLayer(f"{gpkg}|layername=first", "f", "ogr").featureCount() == 1
    assert QgsVectorLayer(f"{gpkg}|layername=second", "s", "ogr").featureCount() == 2
    back = read_conversation(gpkg)
    assert [t["text"] for t in back] == ["hello", "Segment all tanks"]


def test_unwritable_destination_is_a_clear_error(tmp_path, qgis_app):
    from geoground.plugin.result_layers import ResultWriteError, write_polygons

    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ResultWriteError, match="Cannot create the folder"):
        write_polygons(tmp_path / "a_file" / "r.gpkg", "x", UTM, rows())


def test_a_file_that_is_not_a_geopackage_is_a_clear_error(tmp_path, qgis_app):
    from geoground.plugin.result_layers import ResultWriteError, write_polygons

    bogus = tmp_path / "bogus.gpkg"
    bogus.write_text("this is not a database")
    with pytest.raises(ResultWriteError):
        write_polygons(bogus, "x", UTM, rows())
    assert bogus.read_text() == "this is not a database"
