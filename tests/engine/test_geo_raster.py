"""Opening rasters, regions, band plans and decimated reads."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.enums import ColorInterp
from rasterio.windows import Window

from engine.geo.errors import NoCRSWarning, RasterError
from engine.geo.raster import (
    BandPlan,
    open_raster,
    plan_bands,
    read_rgb,
    read_scale,
    resolve_region,
    window_transform,
)

sys.path.insert(0, str(Path(__file__).parent))
from test_geo_helpers import disc_image, utm_transform, write_raster  # noqa: E402


@pytest.fixture
def utm_tif(tmp_path):
    return write_raster(tmp_path / "utm.tif", disc_image(100, 200, [(50, 50, 20)]))


def test_not_a_raster_missing_and_folder(tmp_path):
    text = tmp_path / "notes.tif"
    text.write_text("not an image")
    with pytest.raises(RasterError, match="cannot open .*notes.tif as a raster"):
        with open_raster(text):
            pass
    with pytest.raises(RasterError, match="not found"):
        with open_raster(tmp_path / "missing.tif"):
            pass
    with pytest.raises(RasterError, match="folder"):
        with open_raster(tmp_path):
            pass


def test_truncated_file_is_a_raster_error(tmp_path):
    path = write_raster(tmp_path / "full.tif", disc_image(256, 256, [(128, 128, 50)]), compress="deflate", tiled=True)
    data = path.read_bytes()
    broken = tmp_path / "broken.tif"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(RasterError, match="broken.tif"):
        with open_raster(broken) as dataset:
            read_rgb(dataset, Window(0, 0, 256, 256), (256, 256), BandPlan((1, 2, 3)))


def test_no_crs_warns_and_keeps_pixel_coordinates(tmp_path):
    path = write_raster(tmp_path / "plain.tif", disc_image(20, 30, []), crs=None, transform=rasterio.Affine.identity())
    with pytest.warns(NoCRSWarning, match="pixel coordinates"):
        with open_raster(path) as dataset:
            assert dataset.crs is None and dataset.transform.is_identity


def test_regions_from_window_and_bbox(utm_tif):
    with open_raster(utm_tif) as dataset:
        assert resolve_region(dataset) == Window(0, 0, 200, 100)
        assert resolve_region(dataset, window=(150, 80, 100, 100)) == Window(150, 80, 50, 20)  # clipped
        x0, y0 = utm_transform() @ (10, 20)
        x1, y1 = utm_transform() @ (30.2, 45)  # bbox edges off the pixel grid are widened to whole pixels
        assert resolve_region(dataset, bbox=(x0, y1, x1, y0)) == Window(10, 20, 21, 25)
        with pytest.raises(RasterError, match="does not overlap"):
            resolve_region(dataset, window=(500, 0, 10, 10))
        with pytest.raises(RasterError, match="does not overlap"):
            resolve_region(dataset, bbox=(0, 0, 10, 10))
        with pytest.raises(RasterError, match="MINX < MAXX"):
            resolve_region(dataset, bbox=(x1, y1, x0, y0))
        with pytest.raises(RasterError, match="positive"):
            resolve_region(dataset, window=(0, 0, 0, 5))
        with pytest.raises(RasterError, match="not both"):
            resolve_region(dataset, window=(0, 0, 5, 5), bbox=(x0, y1, x1, y0))


def test_band_plans(tmp_path):
    rng = np.random.default_rng(0)
    nir = rng.integers(0, 256, size=(4, 16, 16), dtype=np.uint8)
    rgba = nir.copy()
    rgba[3] = 255
    rgba[3, :4] = 0
    declared = write_raster(tmp_path / "declared.tif", (nir.astype(np.uint16) * 100), photometric="RGB")
    with rasterio.open(declared, "r+") as dataset:
        dataset.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
    cases = {
        write_raster(tmp_path / "grey.tif", nir[:1]): BandPlan((1,)),
        write_raster(tmp_path / "rgb.tif", nir[:3]): BandPlan((1, 2, 3)),
        write_raster(tmp_path / "nir.tif", nir): BandPlan((1, 2, 3)),  # GDAL declares band 4 alpha: values win
        write_raster(tmp_path / "rgba.tif", rgba): BandPlan((1, 2, 3, 4), alpha=True),
        declared: BandPlan((1, 2, 3, 4), alpha=True),
        write_raster(tmp_path / "s2.tif", rng.integers(0, 4000, size=(12, 8, 8), dtype=np.uint16)): BandPlan((4, 3, 2)),
    }
    for path, expected in cases.items():
        with open_raster(path) as dataset:
            assert plan_bands(dataset) == expected, path.name
    with open_raster(tmp_path / "s2.tif") as dataset:
        assert plan_bands(dataset, [8, 4, 3]) == BandPlan((8, 4, 3))
        with pytest.raises(RasterError, match="out of range"):
            plan_bands(dataset, [13])
        with pytest.raises(RasterError, match="1 \\(grey\\) or 3"):
            plan_bands(dataset, [1, 2])


def test_decimated_read_and_its_transform(utm_tif):
    with open_raster(utm_tif) as dataset:
        region = Window(0, 0, 200, 100)
        rgb, valid = read_rgb(dataset, region, (50, 100), BandPlan((1, 2, 3)))
        assert rgb.shape == (50, 100, 3) and valid.all()
        assert rgb[25, 25, 0] == 220 and rgb[2, 98, 0] == 30  # disc centre / background survive averaging
        transform = window_transform(dataset, region, (50, 100))
        assert transform.a == pytest.approx(1.0) and transform @ (0, 0) == utm_transform() @ (0, 0)


def test_read_scale_from_gsd_and_max_size():
    region = Window(0, 0, 4000, 1000)
    assert read_scale(region, 0.5) == 1.0
    assert read_scale(region, 0.5, target_gsd=1.0) == 0.5
    assert read_scale(region, 0.5, max_size=1000) == 0.25
    assert read_scale(region, 0.5, target_gsd=0.25, max_size=16000) == 2.0
    with pytest.raises(RasterError, match="positive"):
        read_scale(region, 0.5, target_gsd=0)


def test_all_nodata_region_reads_as_none(tmp_path):
    image = disc_image(40, 40, [(30, 30, 5)], bands=1, dtype="uint16", low=0, high=900)
    path = write_raster(tmp_path / "nodata.tif", image, nodata=0)
    with open_raster(path) as dataset:
        assert read_rgb(dataset, Window(0, 0, 10, 10), (10, 10), BandPlan((1,))) is None
        rgb, valid = read_rgb(dataset, Window(20, 20, 20, 20), (20, 20), BandPlan((1,)))
        assert valid.sum() == (image[0, 20:, 20:] > 0).sum() and rgb[valid].min() == rgb[valid].max()
