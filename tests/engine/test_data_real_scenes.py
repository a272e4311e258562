"""Licence-clean real imagery (SpaceNet, NAIP) turned into instance scenes and tiles."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from shapely.geometry import shape

from engine.data.real_scenes import (
    RestrictedDataError,
    atlanta_buildings,
    connected_instances,
    naip_water,
    tile_scene,
    vegas_roads,
)
from engine.data.sample import Instance, Scene
from engine.data.scene_text import scene_samples


def test_atlanta_footprints_become_building_instances(shared_data):
    geojson = shared_data("spacenet/atlanta_buildings.geojson")
    scene = atlanta_buildings(shared_data("spacenet/atlanta_pan_0p5m.tif"), geojson)
    assert scene.gsd == pytest.approx(0.5)
    assert scene.image.shape == (900, 900, 3) and scene.image.dtype == np.uint8
    features = json.loads(geojson.read_text())["features"]
    assert len(scene.instances) == len(features) == 43
    # Rasterised areas match the footprint areas in m2 (pixel-centre sampling: within 10 % over the set).
    rasterised_m2 = sum(inst.area for inst in scene.instances) * 0.25
    polygon_m2 = sum(shape(f["geometry"]).area for f in features)
    assert rasterised_m2 == pytest.approx(polygon_m2, rel=0.1)


def test_vegas_roads_are_connected_networks_at_about_30_cm(shared_data):
    scene = vegas_roads(shared_data("spacenet/vegas_roads_image.tif"), shared_data("spacenet/vegas_roads_mask.tif"))
    assert 0.25 < scene.gsd < 0.32  # 2.7e-6 degrees at Las Vegas' latitude
    with rasterio.open(shared_data("spacenet/vegas_roads_mask.tif")) as src:
        roads = src.read(1) > 0
    union = np.logical_or.reduce([inst.mask for inst in scene.instances])
    assert not (union & ~roads).any()
    assert union.sum() >= 0.99 * roads.sum()  # only specks under 50 px are dropped
    assert all(inst.class_name == "road" for inst in scene.instances)


def test_naip_water_is_dark_in_near_infrared(shared_data):
    path = shared_data("naip/naip_5m_lakes_2020.tif")
    scene = naip_water(path)
    assert scene.gsd == pytest.approx(5.0) and len(scene.instances) > 5
    with rasterio.open(path) as src:
        nir = src.read(4).astype(float)
    water = np.logical_or.reduce([inst.mask for inst in scene.instances])
    assert nir[water].mean() < 0.5 * nir[~water].mean()
    assert min(inst.area for inst in scene.instances) * 25 >= 2000  # the minimum area in m2


def test_connected_instances_join_diagonal_neighbours():
    mask = np.zeros((6, 6), bool)
    mask[0, 0] = mask[1, 1] = True  # diagonal: one 8-connected region
    mask[4:6, 4:6] = True
    instances = connected_instances(mask, "water body")
    assert sorted(inst.area for inst in instances) == [2, 4]


def test_tiles_cover_the_scene_and_crop_instances():
    mask = np.zeros((10, 10), bool)
    mask[0:3, 0:3] = True
    scene = Scene(np.zeros((10, 10, 3), np.uint8), [Instance("building", mask, 1)], gsd=0.5, name="s")
    tiles = list(tile_scene(scene, 6, min_pixels=1))
    assert [t.name for t in tiles] == ["s:0:0", "s:0:4", "s:4:0", "s:4:4"]  # last row/col shifted inwards
    assert [len(t.instances) for t in tiles] == [1, 0, 0, 0]
    assert tiles[0].instances[0].area == 9 and tiles[0].image.shape == (6, 6, 3)


def test_tiles_give_training_samples(shared_data):
    scene = atlanta_buildings(
        shared_data("spacenet/atlanta_pan_0p5m.tif"), shared_data("spacenet/atlanta_buildings.geojson")
    )
    tile = max(tile_scene(scene, 300), key=lambda t: len(t.instances))
    samples = scene_samples(tile, np.random.default_rng(0))
    every = [s for s in samples if s.task == "segment_all" and s.classes and s.classes[0] == "building"]
    union = np.logical_or.reduce([inst.mask for inst in tile.of_class("building")])
    assert every and len(every[0].masks) == 1 and np.array_equal(every[0].masks[0], union)


def test_evaluation_only_files_are_refused(tmp_path):
    restricted = tmp_path / "eval_only" / "x.tif"
    restricted.parent.mkdir()
    restricted.write_bytes(b"")
    with pytest.raises(RestrictedDataError, match="evaluation-only"):
        naip_water(restricted)
