"""Areas in m2 and perimeters in m in projected, foot-based, Mercator and geographic CRS."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Point, box

from engine.geo.measure import Measurer, area_perimeter, to_crs


def test_planar_metres_for_utm():
    disc = Point(500_000, 3_700_000).buffer(10, quad_segs=256)
    area, perimeter = area_perimeter(disc, "EPSG:32616")
    assert area == pytest.approx(math.pi * 100, rel=1e-4)
    assert perimeter == pytest.approx(2 * math.pi * 10, rel=1e-4)


def test_holes_reduce_area_and_add_perimeter():
    ring = box(0, 0, 10, 10).difference(box(4, 4, 6, 6))
    assert area_perimeter(ring, 32616) == pytest.approx((96.0, 48.0))


def test_feet_are_converted_to_metres():
    area, perimeter = area_perimeter(box(0, 0, 100, 100), "EPSG:2263")  # NAD83 / New York Long Island (ftUS)
    foot = 1200 / 3937
    assert area == pytest.approx((100 * foot) ** 2)
    assert perimeter == pytest.approx(400 * foot)


def test_geographic_is_geodesic_and_agrees_with_local_utm():
    lon, lat = -84.39, 33.75  # Atlanta, UTM zone 16N
    cell = box(lon, lat, lon + 0.002, lat + 0.002)
    area, perimeter = Measurer("EPSG:4326").area_perimeter(cell)
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32616", always_xy=True)
    in_utm = shapely.transform(cell, lambda xy: np.column_stack(to_utm.transform(xy[:, 0], xy[:, 1])))
    # UTM's scale error here is below 0.1 %, so planar UTM measures are a good independent reference.
    assert area == pytest.approx(in_utm.area, rel=2e-3)
    assert perimeter == pytest.approx(in_utm.length, rel=1e-3)


def test_web_mercator_is_measured_on_the_ellipsoid_not_the_plane():
    to_mercator = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    x, y = to_mercator.transform(10.0, 60.0)
    square = box(x, y, x + 1000, y + 1000)  # 1 km "Mercator metres" at 60 N is about 500 m on the ground
    measurer = Measurer("EPSG:3857")
    area, _ = measurer.area_perimeter(square)
    assert measurer.method == "geodesic"
    assert area == pytest.approx(1000 * 1000 * math.cos(math.radians(60)) ** 2, rel=0.01)


def test_no_crs_gives_nan_and_bad_crs_is_a_clear_error():
    area, perimeter = area_perimeter(box(0, 0, 1, 1), None)
    assert math.isnan(area) and math.isnan(perimeter)
    with pytest.raises(ValueError, match="not a coordinate reference system"):
        to_crs("EPSG:999999")


def test_accepts_rasterio_crs():
    from rasterio.crs import CRS

    assert Measurer(CRS.from_epsg(32616)).method == "planar"


def test_ground_pixel_size_in_metres_whatever_the_crs():
    from affine import Affine

    assert Measurer("EPSG:32633").ground_pixel_size(Affine(0.5, 0, 500000, 0, -0.5, 4100000), 10, 10) == (
        pytest.approx(0.5)
    )
    # 2 "Mercator metres" at 60 N are 1 m on the ground
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(10.0, 60.0)
    mercator = Affine(2.0, 0, x, 0, -2.0, y)
    assert Measurer("EPSG:3857").ground_pixel_size(mercator, 0, 0) == pytest.approx(1.0, rel=0.01)
    assert math.isnan(Measurer(None).ground_pixel_size(mercator, 0, 0))
