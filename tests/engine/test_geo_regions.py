"""engine.geo.regions: the one definition of an object, a 4-connected region of a mask."""

from __future__ import annotations

import numpy as np

from engine.geo.regions import connected_regions, region_labels


def _box(r0, r1, c0, c1, shape=(32, 32)):
    mask = np.zeros(shape, dtype=bool)
    mask[r0:r1, c0:c1] = True
    return mask


def test_regions_are_4_connected_and_cover_the_mask():
    ring = _box(2, 12, 2, 12) & ~_box(5, 9, 5, 9)  # one region with a hole
    inside = _box(6, 8, 6, 8)  # in the hole: a separate region
    diagonal = _box(20, 23, 20, 23) | _box(23, 26, 23, 26)  # touching corners only: two regions
    speck = _box(30, 31, 0, 2)  # 2 px: dropped like the pipeline drops it
    regions = connected_regions(ring | inside | diagonal | speck, min_pixels=4)
    assert len(regions) == 5 - 1
    assert sorted(int(r.sum()) for r in regions) == sorted([int(ring.sum()), 4, 9, 9])
    assert sum(int(r.sum()) for r in regions) == int((ring | inside | diagonal).sum())  # disjoint
    assert np.array_equal(np.logical_or.reduce(regions), ring | inside | diagonal)
    assert len(connected_regions(ring | inside | diagonal | speck)) == 5  # no minimum by default
    assert connected_regions(np.zeros((8, 8), bool)) == []


def test_corner_neighbours_join_only_when_asked_for_8_connectivity():
    diagonal = _box(20, 23, 20, 23) | _box(23, 26, 23, 26)
    assert [int(r.sum()) for r in connected_regions(diagonal, connectivity=8)] == [18]
    assert region_labels(diagonal, connectivity=8)[1] == 1 and region_labels(diagonal)[1] == 2
