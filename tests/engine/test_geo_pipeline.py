"""GeoTIFF -> segment_raster -> GeoPackage -> read back, with the threshold double standing in for the model."""

from __future__ import annotations

import math
import os
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from pyproj import CRS
from rasterio.windows import Window

from engine.geo import EngineError, NoCRSWarning, OutputError, RasterError, SegmentationCancelled, write_result
from engine.geo.pipeline import segment_raster
from engine.types import Reply, Segment

sys.path.insert(0, str(Path(__file__).parent))
from test_geo_helpers import (  # noqa: E402
    UTM,
    WGS84,
    ThresholdDouble,
    disc_image,
    iou,
    utm_transform,
    wgs84_transform,
    world_disc,
    write_raster,
)

DISCS = [(60, 50, 25), (200, 140, 40), (330, 60, 18)]
COLUMNS = ["phrase", "class", "score", "area_m2", "perimeter_m", "instruction", "model", "created"]


def _read_layer(path, layer):
    meta, _, geometry, fields = pyogrio.raw.read(path, layer=layer)
    polygons = shapely.from_wkb(geometry)
    return meta, list(polygons), dict(zip(meta["fields"], fields))


def _match(polygons, transform, discs):
    """For each disc, the best IoU of any polygon with the analytic disc."""
    return [max(iou(p, world_disc(transform, *d)) for p in polygons) for d in discs]


@pytest.fixture
def utm_tif(tmp_path):
    return write_raster(tmp_path / "utm.tif", disc_image(200, 400, DISCS), transform=utm_transform(0.5))


def test_utm_geotiff_to_geopackage_round_trip(utm_tif, tmp_path):
    result = segment_raster(utm_tif, "segment all discs", ThresholdDouble())
    out = tmp_path / "out.gpkg"
    layer = write_result(result, out)
    meta, polygons, fields = _read_layer(out, layer)
    assert CRS.from_user_input(meta["crs"]) == CRS.from_user_input(UTM)
    assert list(meta["fields"]) == COLUMNS
    assert len(polygons) == 3 and all(p.is_valid for p in polygons)
    assert min(_match(polygons, utm_transform(0.5), DISCS)) > 0.95
    expected = sorted(math.pi * r * r * 0.25 for _, _, r in DISCS)  # 0.5 m pixels
    np.testing.assert_allclose(sorted(fields["area_m2"]), expected, rtol=0.03)
    np.testing.assert_allclose(
        sorted(fields["perimeter_m"]), sorted(2 * math.pi * r * 0.5 for *_, r in DISCS), rtol=0.1
    )
    assert set(fields["phrase"]) == {"disc"} and set(fields["instruction"]) == {"segment all discs"}
    assert set(fields["model"]) == {"threshold-double"} and fields["created"][0].endswith("Z")
    _, _, _, turns = pyogrio.raw.read(out, layer="conversation")
    assert list(turns[1]) == ["user", "assistant"] and turns[2][0] == "segment all discs"


def test_geographic_raster_gets_geodesic_areas(tmp_path):
    transform = wgs84_transform(5e-6)  # about 0.46 m x 0.56 m at 33.75 N
    path = write_raster(tmp_path / "wgs84.tif", disc_image(200, 400, DISCS), crs=WGS84, transform=transform)
    result = segment_raster(path, "discs", ThresholdDouble())
    out = tmp_path / "geo.gpkg"
    layer = write_result(result, out)
    meta, polygons, fields = _read_layer(out, layer)
    assert CRS.from_user_input(meta["crs"]) == CRS.from_user_input(WGS84)
    assert min(_match(polygons, transform, DISCS)) > 0.95
    lat = math.radians(33.75)
    metres_x = 5e-6 * 111_320 * math.cos(lat)  # about 0.463 m per pixel east-west
    metres_y = 5e-6 * 110_950  # about 0.555 m north-south
    expected = sorted(math.pi * r * r * metres_x * metres_y for *_, r in DISCS)
    np.testing.assert_allclose(sorted(fields["area_m2"]), expected, rtol=0.05)  # pixelated small discs


def test_window_and_bbox_limit_the_area(utm_tif):
    in_window = segment_raster(utm_tif, "discs", ThresholdDouble(), window=(150, 90, 120, 100))
    assert len(in_window.features) == 1 and in_window.region == (150, 90, 120, 100)
    x0, y1 = utm_transform(0.5) @ (0, 0)
    x1, y0 = utm_transform(0.5) @ (120, 100)
    in_bbox = segment_raster(utm_tif, "discs", ThresholdDouble(), bbox=(x0, y0, x1, y1))
    (feature,) = in_bbox.features  # only the first disc lies in the bbox
    assert feature.area_m2 == pytest.approx(math.pi * 25 * 25 * 0.25, rel=0.03)


def test_single_view_is_decimated_to_max_size(utm_tif):
    double = ThresholdDouble()
    result = segment_raster(utm_tif, "discs", double, max_size=100)
    assert double.shapes == [(50, 100, 3)]
    assert result.pixel_size == pytest.approx(2.0)
    assert min(_match([f.geometry for f in result.features], utm_transform(0.5), DISCS)) > 0.8


def test_whole_mode_merges_objects_cut_by_tiles(tmp_path):
    discs = [(100, 100, 45), (70, 30, 10), (250, 250, 30), (300, 60, 9)]  # on borders, in overlaps, at a corner
    path = write_raster(tmp_path / "t.tif", disc_image(320, 360, discs))
    double = ThresholdDouble()
    result = segment_raster(path, "discs", double, whole=True, tile_size=96, overlap=24)
    assert result.tiles > 9 and len(double.shapes) == result.tiles
    assert all(shape[:2] == (96, 96) for shape in double.shapes)
    geometries = [f.geometry for f in result.features]
    assert len(geometries) == len(discs)
    total = sum(f.area_m2 for f in result.features)
    assert result.reply_text == f"4 discs, {total:,.0f} m² in all."  # counted from the polygons, no tile jargon
    assert all(g.geom_type == "Polygon" and not g.interiors for g in geometries)  # no seams, no slivers
    assert min(_match(geometries, utm_transform(0.5), discs)) > 0.9  # small discs are coarse
    # unsimplified, the merged tiles give exactly the polygons of a single untiled view
    exact = segment_raster(path, "discs", ThresholdDouble(), whole=True, tile_size=96, overlap=24, simplify_px=0)
    untiled = segment_raster(path, "discs", ThresholdDouble(), simplify_px=0)
    assert len(exact.features) == len(untiled.features) == len(discs)
    for tiled_feature, view_feature in zip(exact.features, untiled.features):
        assert tiled_feature.geometry.symmetric_difference(view_feature.geometry).area < 1e-6


class BatchingDouble(ThresholdDouble):
    """The threshold double with ``chat_batch``: records the size of every batch it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def chat_batch(self, images, question, *, batch_size, should_stop=None):
        assert len(images) <= batch_size
        self.batches.append(len(images))
        return [self.chat(image, question) for image in images]


def test_whole_mode_decodes_tiles_in_batches_with_the_same_result(tmp_path):
    discs = [(100, 100, 45), (70, 30, 10), (250, 250, 30)]
    path = write_raster(tmp_path / "t.tif", disc_image(320, 360, discs))
    single = segment_raster(path, "discs", ThresholdDouble(), whole=True, tile_size=96, overlap=24, batch_size=1)
    double, progress = BatchingDouble(), []
    batched = segment_raster(
        path,
        "discs",
        double,
        whole=True,
        tile_size=96,
        overlap=24,
        batch_size=5,
        on_progress=lambda *a: progress.append(a),
    )
    assert sum(double.batches) == batched.tiles == single.tiles
    assert max(double.batches) == 5 and len(double.batches) == math.ceil(batched.tiles / 5)
    assert [done for done, _ in progress] == list(range(0, batched.tiles + 1))  # 0 first, then per tile
    assert [f.phrase for f in batched.features] == [f.phrase for f in single.features]
    for a, b in zip(batched.features, single.features, strict=True):
        assert a.geometry.equals(b.geometry)
    with pytest.raises(ValueError, match="batch_size"):
        segment_raster(path, "discs", double, whole=True, batch_size=0)

    class CancelsInside(BatchingDouble):
        """Decodes until the caller's should_stop says so, as Engine.chat_batch does between tokens."""

        def chat_batch(self, images, question, *, batch_size, should_stop=None):
            from engine.types import Cancelled

            if should_stop is not None and should_stop():
                raise Cancelled("stopped by the user")
            return super().chat_batch(images, question, batch_size=batch_size)

    checks = []

    def stop_on_second_check():  # the first check is the pipeline's, before the batch; the second the model's
        checks.append(True)
        return len(checks) >= 2

    with pytest.raises(SegmentationCancelled, match="stopped by the user"):  # inside the batch, not after it
        segment_raster(
            path, "discs", CancelsInside(), whole=True, tile_size=96, overlap=24, should_stop=stop_on_second_check
        )
    assert len(checks) == 2

    class AnswersTooFew(BatchingDouble):
        def chat_batch(self, images, question, *, batch_size, should_stop=None):
            return super().chat_batch(images, question, batch_size=batch_size)[:-1]

    with pytest.raises(EngineError, match="answered"):
        segment_raster(path, "discs", AnswersTooFew(), whole=True, tile_size=96, overlap=24)


def test_holes_are_kept(tmp_path):
    image = disc_image(120, 120, [(60, 60, 40)])
    hole = disc_image(120, 120, [(60, 60, 15)])[0] > 100
    image[:, hole] = 30
    path = write_raster(tmp_path / "ring.tif", image)
    result = segment_raster(path, "rings", ThresholdDouble(), whole=True, tile_size=64, overlap=16)
    (feature,) = result.features
    assert len(feature.geometry.interiors) == 1
    assert feature.area_m2 == pytest.approx(math.pi * (40**2 - 15**2) * 0.25, rel=0.03)


def test_raster_without_crs_gives_pixel_coordinates(tmp_path):
    path = write_raster(tmp_path / "plain.tif", disc_image(100, 100, [(50, 40, 20)]), crs=None, transform=None)
    with pytest.warns(NoCRSWarning):
        result = segment_raster(path, "discs", ThresholdDouble())
    (feature,) = result.features
    assert result.crs_wkt is None and math.isnan(feature.area_m2)
    assert feature.geometry.centroid.coords[0] == pytest.approx((50, 40), abs=0.5)  # y grows downwards
    out = tmp_path / "plain.gpkg"
    layer = write_result(result, out)
    meta, polygons, _ = _read_layer(out, layer)
    assert meta["crs"] is None and polygons[0].equals(feature.geometry)


def test_raster_without_objects_writes_an_empty_readable_layer(utm_tif, tmp_path):
    path = write_raster(tmp_path / "empty.tif", disc_image(50, 50, []))
    result = segment_raster(path, "discs", ThresholdDouble())
    layer = write_result(result, tmp_path / "empty.gpkg")
    meta, polygons, _ = _read_layer(tmp_path / "empty.gpkg", layer)
    assert polygons == [] and list(meta["fields"]) == COLUMNS


def test_all_nodata_raster_is_a_clear_error(tmp_path):
    path = write_raster(tmp_path / "void.tif", np.zeros((1, 40, 40), dtype=np.uint16), nodata=0)
    for whole in (False, True):
        with pytest.raises(RasterError, match="no valid pixels"):
            segment_raster(path, "discs", ThresholdDouble(), whole=whole, tile_size=32, overlap=8)


def test_one_band_uint16_is_stretched_and_nodata_never_segmented(tmp_path):
    image = disc_image(100, 200, [(50, 50, 20), (150, 50, 20)], bands=1, dtype="uint16", low=300, high=1800)
    image[0, :, 150:] = 0  # nodata covers half of the second disc
    path = write_raster(tmp_path / "pan.tif", image, nodata=0)
    double = ThresholdDouble()
    result = segment_raster(path, "discs", double, whole=True, tile_size=64, overlap=16)
    assert len(result.features) == 2
    right = max(result.features, key=lambda f: f.geometry.centroid.x)
    left = min(result.features, key=lambda f: f.geometry.centroid.x)
    assert right.area_m2 == pytest.approx(left.area_m2 / 2, rel=0.05)
    assert right.geometry.bounds[2] <= (utm_transform(0.5) @ (150, 0))[0] + 1e-6


def test_twelve_bands_use_true_colour_bands(tmp_path):
    image = np.full((12, 80, 80), 500, dtype=np.uint16)
    bright = disc_image(80, 80, [(40, 40, 15)], bands=1)[0] > 100
    image[1:4, bright] = 3000  # bright in B2-B4 (blue, green, red) only
    image[7, ~bright] = 4000  # bright everywhere else in B8 (NIR): must not be shown
    path = write_raster(tmp_path / "s2.tif", image)
    (feature,) = segment_raster(path, "discs", ThresholdDouble()).features
    assert feature.area_m2 == pytest.approx(math.pi * 15 * 15 * 0.25, rel=0.05)
    nir = segment_raster(path, "discs", ThresholdDouble(), bands=[8]).features
    assert len(nir) == 1 and nir[0].area_m2 > 1000


def test_four_bands_with_nodata(tmp_path):
    image = disc_image(60, 60, [(30, 30, 12)], bands=4, dtype="uint16", low=200, high=2000)
    image[:, :, :10] = 0
    path = write_raster(tmp_path / "rgbn.tif", image, nodata=0)
    result = segment_raster(path, "discs", ThresholdDouble())
    assert len(result.features) == 1
    assert result.features[0].area_m2 == pytest.approx(math.pi * 144 * 0.25, rel=0.05)


def test_huge_sparse_raster_in_whole_mode_with_bounded_memory(tmp_path):
    size = 20_000
    path = tmp_path / "huge.tif"
    profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="uint8", crs=UTM, nodata=0)
    profile.update(transform=utm_transform(0.5), tiled=True, blockxsize=512, blockysize=512, compress="deflate")
    centres = [(3000, 4000), (12_288, 12_288), (19_950, 150)]  # the middle one sits on tile borders
    with rasterio.open(path, "w", sparse_ok=True, **profile) as dst:
        for cx, cy in centres:
            col, row = max(0, cx - 100), max(0, cy - 100)
            width, height = min(size, cx + 100) - col, min(size, cy + 100) - row
            patch = disc_image(height, width, [(cx - col, cy - row, 40)], bands=1)
            dst.write(patch, window=Window(col, row, width, height))
    assert os.path.getsize(path) < 2_000_000
    double = ThresholdDouble()
    tracemalloc.start()
    try:
        result = segment_raster(path, "discs", double, whole=True, tile_size=2048, overlap=128)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result.features) == 3
    assert all(f.area_m2 == pytest.approx(math.pi * 40 * 40 * 0.25, rel=0.03) for f in result.features)
    assert peak < 200 * 2**20  # one 2048 px tile at a time; the whole raster would be 400 MB per band
    assert len(double.shapes) <= 8  # only tiles holding data reach the model; empty ones are skipped


def test_progress_cancel_and_engine_failures(utm_tif):
    calls = []
    segment_raster(
        utm_tif,
        "discs",
        ThresholdDouble(),
        whole=True,
        tile_size=128,
        overlap=16,
        on_progress=lambda *a: calls.append(a),
    )
    assert calls[0] == (0, calls[-1][1]) and calls[-1][0] == calls[-1][1] == len(calls) - 1 > 0  # 0 shows at once
    with pytest.raises(SegmentationCancelled):
        segment_raster(
            utm_tif, "discs", ThresholdDouble(), whole=True, tile_size=128, overlap=16, should_stop=lambda: True
        )

    class Broken:
        def chat(self, image, conversation):
            raise RuntimeError("CUDA out of memory")

    class WrongSize:
        def chat(self, image, conversation):
            return Reply("x", [Segment("disc", np.ones((3, 3), dtype=bool))])

    with pytest.raises(EngineError, match="out of memory"):
        segment_raster(utm_tif, "discs", Broken())

    class NotAReply:
        def chat(self, image, conversation):
            return "a plain string"

    with pytest.raises(EngineError, match="mask"):
        segment_raster(utm_tif, "discs", WrongSize())
    with pytest.raises(EngineError, match="expected a Reply"):
        segment_raster(utm_tif, "discs", NotAReply())
    with pytest.raises(ValueError, match="empty"):
        segment_raster(utm_tif, "  ", ThresholdDouble())


def test_existing_output_append_and_refusals(utm_tif, tmp_path):
    result = segment_raster(utm_tif, "segment all discs", ThresholdDouble())
    out = tmp_path / "out.gpkg"
    first = write_result(result, out)
    with pytest.raises(OutputError, match="already exists"):
        write_result(result, out)
    second = write_result(result, out, append=True)
    assert first != second
    assert {first, second, "conversation"} == set(pyogrio.list_layers(out)[:, 0])
    _, _, _, turns = pyogrio.raw.read(out, layer="conversation")
    assert list(turns[0]) == [0, 1, 2, 3] and list(turns[4]) == [first, first, second, second]
    write_result(result, out, overwrite=True)
    assert len(pyogrio.list_layers(out)) == 2
    with pytest.raises(OutputError, match="does not exist"):
        write_result(result, tmp_path / "no" / "such" / "dir.gpkg")


def test_output_under_a_file_is_a_clear_error(utm_tif, tmp_path):
    """Unwritable for anyone, root included: the 'folder' is a regular file."""
    (tmp_path / "report.txt").write_text("not a folder")
    with pytest.raises(OutputError):
        write_result(segment_raster(utm_tif, "discs", ThresholdDouble()), tmp_path / "report.txt" / "out.gpkg")
    assert (tmp_path / "report.txt").read_text() == "not a folder"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder(utm_tif, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            write_result(segment_raster(utm_tif, "discs", ThresholdDouble()), folder / "out.gpkg")
    finally:
        folder.chmod(0o700)


def test_failed_write_leaves_existing_file_intact(utm_tif, tmp_path, monkeypatch):
    result = segment_raster(utm_tif, "discs", ThresholdDouble())
    out = tmp_path / "keep.gpkg"
    write_result(result, out)
    before = out.read_bytes()
    from engine.geo import gpkg

    def fail_halfway(path, table, into_existing):  # the layer is already in the copy when this fails
        raise OSError("No space left on device")

    monkeypatch.setattr(gpkg, "_write_table", fail_halfway)
    with pytest.raises(OutputError, match="No space left"):
        write_result(result, out, append=True)
    with pytest.raises(OutputError, match="No space left"):
        write_result(result, out, overwrite=True)
    assert out.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.gpkg", "utm.tif"]  # no temporary files left behind
    with pytest.raises(OutputError, match="not a readable GeoPackage"):
        (tmp_path / "fake.gpkg").write_text("hello")
        write_result(result, tmp_path / "fake.gpkg", append=True)


@pytest.mark.parametrize(
    ("relative", "crs"),
    [
        ("spacenet/atlanta_pan_0p5m.tif", "EPSG:32616"),
        ("naip/naip_5m_lakes_2020.tif", "EPSG:26914"),
        ("spacenet/vegas_roads_image.tif", "EPSG:4326"),
    ],
)
def test_real_rasters(shared_data, tmp_path, relative, crs):
    path = shared_data(relative)
    double = ThresholdDouble(threshold=200)
    result = segment_raster(path, "bright areas", double, whole=True, tile_size=512, overlap=64)
    layer = write_result(result, tmp_path / "real.gpkg")
    meta, polygons, fields = _read_layer(tmp_path / "real.gpkg", layer)
    assert CRS.from_user_input(meta["crs"]) == CRS.from_user_input(crs)
    assert len(polygons) == len(result.features) > 0
    assert all(p.is_valid for p in polygons) and np.all(np.asarray(fields["area_m2"]) > 0)
    with rasterio.open(path) as dataset:
        bounds = shapely.geometry.box(*dataset.bounds).buffer(dataset.res[0])
    assert all(bounds.contains(p) for p in polygons)


def test_segment_view_places_polygons_from_pixels_in_memory():
    """The in-memory path (used by the QGIS plugin) gives the same geometry as the file path for one view."""
    from affine import Affine

    from engine.geo.pipeline import segment_view

    image = np.zeros((3, 120, 160), dtype=np.uint16)
    image[:, 30:60, 40:90] = 3000  # a 50 x 30 px bright rectangle
    image[:, 100:110, 0:20] = 7  # equal to nodata: must never be part of an object
    transform = Affine(0.5, 0, 500000.0, 0, -0.5, 4100000.0)
    result = segment_view(image, transform, "EPSG:32633", "segment all bright things", ThresholdDouble(), nodata=7)
    assert len(result.features) == 1
    feature = result.features[0]
    assert feature.geometry.bounds == pytest.approx((500020.0, 4099970.0, 500045.0, 4099985.0))
    assert feature.area_m2 == pytest.approx(50 * 30 * 0.25)
    assert result.tiles == 1 and result.reply_text


def test_segment_view_passes_chat_options_and_cancellation():
    from affine import Affine

    from engine.geo.pipeline import segment_view
    from engine.types import Cancelled

    seen = {}

    class Recorder(ThresholdDouble):
        def chat(self, image, text, **options):
            seen.update(options)
            if options.get("should_stop") and options["should_stop"]():
                raise Cancelled("stop")
            return super().chat(image, text)

    image = np.full((40, 40, 3), 200, dtype=np.uint8)
    segment_view(image, Affine.identity(), None, "find", Recorder(), max_new_tokens=12)
    assert seen == {"max_new_tokens": 12}
    with pytest.raises(Cancelled):
        segment_view(image, Affine.identity(), None, "find", Recorder(), should_stop=lambda: True)


def test_segment_view_tiles_a_view_much_larger_than_the_model_input():
    """A model with a 96 px input answers a 360 x 320 view in tiles; objects cut by tiles come back whole."""
    from engine.geo.pipeline import segment_view

    discs = [(100, 100, 45), (70, 30, 10), (250, 250, 30)]
    image = disc_image(320, 360, discs)
    transform = utm_transform(0.5)

    class SmallInput(BatchingDouble):
        view_size = 96

    tiled_model, progress = SmallInput(), []
    tiled = segment_view(
        image, transform, UTM, "discs", tiled_model, simplify_px=0, on_progress=lambda *a: progress.append(a)
    )
    assert tiled.tiles > 9 and all(shape[:2] == (96, 96) for shape in tiled_model.shapes)
    assert sum(tiled_model.batches) == tiled.tiles and progress[-1] == (tiled.tiles, tiled.tiles)
    whole = segment_view(image, transform, UTM, "discs", ThresholdDouble(), simplify_px=0)
    assert whole.tiles == 1
    assert len(tiled.features) == len(whole.features) == len(discs)
    for a, b in zip(tiled.features, whole.features, strict=True):
        assert a.geometry.symmetric_difference(b.geometry).area < 1e-6
    # up to 1.5 input sizes the view stays one image; an explicit tile_size wins over the model's
    near = SmallInput()
    assert segment_view(image[:, :140, :140], transform, UTM, "discs", near).tiles == 1
    assert segment_view(image, transform, UTM, "discs", SmallInput(), tile_size=200, overlap=20).tiles == 4


def test_min_area_drops_objects_smaller_on_the_ground(utm_tif, tmp_path):
    # the discs cover about 254, 491 and 1257 m2 (radii 18, 25 and 40 px at 0.5 m)
    kept = segment_raster(utm_tif, "discs", ThresholdDouble(), min_area_m2=300)
    assert sorted(round(f.area_m2, -1) for f in kept.features) == pytest.approx([490, 1260], abs=20)
    assert len(segment_raster(utm_tif, "discs", ThresholdDouble(), min_area_m2=2000).features) == 0
    # through the command line, written and read back
    from engine import cli

    class Capped(ThresholdDouble):  # the command line passes the token limit on
        def chat(self, image, conversation, max_new_tokens=None):
            return super().chat(image, conversation)

    out = tmp_path / "big.gpkg"
    argv = ["segment", str(utm_tif), "discs", "-o", str(out), "--min-area", "300", "--quiet"]
    assert cli.main(argv, engine_factory=lambda model, device: Capped()) == 0
    assert len(pyogrio.read_info(out)["fields"]) and pyogrio.read_info(out)["features"] == 2


class ProbabilityDouble:
    """Answers with one mask of the bright pixels, giving their brightness / 255 as the pixel probabilities."""

    name = "probability-double"

    def chat(self, image: np.ndarray, conversation: str) -> Reply:
        brightness = image.mean(axis=2) / 255.0
        mask = brightness > 0.5
        return Reply("Found them.", [Segment("thing", mask, 0.42, None, brightness.astype(np.float32))])


def test_each_polygon_scores_the_mean_probability_of_its_pixels():
    from affine import Affine

    from engine.geo.pipeline import segment_view

    image = np.zeros((3, 100, 100), dtype=np.uint8)
    image[:, 10:30, 10:30] = 250  # a confident object
    image[:, 60:70, 50:90] = 153  # a faint one (0.6)
    transform = Affine(1.0, 0, 500000.0, 0, -1.0, 4100000.0)
    result = segment_view(image, transform, "EPSG:32633", "segment all things", ProbabilityDouble())
    scores = sorted(round(f.score, 3) for f in result.features)
    assert scores == [0.6, round(250 / 255, 3)]  # not the mask's single score 0.42
    plain = segment_view(image, transform, "EPSG:32633", "segment all things", ThresholdDouble(threshold=128))
    assert sorted(f.score for f in plain.features) == [0.9, 0.9]  # without probabilities: the mask's score


class FineDouble(ThresholdDouble):
    """The threshold double of a model that outlines objects well only at 0.25 m per pixel or finer."""

    max_gsd = 0.25


def test_segment_view_upsamples_a_view_coarser_than_the_model_s_max_gsd(monkeypatch):
    from affine import Affine

    from engine.geo import pipeline
    from engine.geo.pipeline import segment_view

    image = np.zeros((120, 160, 3), dtype=np.uint8)
    image[30:60, 40:90] = 255  # a 50 x 30 px rectangle of 25 x 15 m at 0.5 m per pixel
    transform = utm_transform(0.5)
    fine = FineDouble()
    result = segment_view(image, transform, UTM, "bright", fine)  # ground size measured from the CRS
    assert fine.shapes == [(240, 320, 3)]
    [feature] = result.features
    assert feature.area_m2 == pytest.approx(25 * 15, rel=0.02)
    left, bottom = transform * (40, 60)
    right, top = transform * (90, 30)
    assert feature.geometry.bounds == pytest.approx((left, bottom, right, top), abs=0.3)
    # no CRS: only a ground size given by the caller upsamples; a model without max_gsd never does
    fine = FineDouble()
    segment_view(image, Affine.identity(), None, "bright", fine, measure=False)
    assert fine.shapes == [(120, 160, 3)]
    segment_view(image, transform, None, "bright", fine, measure=False, ground_gsd=1.0)
    assert fine.shapes[-1] == (480, 640, 3)
    plain = ThresholdDouble()
    segment_view(image, transform, UTM, "bright", plain)
    assert plain.shapes == [(120, 160, 3)]
    # an in-memory view is never upsampled beyond MAX_ZOOMED_PIXELS
    monkeypatch.setattr(pipeline, "MAX_ZOOMED_PIXELS", 4 * 120 * 160 // 2)
    capped = FineDouble()
    segment_view(image, transform, UTM, "bright", capped)
    assert capped.shapes[0][0] * capped.shapes[0][1] <= 4 * 120 * 160 // 2 + 400


def test_whole_raster_coarser_than_the_model_s_max_gsd_is_read_finer(tmp_path):
    discs = [(40, 40, 12), (120, 70, 20)]
    path = write_raster(tmp_path / "coarse.tif", disc_image(100, 160, discs), transform=utm_transform(0.5))

    class FineTiles(FineDouble):
        view_size = 96

    native, fine = ThresholdDouble(), FineTiles()
    coarse = segment_raster(path, "discs", native, whole=True, tile_size=96, overlap=12)
    zoomed = segment_raster(path, "discs", fine, whole=True)
    assert coarse.tiles == 2 * 2 and zoomed.tiles > 3 * 3
    assert zoomed.pixel_size == pytest.approx(0.25) and {s[:2] for s in fine.shapes} == {(96, 96)}
    assert len(zoomed.features) == len(discs)
    assert min(_match([f.geometry for f in zoomed.features], utm_transform(0.5), discs)) > 0.95
    # an explicit target_gsd wins, and a single view (not whole) is not upsampled
    assert segment_raster(path, "discs", FineTiles(), whole=True, target_gsd=0.5).tiles == 2 * 2
    single = FineTiles()
    segment_raster(path, "discs", single)
    assert single.shapes == [(100, 160, 3)]


def test_target_gsd_is_metres_on_the_ground_not_crs_units(tmp_path):
    """At 60 degrees north a Web Mercator unit is half a metre on the ground: 1 m pixels are 2 CRS units."""
    from affine import Affine
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(10.0, 60.0)
    transform = Affine(1.0, 0, x, 0, -1.0, y)  # 1 CRS unit per pixel: about 0.5 m on the ground
    path = write_raster(
        tmp_path / "merc.tif", disc_image(128, 128, [(64, 64, 20)]), crs="EPSG:3857", transform=transform
    )
    result = segment_raster(path, "discs", ThresholdDouble(), whole=True, tile_size=40, overlap=8, target_gsd=1.0)
    assert result.pixel_size == pytest.approx(2.0, rel=0.02)  # CRS units: 1 m on the ground
    assert result.tiles == 2 * 2  # 128 px of 0.5 m read as 64 px of 1 m
    no_crs = write_raster(tmp_path / "plain.tif", disc_image(64, 64, [(32, 32, 10)]), crs=None)
    with pytest.raises(RasterError, match="metres needs a raster with a CRS"):
        segment_raster(no_crs, "discs", ThresholdDouble(), whole=True, target_gsd=1.0)
