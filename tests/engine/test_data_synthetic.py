"""The synthetic scene generator: determinism, physical sizes through the GSD, layering and textures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.data.synthetic import GSD_RANGE, SYNTHETIC_CLASSES, generate_scene
from engine.data.templates import CLASSES
from engine.data.textures import box_blur, cast_shadow, shift, value_noise


def test_same_seed_same_scene_and_other_seed_differs():
    a = generate_scene(7, 96, gsd=1.0)
    b = generate_scene(7, 96, gsd=1.0)
    c = generate_scene(8, 96, gsd=1.0)
    assert np.array_equal(a.image, b.image)
    assert [(i.class_name, i.mask.tobytes()) for i in a.instances] == [
        (i.class_name, i.mask.tobytes()) for i in b.instances
    ]
    assert not np.array_equal(a.image, c.image)


def test_scene_layout_and_visible_masks_do_not_overlap():
    scene = generate_scene(3, (80, 120), gsd=0.8)
    assert scene.image.shape == (80, 120, 3) and scene.image.dtype == np.uint8
    assert scene.gsd == 0.8
    assert scene.instances, "a scene with nothing in it teaches nothing"
    stacked = np.stack([inst.mask for inst in scene.instances]).astype(int)
    assert stacked.sum(0).max() == 1  # each pixel belongs to at most one visible instance
    assert len({inst.instance_id for inst in scene.instances}) == len(scene.instances)
    assert all(inst.area >= 6 for inst in scene.instances)


def test_random_gsd_stays_in_range():
    for seed in range(5):
        gsd = generate_scene(seed, 32).gsd
        assert GSD_RANGE[0] <= gsd <= GSD_RANGE[1]


def test_tank_sizes_are_realistic_in_metres_and_scale_with_gsd():
    fine, coarse = [], []
    for seed in range(4):
        for gsd, store in ((0.6, fine), (2.4, coarse)):
            scene = generate_scene(seed, 160, gsd=gsd, classes=["storage tank"])
            for tank in scene.of_class("storage tank"):
                area_m2 = tank.area * gsd * gsd
                # Diameters are 10-80 m: at most pi * 40^2 = 5027 m2 (5 % slack for pixelisation).
                assert area_m2 <= math.pi * 40**2 * 1.05
                store.append(tank.area)
    assert fine and coarse
    # Same metric sizes at 4x coarser pixels cover about 16x fewer pixels; require a clear factor.
    assert np.median(fine) > 4 * np.median(coarse)


def test_vehicles_vanish_at_coarse_resolution_but_not_at_fine():
    fine = [generate_scene(s, 96, gsd=0.3, classes=["road", "vehicle"]) for s in range(3)]
    coarse = [generate_scene(s, 96, gsd=5.0, classes=["road", "vehicle"]) for s in range(3)]
    assert sum(len(s.of_class("vehicle")) for s in fine) > 0
    assert sum(len(s.of_class("vehicle")) for s in coarse) == 0  # a 5 m car is under one 5 m pixel


def test_ships_float_on_water():
    for seed in range(4):
        scene = generate_scene(seed, 128, gsd=1.5, classes=["ship"])
        water = np.logical_or.reduce([w.mask for w in scene.of_class("water body")])
        for ship in scene.of_class("ship"):
            around = shift(ship.mask, 1, 0) | shift(ship.mask, -1, 0) | shift(ship.mask, 0, 1) | shift(ship.mask, 0, -1)
            ring = around & ~ship.mask
            assert ring.any() and (ring & ~water).sum() == 0


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError, match="gsd"):
        generate_scene(0, 32, gsd=10.0)
    with pytest.raises(ValueError, match="unknown class"):
        generate_scene(0, 32, classes=["castle"])
    with pytest.raises(ValueError, match="at least 16"):
        generate_scene(0, 8)


def test_generator_draws_exactly_the_shared_vocabulary():
    assert set(SYNTHETIC_CLASSES) == {c.name for c in CLASSES}


def test_cast_shadow_is_the_swept_footprint_minus_the_object():
    footprint = np.zeros((6, 6), dtype=bool)
    footprint[1:3, 1:3] = True
    shadow = cast_shadow(footprint, 2, (1.0, 0.0))  # two pixels downwards
    expected = np.zeros((6, 6), dtype=bool)
    expected[3:5, 1:3] = True  # rows 2..4 swept, row 2 is the object itself
    assert np.array_equal(shadow, expected)


def test_box_blur_is_a_mean_filter():
    image = np.zeros((5, 5))
    image[2, 2] = 9.0
    blurred = box_blur(image, 1)
    assert blurred[2, 2] == pytest.approx(1.0)  # 9 spread over a 3x3 window
    assert blurred[0, 0] == pytest.approx(0.0)
    assert blurred.sum() == pytest.approx(9.0)


def test_value_noise_is_smooth_and_bounded():
    noise = value_noise(np.random.default_rng(0), (40, 40), cell=10)
    assert noise.min() >= 0 and noise.max() <= 1
    assert np.abs(np.diff(noise, axis=1)).max() < 0.3  # neighbours differ little at a 10 px cell
