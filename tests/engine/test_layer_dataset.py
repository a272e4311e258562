"""Training sets from a user's raster and polygon layer: masks, chips, CRS handling, bad input, reading back."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.features import rasterize
from shapely import affinity
from shapely.geometry import Point, box

from engine import cli
from engine.data.layer_dataset import build_dataset, dataset_classes, read_dataset, read_samples
from engine.data.sample import DataFormatError, seg_phrases
from engine.data.templates import CLASS_BY_NAME, object_class, regular_plural
from engine.geo.tiles import spans
from engine.train.config import parse_recipe
from engine.train.data import DataConfig, DataConfigError, SampleStream

from .test_geo_helpers import UTM, WGS84, utm_transform, write_raster

RES = 0.5
# (class, polygon in raster pixel coordinates: x = column, y = row)
LABELS = [
    ("storage tank", Point(40, 40).buffer(12, quad_segs=16)),
    ("storage tank", Point(150, 60).buffer(9, quad_segs=16)),
    ("storage tank", Point(60, 150).buffer(15, quad_segs=16)),
    ("solar panel", box(120, 130, 170, 150)),
    ("solar panel", box(20, 90, 45, 100)),
]


def _image(height: int = 200, width: int = 200) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(20, 230, size=(3, height, width), dtype=np.uint8)


def _to_world(geom: shapely.Geometry, transform: Affine) -> shapely.Geometry:
    return affinity.affine_transform(
        geom, [transform.a, transform.b, transform.d, transform.e, transform.c, transform.f]
    )


def write_vector(path: Path, geoms, values=None, *, field="kind", crs=UTM, geometry_type="Polygon") -> Path:
    if values is not None and not isinstance(values, np.ndarray):
        values = np.asarray(values, dtype=object)  # text
    fields, data = ([field], [values]) if values is not None else ([], [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pyogrio's note on layers written without a CRS, on purpose
        pyogrio.raw.write(
            str(path),
            np.array([shapely.to_wkb(g) for g in geoms], dtype=object),
            data,
            fields,
            driver="GPKG",
            geometry_type=geometry_type,
            crs=crs,
        )
    return path


@pytest.fixture
def layers(tmp_path):
    raster = write_raster(tmp_path / "scene.tif", _image(), transform=utm_transform(RES))
    world = [_to_world(g, utm_transform(RES)) for _, g in LABELS]
    vector = write_vector(tmp_path / "labels.gpkg", world, [c for c, _ in LABELS])
    return raster, vector


def expected_masks(window, class_name: str) -> list[np.ndarray]:
    """The test's own rasterization of the labels a chip keeps (at least half of the polygon inside it)."""
    col, row, width, height = window
    cell = box(col, row, col + width, row + height)
    masks = []
    for name, geom in LABELS:
        if name == class_name and geom.intersection(cell).area >= 0.5 * geom.area:
            mask = rasterize([(geom, 1)], out_shape=(height, width), transform=Affine.translation(col, row)) > 0
            masks.append(mask)
    return masks


def test_masks_lie_under_the_phrases_that_name_them(layers, tmp_path):
    report = build_dataset(*layers, tmp_path / "out", class_field="kind", chip=128, overlap=32)
    assert report.chips > 0 and report.instances["storage tank"] >= 3 and report.instances["solar panel"] >= 2
    windows = {}
    for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines():
        windows.setdefault(json.loads(line)["chip"], None)
    for chip_id in windows:
        windows[chip_id] = json.loads((tmp_path / "out" / "chips" / f"{chip_id}.json").read_text())["window"]
    samples = read_samples(tmp_path / "out")
    assert {s.task for s in samples} == {"segment_all", "referring", "gcg"}
    checked = 0
    for sample in samples:
        window = windows[sample.sample_id.split(":")[0]]
        phrases = seg_phrases(sample.answer) if sample.task != "referring" else [None] * len(sample.masks)
        for phrase, mask, class_name in zip(phrases, sample.masks, sample.classes):
            cls = object_class(class_name)
            wanted = expected_masks(window, class_name)
            if phrase is not None:
                assert cls.name in phrase or cls.plural in phrase, (phrase, class_name)
            if sample.task == "referring":
                assert (
                    class_name in sample.instruction
                    or cls.plural in sample.instruction
                    or any(word in sample.instruction for word in cls.all_singulars)
                )
                assert any(np.array_equal(mask, w) for w in wanted)
            else:
                assert np.array_equal(mask, np.logical_or.reduce([np.zeros_like(mask), *wanted]))
            checked += 1
    assert checked > 10


def test_chips_with_overlap_cover_the_raster(tmp_path):
    transform = utm_transform(RES)
    grid = [box(x, y, x + 8, y + 8) for x in range(4, 300, 24) for y in range(4, 250, 24)]
    raster = write_raster(tmp_path / "big.tif", _image(250, 300), transform=transform)
    vector = write_vector(tmp_path / "grid.gpkg", [_to_world(g, transform) for g in grid])
    build_dataset(raster, vector, tmp_path / "out", class_name="vehicle", chip=128, overlap=32)
    covered = np.zeros((250, 300), dtype=int)
    for scene in read_dataset(tmp_path / "out"):
        col, row = _origin(scene.name)
        assert scene.image.shape == (128, 128, 3)
        covered[row : row + 128, col : col + 128] += 1
    assert covered.min() >= 1 and covered.max() >= 2
    assert spans(300, 128, 32) == [(0, 128), (96, 128), (172, 128)]
    assert spans(50, 128, 32) == [(0, 50)]


def _origin(chip_id: str) -> tuple[int, int]:
    row, col = chip_id.rsplit("_r", 1)[1].split("_c")
    return int(col), int(row)


def test_polygons_in_wgs84_land_on_the_same_pixels_of_a_utm_raster(layers, tmp_path):
    raster, vector = layers
    to_wgs = Transformer.from_crs(UTM, WGS84, always_xy=True)
    world = [_to_world(g, utm_transform(RES)) for _, g in LABELS]
    wgs = [shapely.transform(g, lambda xy: np.column_stack(to_wgs.transform(xy[:, 0], xy[:, 1]))) for g in world]
    wgs_vector = write_vector(tmp_path / "wgs.gpkg", wgs, [c for c, _ in LABELS], crs=WGS84)
    same = build_dataset(raster, vector, tmp_path / "utm", class_field="kind", chip=128, overlap=32)
    moved = build_dataset(raster, wgs_vector, tmp_path / "wgs", class_field="kind", chip=128, overlap=32)
    assert moved.reprojected and not same.reprojected
    a, b = read_dataset(tmp_path / "utm"), read_dataset(tmp_path / "wgs")
    assert [s.name for s in a] == [s.name for s in b]
    for x, y in zip(a, b):
        for i, j in zip(x.instances, y.instances):
            assert i.class_name == j.class_name
            assert (i.mask ^ j.mask).sum() <= 2  # a rounding hair at most, never a shift
    assert "reprojected" in (tmp_path / "wgs" / "report.txt").read_text()


def test_a_raster_without_crs_takes_polygons_in_pixel_coordinates(tmp_path):
    raster = write_raster(tmp_path / "plain.tif", _image(), crs=None)
    vector = write_vector(tmp_path / "pixels.gpkg", [g for _, g in LABELS], [c for c, _ in LABELS], crs=None)
    report = build_dataset(raster, vector, tmp_path / "out", class_field="kind", chip=200, overlap=0)
    assert report.pixel_coordinates and report.chips == 1
    (scene,) = read_dataset(tmp_path / "out")
    assert np.isnan(scene.gsd)
    for inst, (name, geom) in zip(scene.instances, LABELS):
        assert inst.class_name == name
        assert np.array_equal(inst.mask, rasterize([(geom, 1)], out_shape=(200, 200)) > 0)
    assert "pixel coordinates" in (tmp_path / "out" / "report.txt").read_text()


def test_a_class_outside_the_built_in_list(layers, tmp_path):
    assert "greenhouse" not in CLASS_BY_NAME
    report = build_dataset(*layers, tmp_path / "out", class_name="greenhouse", chip=128, overlap=32)
    assert list(report.instances) == ["greenhouse"]
    text = (tmp_path / "out" / "samples.jsonl").read_text()
    assert "greenhouses" in text
    assert dataset_classes(tmp_path / "out") == ["greenhouse"]
    assert all(s.absent_classes == () for s in read_dataset(tmp_path / "out"))
    assert [regular_plural(w) for w in ("bus shelter", "quarry", "ditch", "box", "bay")] == [
        "bus shelters",
        "quarries",
        "ditches",
        "boxes",
        "bays",
    ]
    assert object_class("ship") is CLASS_BY_NAME["ship"]


def test_absent_classes_are_only_the_dataset_s_own(layers, tmp_path):
    build_dataset(*layers, tmp_path / "out", class_field="kind", chip=96, overlap=0)
    scenes = read_dataset(tmp_path / "out")
    for scene in scenes:
        assert set(scene.absent_classes) == {"storage tank", "solar panel"} - set(scene.classes)
        assert scene.absent(list(CLASS_BY_NAME)) in ([], ["storage tank"])  # never "no ships here"
    assert any(scene.absent_classes for scene in scenes)


def test_overlaps_edges_and_nodata_are_reported(tmp_path):
    transform = utm_transform(RES)
    image = _image(128, 256)
    image[:, :, 128:] = 0
    raster = write_raster(tmp_path / "half.tif", image, transform=transform, nodata=0)
    geoms = [
        box(10, 10, 40, 40),
        box(30, 30, 60, 60),  # overlaps the first
        box(100, 80, 140, 100),  # 70 % in the left chip, 30 % in the right one
        box(180, 40, 220, 80),  # all in the nodata half
        box(5, 100, 25, 120),
    ]
    vector = write_vector(tmp_path / "v.gpkg", [_to_world(g, transform) for g in geoms], ["a", "a", "b", "b", "c"])
    report = build_dataset(raster, vector, tmp_path / "out", class_field="kind", chip=128, overlap=0)
    assert report.overlapping_pairs == 1
    assert report.dropped_at_edges == 1
    assert report.rejected_chips == {"no instance": 0, "all nodata": 1}
    assert any("'c' has a single polygon" in w for w in report.warnings)
    (scene,) = read_dataset(tmp_path / "out")
    first, second = scene.instances[:2]
    assert (first.mask & second.mask).any() and first.area == second.area == 900
    assert [i.class_name for i in scene.instances] == ["a", "a", "b", "c"]
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["overlapping_pairs"] == 1 and saved["instances"] == {"a": 2, "b": 1, "c": 1}
    assert (tmp_path / "out" / "contact_sheet.png").stat().st_size > 0


def _bad(tmp_path, raster, vector, **kwargs):
    kwargs.setdefault("class_field", "kind")
    with pytest.raises(DataFormatError) as caught:
        build_dataset(raster, vector, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a temporary folder was left"
    return str(caught.value)


def test_bad_input_is_refused_with_nothing_written(layers, tmp_path):
    raster, vector = layers
    world = [_to_world(g, utm_transform(RES)) for _, g in LABELS]
    assert "no field 'class'" in _bad(tmp_path, raster, vector, class_field="class")
    assert "exactly one" in _bad(tmp_path, raster, vector, class_name="x")
    assert "exactly one" in _bad(tmp_path, raster, vector, class_field=None)
    numbers = write_vector(tmp_path / "n.gpkg", world, np.arange(5, dtype=np.int32))
    assert "must hold text" in _bad(tmp_path, raster, numbers)
    blank = write_vector(tmp_path / "b.gpkg", world, ["tank", "", "tank", None, "panel"])
    assert "is empty for 2 polygon(s)" in _bad(tmp_path, raster, blank)
    empty = write_vector(tmp_path / "e.gpkg", [], [])
    assert "no features" in _bad(tmp_path, raster, empty)
    far = write_vector(tmp_path / "f.gpkg", [affinity.translate(g, 1e5) for g in world], ["t"] * 5)
    assert "no polygon lies inside" in _bad(tmp_path, raster, far)
    points = write_vector(tmp_path / "p.gpkg", [g.centroid for g in world], ["t"] * 5, geometry_type="Point")
    assert "must hold polygons" in _bad(tmp_path, raster, points)
    x, y = world[0].centroid.x, world[0].centroid.y
    open_ring = {"type": "Polygon", "coordinates": [[[x, y], [x + 5, y], [x + 5, y + 5], [x, y + 5]]]}  # not closed
    unclosed = tmp_path / "u.geojson"
    feature = {"type": "Feature", "properties": {"kind": "tank"}, "geometry": open_ring}
    unclosed.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    assert "unreadable geometry" in _bad(tmp_path, raster, unclosed)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(DataFormatError, match="already exists"):
        build_dataset(raster, vector, tmp_path / "out", class_field="kind")
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_a_failure_after_chips_were_written_leaves_nothing(layers, tmp_path, monkeypatch):
    import engine.data.layer_dataset as module

    def broken(*args, **kwargs):
        raise DataFormatError("contact sheet failed")

    monkeypatch.setattr(module, "contact_sheet", broken)
    assert "contact sheet failed" in _bad(tmp_path, *layers)


def test_read_dataset_round_trips_the_chips(layers, tmp_path):
    report = build_dataset(*layers, tmp_path / "out", class_field="kind", chip=128, overlap=32)
    scenes = read_dataset(tmp_path / "out")
    assert len(scenes) == report.chips
    assert sum(len(s.instances) for s in scenes) == sum(report.instances.values())
    for scene in scenes:
        record = json.loads((tmp_path / "out" / "chips" / f"{scene.name}.json").read_text())
        assert scene.image.dtype == np.uint8 and scene.image.shape == (128, 128, 3)
        assert scene.gsd == pytest.approx(RES)
        assert [i.area for i in scene.instances] == [i["pixels"] for i in record["instances"]]
        col, row, width, height = record["window"]
        for inst in scene.instances:
            assert any(np.array_equal(inst.mask, m) for m in expected_masks(record["window"], inst.class_name))
    with pytest.raises(DataFormatError, match="dataset.json"):
        read_dataset(tmp_path)


@pytest.mark.parametrize("sampling", ["tiles", "windows"])
def test_the_training_data_config_draws_chips_from_a_built_folder(layers, tmp_path, sampling):
    build_dataset(*layers, tmp_path / "own", class_field="kind", chip=128, overlap=32)
    recipe = parse_recipe(
        {
            "name": "own",
            "preset": "tiny",
            "data": {
                "real_fraction": 1.0,
                "dataset_dirs": [str(tmp_path / "own")],
                "real_tile": 64,
                "real_sampling": sampling,
                "task": "segment_all",
                "segment_all_classes": ["solar panel"],
            },
            "stages": [{"name": "s", "steps": 1, "lr": 1e-4, "trainable": ["llm"]}],
        }
    )
    samples = SampleStream(recipe.data).take(0, 8)
    assert samples and all(s.image.shape == (64, 64, 3) for s in samples)
    assert all(s.sample_id.startswith("scene_r") and s.classes == ["solar panel"] for s in samples)
    assert all("solar panel" in s.answer for s in samples)
    mixed = SampleStream(DataConfig(real_fraction=1.0, dataset_dirs=[str(tmp_path / "own")], real_tile=64))
    assert {c for s in mixed.take(0, 12) for c in s.classes} <= {"storage tank", "solar panel"}
    with pytest.raises(DataConfigError, match="dataset.json"):
        DataConfig(real_fraction=1.0, dataset_dirs=[str(tmp_path)])
    with pytest.raises(DataConfigError, match="real_fraction"):
        DataConfig(dataset_dirs=[str(tmp_path / "own")])


def test_the_cli_builds_a_folder_and_reports_user_errors(layers, tmp_path, capsys):
    raster, vector = layers
    out = tmp_path / "cli"
    code = cli.main(["dataset", str(raster), str(vector), "-o", str(out), "--class-field", "kind", "--chip", "128"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "instances from 3 polygons" in printed and "chips in" in printed
    for name in ("dataset.json", "samples.jsonl", "report.json", "report.txt", "contact_sheet.png"):
        assert (out / name).is_file()
    assert list((out / "chips").glob("*.png")) and list((out / "chips").glob("*.json"))
    code = cli.main(["dataset", str(raster), str(vector), "-o", str(tmp_path / "x"), "--class-field", "nope"])
    assert code == 2
    assert capsys.readouterr().err.startswith("error: the layer has no field 'nope'")
    assert not (tmp_path / "x").exists()
    bounds = [500_000, 3_700_000 - 50, 500_050, 3_700_000]  # the top-left 100 x 100 pixels
    args = ["--class", "thing", "--chip", "64", "--overlap", "0", "--area", *map(str, bounds)]
    assert cli.main(["dataset", str(raster), str(vector), "-o", str(tmp_path / "a"), *args]) == 0
    windows = [json.loads(p.read_text())["window"] for p in (tmp_path / "a" / "chips").glob("*.json")]
    assert windows and all(c + w <= 100 and r + h <= 100 for c, r, w, h in windows)


def test_polygons_that_do_not_reproject_get_a_clear_message(tmp_path):
    """UTM coordinates in a layer that says WGS 84 (a GeoJSON without a crs member): no traceback, one message."""
    raster = write_raster(tmp_path / "scene.tif", _image(), transform=utm_transform(RES))
    world = [_to_world(g, utm_transform(RES)) for _, g in LABELS]
    vector = write_vector(tmp_path / "labels.gpkg", world, [c for c, _ in LABELS], crs=WGS84)
    with pytest.raises(DataFormatError, match="do not reproject"):
        build_dataset(raster, vector, tmp_path / "set", class_field="kind")
    assert not (tmp_path / "set").exists()
