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


def test_measures_are_rounded_in_the_rows_written(tmp_path, qgis_app):
    from geoground.plugin.result_layers import write_polygons

    square, attributes = rows()[0]
    unrounded = {**attributes, "score": 0.912345678, "area_m2": 123.456789, "perimeter_m": 45.678912}
    layer = write_polygons(tmp_path / "r.gpkg", "tanks", UTM, [(square, unrounded)])
    [feature] = layer.getFeatures()
    assert (feature["score"], feature["area_m2"], feature["perimeter_m"]) == (0.912, 123.46, 45.68)


def test_result_names_are_unique_in_the_geopackage(tmp_path, qgis_app, monkeypatch):
    from datetime import datetime

    from geoground.plugin import result_layers
    from geoground.plugin.result_layers import gpkg_layer_names, result_layer_name, write_polygons

    gpkg = tmp_path / "r.gpkg"
    assert gpkg_layer_names(gpkg) == []
    # the same instruction at the same time of day, on two days
    monkeypatch.setattr(result_layers, "_now", lambda: datetime(2026, 1, 1, 9, 30, 5))
    first = result_layer_name("Segment all tanks!", gpkg_layer_names(gpkg))
    write_polygons(gpkg, first, UTM, rows()[:1])
    monkeypatch.setattr(result_layers, "_now", lambda: datetime(2026, 1, 2, 9, 30, 5))
    second = result_layer_name("Segment all tanks!", gpkg_layer_names(gpkg))
    write_polygons(gpkg, second, UTM, rows())
    assert (first, second) == ("segment_all_tanks_093005", "segment_all_tanks_093005_2")
    assert QgsVectorLayer(f"{gpkg}|layername={first}", "f", "ogr").featureCount() == 1
    assert QgsVectorLayer(f"{gpkg}|layername={second}", "s", "ogr").featureCount() == 2
    assert result_layer_name("conversation", []) != "conversation"


def test_the_writer_never_replaces_a_result(tmp_path, qgis_app):
    from geoground.plugin.result_layers import ResultWriteError, write_polygons

    gpkg = tmp_path / "r.gpkg"
    write_polygons(gpkg, "tanks", UTM, rows()[:1])
    with pytest.raises(ResultWriteError, match="not replaced"):
        write_polygons(gpkg, "TANKS", UTM, rows())  # SQLite table names ignore case
    assert QgsVectorLayer(f"{gpkg}|layername=tanks", "t", "ogr").featureCount() == 1


def test_copied_layers_never_replace_tables_and_the_turns_follow(tmp_path, qgis_app):
    from qgis.core import QgsProject

    from geoground.plugin.result_layers import copy_layers, read_conversation, write_conversation, write_polygons

    source = write_polygons(tmp_path / "a.gpkg", "tanks", UTM, rows())
    destination = tmp_path / "b.gpkg"
    write_polygons(destination, "tanks", UTM, rows()[:1])  # an earlier result of the same name
    turns = [{"turn": 0, "role": "assistant", "text": "Two.", "layer": "tanks", "created": "t"}]
    tables, moved = copy_layers([source], destination, turns, QgsProject.instance().transformContext())
    assert tables == {source.id(): "tanks_2"} and moved[0]["layer"] == "tanks_2" and turns[0]["layer"] == "tanks"
    write_conversation(destination, moved)
    assert QgsVectorLayer(f"{destination}|layername=tanks", "t", "ogr").featureCount() == 1
    assert QgsVectorLayer(f"{destination}|layername=tanks_2", "t", "ogr").featureCount() == 2
    assert read_conversation(destination)[0]["layer"] == "tanks_2"
