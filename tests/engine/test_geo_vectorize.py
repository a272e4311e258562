"""mask_to_polygons: instances, holes, transform, simplification and validity."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from engine.geo.regions import region_labels
from engine.geo.vectorize import (
    apply_transform,
    drop_weak_regions,
    mask_to_polygons,
    polygonal_parts,
    scored_polygons,
)


def _square_with_hole() -> np.ndarray:
    mask = np.zeros((20, 20), dtype=bool)
    mask[2:12, 2:12] = True
    mask[5:8, 5:8] = False
    return mask


def test_one_polygon_per_connected_instance_with_holes_kept():
    mask = _square_with_hole()
    mask[15:18, 14:19] = True  # a second instance
    polygons = sorted(mask_to_polygons(mask), key=lambda p: p.area)
    assert [p.area for p in polygons] == [15.0, 91.0]
    assert len(polygons[1].interiors) == 1
    assert polygons[1].interiors[0].envelope.bounds == (5.0, 5.0, 8.0, 8.0)
    assert all(p.is_valid for p in polygons)


def test_diagonal_neighbours_are_separate_valid_polygons():
    mask = np.zeros((4, 4), dtype=bool)
    mask[0, 0] = mask[1, 1] = mask[2, 2] = True
    polygons = mask_to_polygons(mask)
    assert len(polygons) == 3 and all(p.is_valid and p.area == 1 for p in polygons)


def test_transform_maps_pixels_to_map_coordinates():
    mask = np.zeros((10, 10), dtype=bool)
    mask[2:4, 3:8] = True  # rows 2-3, cols 3-7
    transform = Affine(0.5, 0, 500_000, 0, -0.5, 3_700_000)
    (polygon,) = mask_to_polygons(mask, transform)
    assert polygon.bounds == (500_001.5, 3_699_998.0, 500_004.0, 3_699_999.0)
    assert polygon.area == pytest.approx(10 * 0.25)


def test_simplification_is_in_pixels_whatever_the_ground_resolution():
    rows, cols = np.mgrid[0:200, 0:200]
    disc = (cols - 100) ** 2 + (rows - 100) ** 2 <= 80**2
    exact = mask_to_polygons(disc)[0]
    for resolution in (0.3, 30.0):
        transform = Affine(resolution, 0, 0, 0, -resolution, 0)
        simplified = mask_to_polygons(disc, transform, simplify_px=1.0)[0]
        assert len(simplified.exterior.coords) < len(exact.exterior.coords) / 2
        assert simplified.is_valid
        assert simplified.area / resolution**2 == pytest.approx(exact.area, rel=0.01)


def test_min_area_drops_specks_and_empty_mask_gives_nothing():
    mask = np.zeros((10, 10), dtype=bool)
    mask[0, 0] = True
    mask[5:8, 5:8] = True
    assert [p.area for p in mask_to_polygons(mask, min_area_px=2)] == [9.0]
    assert mask_to_polygons(np.zeros((5, 5), dtype=bool)) == []
    with pytest.raises(ValueError, match="2-D"):
        mask_to_polygons(np.zeros((2, 2, 2), dtype=bool))


def test_polygonal_parts_repairs_and_filters():
    from shapely.geometry import GeometryCollection, LineString, Polygon

    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])  # self-intersecting
    parts = polygonal_parts(GeometryCollection([bowtie, LineString([(0, 0), (1, 1)])]))
    assert parts and all(p.is_valid for p in parts)
    assert sum(p.area for p in parts) == pytest.approx(2.0)


def test_apply_transform_matches_affine_on_vertices():
    transform = Affine(2, 0.5, 10, 0.25, -3, 100)  # rotated/sheared grid
    mask = np.zeros((6, 6), dtype=bool)
    mask[1:3, 2:5] = True
    (pixel,) = mask_to_polygons(mask)
    mapped = apply_transform(pixel, transform)
    for (px, py), (mx, my) in zip(pixel.exterior.coords, mapped.exterior.coords):
        assert (mx, my) == pytest.approx(transform @ (px, py))


def test_region_labels_are_the_traced_regions_one_label_each():
    mask = np.zeros((12, 12), dtype=bool)
    mask[1:6, 1:6] = True
    mask[2:5, 2:5] = False  # a ring ...
    mask[3, 3] = True  # ... with an island in its hole
    mask[7, 7] = mask[8, 8] = True  # diagonal neighbours: two regions
    mask[9:12, 0:4] = True
    labels, count = region_labels(mask)
    polygons = mask_to_polygons(mask)
    assert count == len(polygons) == 5
    np.testing.assert_array_equal(labels > 0, mask)
    assert sorted(np.bincount(labels.ravel())[1:].tolist()) == sorted(int(p.area) for p in polygons)
    assert labels[3, 3] != labels[1, 1] and labels[7, 7] != labels[8, 8]
    assert region_labels(np.zeros((3, 3), dtype=bool))[1] == 0


def test_weak_regions_are_dropped_by_their_mean_probability():
    mask = np.zeros((10, 10), dtype=bool)
    mask[1:4, 1:4] = True
    mask[6:9, 6:9] = True
    probability = np.where(mask, 0.6, 0.1).astype(np.float32)
    probability[1:4, 1:4] = 0.9
    probability[2, 2] = 0.55  # one weak pixel does not sink a confident region: the mean decides
    np.testing.assert_array_equal(drop_weak_regions(mask, probability, 0.0), mask)
    strong_only = drop_weak_regions(mask, probability, 0.8)
    assert strong_only[1:4, 1:4].all() and not strong_only[6:9, 6:9].any()
    assert not drop_weak_regions(mask, probability, 0.95).any()


def test_scored_polygons_are_the_traced_polygons_with_their_mean_probability():
    mask = np.zeros((10, 12), dtype=bool)
    mask[1:4, 1:5] = True
    mask[6:9, 7:11] = True
    mask[5, 0] = True
    probability = np.where(mask, 0.7, 0.0).astype(np.float32)
    probability[1:4, 1:5] = 0.95
    transform = Affine(2.0, 0, 100.0, 0, -2.0, 50.0)
    scored = scored_polygons(mask, probability, transform)
    traced = mask_to_polygons(mask, transform)
    assert sorted(p.wkt for p, _ in scored) == sorted(p.wkt for p in traced)
    by_area = sorted((p.area, round(s, 4)) for p, s in scored)
    assert by_area == [(4.0, 0.7), (48.0, 0.7), (48.0, 0.95)]
    assert scored_polygons(np.zeros((3, 3), dtype=bool), np.zeros((3, 3)), None) == []
