"""Tile grid and seam-free merge, on masks cut into tiles exactly as the pipeline cuts them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from rasterio.windows import Window
from shapely.geometry import box

from engine.geo.merge import Piece, TileMerger
from engine.geo.tiles import single_tile, tile_grid
from engine.geo.vectorize import mask_to_polygons

sys.path.insert(0, str(Path(__file__).parent))
from test_geo_helpers import disc_mask, iou  # noqa: E402


def _run(mask_by_phrase: dict[str, np.ndarray], tile_size: int, overlap: int):
    """Cut full-raster masks into tiles, trace each tile, merge; return (instances, tiles, emitted-per-tile)."""
    height, width = next(iter(mask_by_phrase.values())).shape
    tiles = tile_grid(Window(0, 0, width, height), tile_size, overlap)
    merger = TileMerger(tiles)
    instances, emitted = [], []
    for tile in tiles:
        w = tile.window
        pieces = []
        for phrase, mask in mask_by_phrase.items():
            crop = mask[w.row_off : w.row_off + w.height, w.col_off : w.col_off + w.width]
            pieces += [Piece(p, phrase) for p in mask_to_polygons(crop, tile.to_source)]
        out = merger.add(tile, pieces)
        emitted.append(len(out))
        instances += out
    instances += merger.flush()
    return instances, tiles, emitted


def test_grid_covers_region_with_full_size_overlapping_tiles():
    region = Window(10, 20, 1000, 700)
    tiles = tile_grid(region, 256, 32)
    covered = np.zeros((700, 1000), dtype=int)
    for tile in tiles:
        w = tile.window
        assert (w.width, w.height) == (256, 256) == tile.out_shape
        covered[w.row_off - 20 : w.row_off - 20 + 256, w.col_off - 10 : w.col_off - 10 + 256] += 1
    assert covered.min() >= 1
    cols = sorted({t.window.col_off for t in tiles})
    assert cols[0] == 10 and cols[-1] + 256 == 1010
    assert all(b - a <= 256 - 32 for a, b in zip(cols, cols[1:]))
    assert [t.index for t in tiles] == list(range(len(tiles)))


def test_grid_small_region_is_one_tile_and_scale_maps_to_source():
    (tile,) = tile_grid(Window(0, 0, 100, 50), 256, 32)
    assert tile.out_shape == (50, 100)
    halved = tile_grid(Window(0, 0, 1000, 1000), 256, 32, scale=0.5)  # 500x500 model pixels
    assert all(t.out_shape == (256, 256) and t.window.width == 512 for t in halved)
    assert halved[0].to_source @ (256, 256) == (512, 512)
    assert single_tile(Window(5, 5, 40, 20), 0.5).out_shape == (10, 20)


@pytest.mark.parametrize(("size", "overlap"), [(8, 2), (64, 0), (64, 64)])
def test_grid_rejects_bad_parameters(size, overlap):
    with pytest.raises(ValueError):
        tile_grid(Window(0, 0, 100, 100), size, overlap)


def test_object_crossing_a_tile_border_is_one_polygon():
    mask = disc_mask(200, 200, [(100, 60, 30)])  # tiles start at x = 0 and x = 72
    instances, tiles, _ = _run({"tank": mask}, 128, 32)
    assert len(tiles) == 4
    assert len(instances) == 1
    (instance,) = instances
    assert instance.pieces >= 2  # it really was cut
    assert instance.geometry.geom_type == "Polygon" and not instance.geometry.interiors
    expected = mask_to_polygons(mask)[0]
    assert instance.geometry.symmetric_difference(expected).area == pytest.approx(0, abs=1e-6)


def test_object_inside_the_overlap_is_not_duplicated():
    mask = disc_mask(200, 200, [(100, 30, 8)])  # x 92..108 lies in both tiles of the first row
    instances, _, _ = _run({"tank": mask}, 128, 32)
    assert len(instances) == 1 and instances[0].pieces == 2
    assert instances[0].geometry.area == pytest.approx(mask.sum())


def test_long_object_across_many_tiles_and_corner_object_are_whole():
    mask = np.zeros((300, 600), dtype=bool)
    mask[40:52, 5:595] = True  # a road through every tile of the first row
    mask |= disc_mask(300, 600, [(224, 224, 40)])  # near a four-tile corner
    instances, tiles, _ = _run({"thing": mask}, 128, 32)
    assert len({t.col for t in tiles}) >= 5
    assert len(instances) == 2
    road = max(instances, key=lambda i: i.geometry.bounds[2] - i.geometry.bounds[0])
    assert road.geometry.bounds == (5.0, 40.0, 595.0, 52.0) and road.geometry.area == pytest.approx(12 * 590)
    disc = next(i for i in instances if i is not road)
    assert disc.pieces >= 4
    assert iou(disc.geometry, mask_to_polygons(disc_mask(300, 600, [(224, 224, 40)]))[0]) > 0.999


def test_touching_neighbours_and_other_phrases_stay_separate():
    left = np.zeros((200, 200), dtype=bool)
    left[50:70, 80:100] = True
    right = np.zeros((200, 200), dtype=bool)
    right[50:70, 100:120] = True  # shares an edge with `left`, inside the overlap band
    instances, _, _ = _run({"building": left | right}, 128, 32)
    assert len(instances) == 1  # one mask region: the model said it is one object
    instances, _, _ = _run({"building": left, "car": right}, 128, 32)
    assert sorted(i.phrase for i in instances) == ["building", "car"]
    assert all(i.geometry.area == pytest.approx(400) for i in instances)


def test_distinct_objects_close_together_in_the_overlap_are_kept_apart():
    masks = disc_mask(200, 200, [(90, 30, 6), (104, 30, 6)])  # two discs 2 px apart, both in the overlap
    instances, _, _ = _run({"car": masks}, 128, 32)
    assert len(instances) == 2


def test_objects_are_emitted_as_soon_as_no_later_tile_can_reach_them():
    mask = disc_mask(400, 400, [(20, 20, 10), (390, 390, 5)])
    instances, tiles, emitted = _run({"tank": mask}, 128, 32)
    assert len(instances) == 2
    assert emitted[0] == 1  # the top-left disc is final right after the first tile
    assert sum(emitted) == 2  # nothing left for flush


def test_scores_and_labels_of_merged_pieces():
    tiles = tile_grid(Window(0, 0, 200, 100), 128, 32)
    merger = TileMerger(tiles)
    shape = box(90, 10, 110, 30)
    out = merger.add(tiles[0], [Piece(shape.intersection(box(*tiles[0].bounds)), "tank", 0.4, None)])
    out += merger.add(tiles[1], [Piece(shape.intersection(box(*tiles[1].bounds)), "Tank ", 0.8, "storage tank")])
    out += merger.flush()
    assert len(out) == 1
    assert out[0].score == 0.8 and out[0].label == "storage tank" and out[0].geometry.area == pytest.approx(400)
