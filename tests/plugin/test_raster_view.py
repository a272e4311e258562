"""Raster pixels read through QGIS's provider match what rasterio reads from the same file."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from qgis.core import QgsCoordinateReferenceSystem, QgsRasterLayer, QgsRectangle
from rasterio.transform import from_origin


def write_tif(path, data, crs="EPSG:32633", nodata=None, origin=(500000.0, 4100000.0), res=0.5):
    profile = dict(driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0], dtype=data.dtype)
    profile["transform"] = from_origin(origin[0], origin[1], res, res)
    if crs:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


@pytest.fixture
def uint16_tif(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4000, size=(3, 97, 131), dtype=np.uint16)
    return write_tif(tmp_path / "u16.tif", data, nodata=0), data


def test_whole_layer_matches_rasterio(uint16_tif, qgis_app):
    from geoground.plugin.raster_view import read_view

    path, data = uint16_tif
    view = read_view(QgsRasterLayer(str(path), "u16"))
    assert view.data.shape == data.shape and view.data.dtype == np.uint16
    np.testing.assert_array_equal(view.data, data)
    assert view.nodata == [0.0, 0.0, 0.0]
    with rasterio.open(path) as src:
        assert view.transform == pytest.approx(tuple(src.transform)[:6])
        assert QgsCoordinateReferenceSystem(view.crs_wkt).authid() == "EPSG:32633"
    assert view.scale == 1.0 and view.warnings == []


def test_sub_extent_is_the_right_window(uint16_tif, qgis_app):
    from geoground.plugin.raster_view import read_view

    path, data = uint16_tif
    # columns 10..50, rows 20..60 of a 0.5 m grid starting at (500000, 4100000)
    extent = QgsRectangle(500000 + 10 * 0.5, 4100000 - 60 * 0.5, 500000 + 50 * 0.5, 4100000 - 20 * 0.5)
    view = read_view(QgsRasterLayer(str(path), "u16"), extent)
    np.testing.assert_array_equal(view.data, data[:, 20:60, 10:50])
    assert view.transform[2] == pytest.approx(500005.0) and view.transform[5] == pytest.approx(4099990.0)


def test_large_view_is_capped_with_a_message(uint16_tif, qgis_app):
    from geoground.plugin.raster_view import read_view

    path, data = uint16_tif
    view = read_view(QgsRasterLayer(str(path), "u16"), max_pixels=1000)
    bands, height, width = view.data.shape
    assert height * width <= 1000 and bands == 3
    assert view.scale > 1 and "resolution" in view.warnings[0]
    # the transform still spans the whole layer
    assert view.transform[0] * width == pytest.approx(131 * 0.5)


def test_layer_without_crs_reads_with_a_warning(tmp_path, qgis_app):
    from geoground.plugin.raster_view import read_view

    data = np.arange(2 * 30 * 40, dtype=np.float32).reshape(1, 60, 40)
    layer = QgsRasterLayer(str(write_tif(tmp_path / "nocrs.tif", data, crs=None)), "nocrs")
    view = read_view(layer)
    assert view.crs_wkt == "" and any("no CRS" in w for w in view.warnings)
    np.testing.assert_array_equal(view.data, data)


def test_outside_extent_and_invalid_layer_give_clear_errors(uint16_tif, tmp_path, qgis_app):
    from geoground.plugin.raster_view import RasterReadError, read_view

    path, _ = uint16_tif
    with pytest.raises(RasterReadError, match="does not overlap"):
        read_view(QgsRasterLayer(str(path), "u16"), QgsRectangle(0, 0, 10, 10))
    (tmp_path / "broken.tif").write_bytes(b"not a tiff")
    with pytest.raises(RasterReadError, match="not valid"):
        read_view(QgsRasterLayer(str(tmp_path / "broken.tif"), "broken"))


def test_snapshot_reads_in_a_worker_thread(uint16_tif, qgis_app):
    import threading

    from geoground.plugin.raster_view import read_view, snapshot

    path, data = uint16_tif
    source = snapshot(QgsRasterLayer(str(path), "u16"))
    out = {}
    worker = threading.Thread(target=lambda: out.update(view=read_view(source)))
    worker.start()
    worker.join(30)
    np.testing.assert_array_equal(out["view"].data, data)
