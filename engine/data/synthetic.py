"""Synthetic remote-sensing scenes with instance masks, deterministic from a seed.

Object sizes are drawn in metres and converted with the ground sample distance (GSD), so a class shows up at many
pixel scales across scenes (a 30 m tank is 100 px wide at 0.3 m/px and 6 px at 5 m/px). All shadows fall in one sun
direction per scene. Geometry is built with shapely and rasterised with rasterio; textures are numpy noise.

Instance masks hold the visible pixels: an object drawn later (a ship on water, a car on a road) hides what is below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from .raster import geometry_mask
from .sample import Instance, Scene
from .textures import box_blur, cast_shadow, fractal_noise, shift, value_noise

GSD_RANGE = (0.3, 5.0)

# Instance count ranges per class (before objects that do not fit or are too small are dropped).
_COUNTS = {
    "field": (1, 4),
    "water body": (1, 1),
    "road": (1, 3),
    "airplane": (1, 5),
    "storage tank": (2, 9),
    "building": (3, 14),
    "tree": (4, 24),
    "vehicle": (3, 14),
    "ship": (1, 6),
}
# Drawing order, bottom layer first.
_LAYER_ORDER = ("field", "water body", "road", "airplane", "storage tank", "building", "tree", "vehicle", "ship")
_TRIES = 40


@dataclass
class _Canvas:
    """The scene being drawn: float RGB, the top-most instance id per pixel, and where discrete objects stand."""

    rng: np.random.Generator
    gsd: float
    image: np.ndarray
    ids: np.ndarray
    occupied: np.ndarray
    water: np.ndarray
    road: np.ndarray
    apron: np.ndarray
    shadow_dir: tuple[float, float]  # unit (row, col) vector along which shadows fall
    shadow_ratio: float  # shadow length per metre of height (1 / tan(sun elevation))
    labels: dict[int, str]

    @property
    def shape(self) -> tuple[int, int]:
        return self.ids.shape

    def px(self, metres: float) -> float:
        return metres / self.gsd

    def mask(self, geometry: BaseGeometry) -> np.ndarray:
        return geometry_mask(geometry, self.shape)

    def add(self, class_name: str, footprint: np.ndarray) -> int:
        instance_id = len(self.labels) + 1
        self.labels[instance_id] = class_name
        self.ids[footprint] = instance_id
        return instance_id

    def shade(self, footprint: np.ndarray, height_m: float, factor: float = 0.5) -> None:
        """Darken the ground in the shadow of an object of the given height."""
        length = self.px(height_m * self.shadow_ratio)
        if length >= 1:
            self.image[cast_shadow(footprint, length, self.shadow_dir)] *= factor

    def texture(self, base: Sequence[float], amplitude: float, cell: float = 4.0) -> np.ndarray:
        """An (H, W, 3) colour field: ``base`` plus brightness noise of the given amplitude."""
        noise = value_noise(self.rng, self.shape, cell) - 0.5
        grain = self.rng.normal(0.0, amplitude * 0.3, self.shape)
        return np.asarray(base, dtype=float)[None, None, :] + (amplitude * noise + grain)[..., None]

    def random_point(self, margin: float = 0.0) -> tuple[float, float]:
        h, w = self.shape
        return float(self.rng.uniform(margin, w - margin)), float(self.rng.uniform(margin, h - margin))


def generate_scene(
    seed: int,
    size: int | tuple[int, int] = 256,
    gsd: float | None = None,
    classes: Sequence[str] | None = None,
    min_pixels: int = 6,
) -> Scene:
    """Draw one scene. ``classes`` limits which classes may appear (all by default); each appears with chance 0.7.

    ``gsd`` in metres per pixel, drawn log-uniformly in 0.3-5 m when None. Instances with fewer than
    ``min_pixels`` visible pixels are dropped, so tiny vehicles vanish at coarse resolutions as they would in
    real imagery.
    """
    height, width = (size, size) if isinstance(size, int) else size
    if height < 16 or width < 16:
        raise ValueError(f"scene size must be at least 16x16 pixels, got {height}x{width}")
    wanted = list(_LAYER_ORDER if classes is None else classes)
    unknown = [c for c in wanted if c not in _COUNTS]
    if unknown:
        raise ValueError(f"unknown class(es) {unknown}; known: {sorted(_COUNTS)}")
    rng = np.random.default_rng(seed)
    if gsd is None:
        gsd = float(math.exp(rng.uniform(math.log(GSD_RANGE[0]), math.log(GSD_RANGE[1]))))
    if not GSD_RANGE[0] <= gsd <= GSD_RANGE[1]:
        raise ValueError(f"gsd must be within {GSD_RANGE[0]}-{GSD_RANGE[1]} m/px, got {gsd}")

    present = [c for c in wanted if rng.random() < 0.7] or [wanted[int(rng.integers(len(wanted)))]]
    if "ship" in present and "water body" not in present:
        present.append("water body")
    azimuth = rng.uniform(0, 2 * math.pi)
    elevation = math.radians(rng.uniform(35, 65))
    canvas = _Canvas(
        rng=rng,
        gsd=gsd,
        image=np.zeros((height, width, 3)),
        ids=np.zeros((height, width), dtype=np.int32),
        occupied=np.zeros((height, width), dtype=bool),
        water=np.zeros((height, width), dtype=bool),
        road=np.zeros((height, width), dtype=bool),
        apron=np.zeros((height, width), dtype=bool),
        shadow_dir=(math.sin(azimuth), math.cos(azimuth)),
        shadow_ratio=1.0 / math.tan(elevation),
        labels={},
    )
    _draw_background(canvas)
    for class_name in _LAYER_ORDER:
        if class_name in present:
            low, high = _COUNTS[class_name]
            _DRAWERS[class_name](canvas, int(rng.integers(low, high + 1)))
    image = _finish(canvas)
    instances = []
    for instance_id, class_name in canvas.labels.items():
        mask = canvas.ids == instance_id
        if mask.sum() >= min_pixels:
            instances.append(Instance(class_name, mask, len(instances) + 1))
    return Scene(image=image, instances=instances, gsd=gsd, name=f"synthetic-{seed}")


# --- geometry helpers (pixel coordinates: x = column, y = row) ---


def _placed(shape: BaseGeometry, x: float, y: float, angle_deg: float) -> BaseGeometry:
    return affinity.translate(affinity.rotate(shape, angle_deg, origin=(0, 0)), x, y)


def _blob(rng: np.random.Generator, radius: float, roughness: float, points: int = 48) -> Polygon:
    """A closed irregular outline around the origin: a circle with smooth random radial bumps."""
    theta = np.linspace(0, 2 * math.pi, points, endpoint=False)
    r = np.ones(points)
    for k in (2, 3, 5):
        r += roughness / k * np.sin(k * theta + rng.uniform(0, 2 * math.pi))
    r = radius * np.clip(r, 0.3, None)
    return Polygon(np.column_stack([r * np.cos(theta), r * np.sin(theta)]))


def _fits(canvas: _Canvas, mask: np.ndarray, forbidden: np.ndarray, expected_px: float) -> bool:
    """True when the footprint is mostly inside the image and touches nothing forbidden."""
    area = int(mask.sum())
    return area > 0 and area >= 0.6 * expected_px and not (mask & forbidden).any()


# --- layers ---


def _draw_background(c: _Canvas) -> None:
    shape = c.shape
    mix = fractal_noise(c.rng, shape, cell=c.px(120), octaves=4)[..., None]
    soil = np.array([150, 132, 104]) + c.rng.normal(0, 6, 3)
    grass = np.array([92, 116, 64]) + c.rng.normal(0, 6, 3)
    detail = fractal_noise(c.rng, shape, cell=max(2.0, c.px(6)), octaves=2)[..., None] - 0.5
    c.image[:] = soil * (1 - mix) + grass * mix + 30 * detail + c.rng.normal(0, 4, shape)[..., None]


def _draw_fields(c: _Canvas, count: int) -> None:
    h, w = c.shape
    crops = ([84, 124, 52], [182, 162, 92], [138, 108, 78], [112, 140, 70])
    for _ in range(count):
        for _ in range(_TRIES):
            fw, fh = c.rng.uniform(60, 300, 2)
            if c.px(min(fw, fh)) < 6:
                fw, fh = fw * 2, fh * 2
            angle = c.rng.uniform(-30, 30)
            x, y = c.random_point()
            geom = _placed(box(-c.px(fw) / 2, -c.px(fh) / 2, c.px(fw) / 2, c.px(fh) / 2), x, y, angle)
            mask = c.mask(geom)
            if mask.sum() >= 0.3 * geom.area and not (mask & (c.ids > 0)).any():
                break
        else:
            continue
        rows, cols = np.mgrid[0:h, 0:w]
        a = math.radians(angle)
        period = max(2.0, c.px(c.rng.uniform(2, 6)))
        stripes = np.sin((cols * math.cos(a) + rows * math.sin(a)) * 2 * math.pi / period)
        colour = c.texture(crops[int(c.rng.integers(len(crops)))], 18, cell=c.px(25))
        colour += 10 * stripes[..., None]
        c.image[mask] = colour[mask]
        c.add("field", mask)


def _draw_water(c: _Canvas, count: int) -> None:
    h, w = c.shape
    for _ in range(count):
        radius = c.rng.uniform(0.25, 0.5) * min(h, w)
        x, y = c.random_point()
        geom = affinity.translate(_blob(c.rng, radius, 0.35), x, y)
        mask = c.mask(geom)
        if mask.sum() < 0.05 * h * w:
            continue
        colour = c.texture(np.array([34, 58, 70]) + c.rng.normal(0, 5, 3), 8, cell=c.px(40))
        # Shallow margins look lighter and greener.
        edge = box_blur(mask.astype(float), max(1, int(c.px(6)))) < 0.9
        colour[edge & mask] += [10, 16, 6]
        c.image[mask] = colour[mask]
        c.water |= mask
        c.add("water body", mask)


def _draw_roads(c: _Canvas, count: int) -> None:
    h, w = c.shape
    for _ in range(count):
        width_m = c.rng.uniform(6, 20)
        # A polyline crossing the scene from one side to another with a bend or two.
        side = c.rng.integers(2)
        n = int(c.rng.integers(2, 5))
        t = np.linspace(-0.1, 1.1, n)
        offsets = c.rng.uniform(0.1, 0.9) + np.cumsum(c.rng.normal(0, 0.12, n))
        pts = np.column_stack([t * w, offsets * h]) if side == 0 else np.column_stack([offsets * w, t * h])
        geom = LineString(pts).buffer(c.px(width_m) / 2, cap_style="flat")
        mask = c.mask(geom) & ~c.water
        if not mask.any():
            continue
        colour = c.texture(np.array([108.0, 108.0, 112.0]) + c.rng.normal(0, 8), 10, cell=max(2.0, c.px(3)))
        c.image[mask] = colour[mask]
        if width_m >= 10 and c.px(0.3) >= 0.5:
            centre = c.mask(LineString(pts).buffer(max(0.6, c.px(0.15)))) & mask
            c.image[centre] = [205, 205, 200]
        c.road |= mask
        c.add("road", mask)


def _plane_shape(length: float) -> BaseGeometry:
    """A top-down airliner silhouette pointing along +x, ``length`` pixels long."""
    half = length / 2
    body_w = 0.1 * length
    fuselage = Polygon(
        [(-half, -body_w / 2), (half - 0.1 * length, -body_w / 2), (half, 0), (half - 0.1 * length, body_w / 2)]
        + [(-half, body_w / 2)]
    )
    span = 0.95 * length
    wings = Polygon(
        [(0.12 * length, -body_w / 2), (-0.12 * length, -span / 2), (-0.2 * length, -span / 2)]
        + [(-0.08 * length, -body_w / 2), (-0.08 * length, body_w / 2), (-0.2 * length, span / 2)]
        + [(-0.12 * length, span / 2), (0.12 * length, body_w / 2)]
    )
    tail = Polygon(
        [(-0.33 * length, -body_w / 2), (-half, -0.18 * length), (-half, 0.18 * length), (-0.33 * length, body_w / 2)]
    )
    return unary_union([fuselage, wings, tail])


def _draw_airplanes(c: _Canvas, count: int) -> None:
    h, w = c.shape
    ax, ay = c.random_point()
    aw, ah = c.rng.uniform(0.5, 0.9) * w, c.rng.uniform(0.4, 0.7) * h
    apron = c.mask(box(ax - aw / 2, ay - ah / 2, ax + aw / 2, ay + ah / 2)) & ~c.water
    colour = c.texture([176, 176, 170], 10, cell=c.px(20))
    c.image[apron] = colour[apron]
    c.apron |= apron
    for _ in range(count):
        length_m = c.rng.uniform(20, 70)
        if c.px(length_m) > 0.6 * min(h, w):
            continue
        for _ in range(_TRIES):
            x, y = c.random_point(c.px(length_m) / 2)
            geom = _placed(_plane_shape(c.px(length_m)), x, y, c.rng.uniform(0, 360))
            mask = c.mask(geom)
            if _fits(c, mask, c.occupied | ~apron, geom.area):
                break
        else:
            continue
        c.shade(mask, 4.0, 0.55)
        paint_colour = c.texture(np.array([222.0, 224.0, 226.0]) + c.rng.normal(0, 6, 3), 6)
        c.image[mask] = paint_colour[mask]
        c.occupied |= c.mask(geom.buffer(c.px(3)))
        c.add("airplane", mask)


def _draw_tanks(c: _Canvas, count: int) -> None:
    h, w = c.shape
    diameter_m = c.rng.uniform(10, 80)  # one farm, similar tanks, some size spread
    forbidden = c.water | c.road | c.apron | c.occupied
    for _ in range(count):
        d_m = float(np.clip(diameter_m * c.rng.uniform(0.6, 1.3), 10, 80))
        r = c.px(d_m) / 2
        if 2 * r > 0.6 * min(h, w):
            continue
        for _ in range(_TRIES):
            x, y = c.random_point(r)
            mask = c.mask(Point(x, y).buffer(r, quad_segs=16))
            if _fits(c, mask, forbidden, math.pi * r * r):
                break
        else:
            continue
        wall_m = c.rng.uniform(10, 18)
        c.shade(mask, wall_m, 0.5)
        roof = c.texture(np.array([214.0, 214.0, 208.0]) + c.rng.normal(0, 8), 10, cell=max(2.0, r / 2))
        c.image[mask] = roof[mask]
        if c.rng.random() < 0.7:
            # Floating roof: the sun-side wall shades a crescent of the recessed roof.
            depth = c.px(c.rng.uniform(0.15, 0.7) * wall_m * c.shadow_ratio)
            dy, dx = round(c.shadow_dir[0] * depth), round(c.shadow_dir[1] * depth)
            rim = mask & ~c.mask(Point(x, y).buffer(max(r - c.px(1.0), 0.5)))
            c.image[rim] = c.image[rim] * 0.5 + 110
            crescent = mask & ~shift(mask, dy, dx)
            c.image[crescent] *= 0.3
        else:
            # Fixed cone roof: brighter towards the sun.
            rows, cols = np.nonzero(mask)
            lit = -((rows - y) * c.shadow_dir[0] + (cols - x) * c.shadow_dir[1]) / max(r, 1)
            c.image[rows, cols] *= (1 + 0.15 * lit)[:, None]
        forbidden |= c.mask(Point(x, y).buffer(r + c.px(4)))
        c.occupied |= mask
        c.add("storage tank", mask)


def _building_shape(rng: np.random.Generator, length: float, width: float) -> BaseGeometry:
    main = box(-length / 2, -width / 2, length / 2, width / 2)
    if rng.random() < 0.35:  # L-shape: a wing on one end
        wing_len = rng.uniform(0.5, 1.2) * width
        wing = box(length / 2 - width, width / 2, length / 2, width / 2 + wing_len)
        return unary_union([main, wing])
    return main


def _draw_buildings(c: _Canvas, count: int) -> None:
    h, w = c.shape
    roofs = ([150, 150, 152], [168, 96, 78], [196, 190, 178], [92, 92, 98], [122, 134, 146])
    angle = c.rng.uniform(0, 180)  # buildings along one street grid
    for _ in range(count):
        length_m, width_m = c.rng.uniform(10, 45), c.rng.uniform(8, 20)
        if c.px(length_m) > 0.6 * min(h, w):
            continue
        forbidden = c.water | c.road | c.apron | c.occupied
        for _ in range(_TRIES):
            x, y = c.random_point()
            shape = _building_shape(c.rng, c.px(length_m), c.px(width_m))
            geom = _placed(shape, x, y, angle + c.rng.choice([0.0, 90.0]) + c.rng.normal(0, 3))
            mask = c.mask(geom)
            if _fits(c, mask, forbidden, geom.area):
                break
        else:
            continue
        c.shade(mask, c.rng.uniform(3, 20), 0.45)
        roof = c.texture(np.array(roofs[int(c.rng.integers(len(roofs)))]) + c.rng.normal(0, 6, 3), 8)
        rows, cols = np.nonzero(mask)
        if c.rng.random() < 0.5:  # gable roof: two halves lit differently
            centroid = geom.centroid
            a = math.radians(angle)
            side = np.sign((cols - centroid.x) * -math.sin(a) + (rows - centroid.y) * math.cos(a))
            roof[rows, cols] *= (1 + 0.12 * side)[:, None]
        c.image[mask] = roof[mask]
        c.occupied |= c.mask(geom.buffer(c.px(2)))
        c.add("building", mask)


def _draw_trees(c: _Canvas, count: int) -> None:
    forbidden = c.water | c.road | c.apron | c.occupied
    cx, cy = c.random_point()  # trees grow in a loose group
    for _ in range(count):
        crown_m = c.rng.uniform(3, 15)
        r = c.px(crown_m) / 2
        for _ in range(_TRIES):
            spread = c.rng.normal(0, 0.25 * min(c.shape), 2)
            x, y = cx + spread[0], cy + spread[1]
            geom = affinity.translate(_blob(c.rng, r, 0.25, 24), x, y)
            mask = c.mask(geom)
            if _fits(c, mask, forbidden, geom.area):
                break
        else:
            continue
        c.shade(mask, crown_m * c.rng.uniform(0.8, 1.5), 0.5)
        crown = c.texture(np.array([52.0, 84.0, 40.0]) + c.rng.normal(0, 5, 3), 26, cell=max(1.5, r / 2))
        rows, cols = np.nonzero(mask)
        lit = -((rows - y) * c.shadow_dir[0] + (cols - x) * c.shadow_dir[1]) / max(r, 1)
        crown[rows, cols] *= (1 + 0.2 * np.clip(lit, -1, 1))[:, None]
        c.image[mask] = crown[mask]
        forbidden |= mask
        c.occupied |= mask
        c.add("tree", mask)


def _draw_vehicles(c: _Canvas, count: int) -> None:
    paints = ([230, 230, 232], [30, 30, 34], [150, 24, 28], [40, 64, 140], [170, 170, 176], [200, 180, 40])
    ground = c.road | c.apron
    if not ground.any():
        ground = ~(c.water | c.occupied)
    rows_ok, cols_ok = np.nonzero(ground & ~c.occupied)
    if rows_ok.size == 0:
        return
    for _ in range(count):
        length_m, width_m = c.rng.uniform(4, 5), c.rng.uniform(1.8, 2.2)
        for _ in range(_TRIES):
            k = int(c.rng.integers(rows_ok.size))
            y, x = float(rows_ok[k]) + 0.5, float(cols_ok[k]) + 0.5
            angle = _local_direction(c.road, int(y), int(x)) if c.road[int(y), int(x)] else c.rng.uniform(0, 180)
            half_l, half_w = c.px(length_m) / 2, c.px(width_m) / 2
            geom = _placed(box(-half_l, -half_w, half_l, half_w), x, y, angle)
            mask = c.mask(geom)
            if mask.any() and not (mask & (c.occupied | c.water)).any():
                break
        else:
            continue
        c.shade(mask, 1.5, 0.55)
        colour = np.array(paints[int(c.rng.integers(len(paints)))], dtype=float) + c.rng.normal(0, 5, 3)
        c.image[mask] = colour
        c.occupied |= c.mask(geom.buffer(c.px(0.8)))
        c.add("vehicle", mask)


def _local_direction(mask: np.ndarray, row: int, col: int) -> float:
    """Approximate orientation in degrees (x towards y) of a linear structure around a pixel, from its moments."""
    r0, r1 = max(0, row - 12), row + 13
    c0, c1 = max(0, col - 12), col + 13
    rows, cols = np.nonzero(mask[r0:r1, c0:c1])
    if rows.size < 3:
        return 0.0
    cov = np.cov(np.vstack([cols, rows]).astype(float))
    return math.degrees(0.5 * math.atan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1]))


def _hull_shape(length: float, beam: float) -> Polygon:
    """A ship hull pointing along +x: square stern, pointed bow."""
    bow = 0.2 * length
    half_l, half_b = length / 2, beam / 2
    return Polygon(
        [(-half_l, -half_b), (half_l - bow, -half_b), (half_l, 0), (half_l - bow, half_b), (-half_l, half_b)]
    )


def _draw_ships(c: _Canvas, count: int) -> None:
    hulls = ([226, 226, 222], [120, 124, 130], [140, 50, 44], [60, 70, 90])
    for _ in range(count):
        length_m = c.rng.uniform(12, 150)
        beam_m = length_m * c.rng.uniform(0.14, 0.2)
        if c.px(length_m) > 0.6 * min(c.shape):
            continue
        for _ in range(_TRIES):
            x, y = c.random_point()
            angle = c.rng.uniform(0, 360)
            geom = _placed(_hull_shape(c.px(length_m), c.px(beam_m)), x, y, angle)
            mask = c.mask(geom)
            margin = c.mask(geom.buffer(c.px(3)))
            if mask.any() and not (margin & ~c.water).any() and not (margin & c.occupied).any():
                break
        else:
            continue
        if c.rng.random() < 0.5:  # wake: brighter churned water trailing the stern
            a = math.radians(angle)
            stern = (x - math.cos(a) * c.px(length_m) / 2, y - math.sin(a) * c.px(length_m) / 2)
            tail = (
                stern[0] - math.cos(a) * c.px(length_m) * 2,
                stern[1] - math.sin(a) * c.px(length_m) * 2,
            )
            wake = LineString([stern, tail]).buffer(c.px(beam_m) * 0.8)
            wake_mask = c.mask(wake) & c.water & ~mask
            c.image[wake_mask] = c.image[wake_mask] * 0.6 + 70
        c.shade(mask, 3.0, 0.6)
        colour = c.texture(np.array(hulls[int(c.rng.integers(len(hulls)))]) + c.rng.normal(0, 5, 3), 8)
        c.image[mask] = colour[mask]
        superstructure = c.mask(
            _placed(
                box(-0.45 * c.px(length_m), -0.3 * c.px(beam_m), -0.25 * c.px(length_m), 0.3 * c.px(beam_m)),
                x,
                y,
                angle,
            )
        )
        c.image[superstructure & mask] = c.image[superstructure & mask] * 0.5 + 120
        c.occupied |= c.mask(geom.buffer(c.px(2)))
        c.add("ship", mask)


def _finish(c: _Canvas) -> np.ndarray:
    """Sensor look: slight optical blur and noise, then 8-bit."""
    image = 0.65 * c.image + 0.35 * box_blur(c.image, 1)
    image += c.rng.normal(0, 2.5, image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


_DRAWERS = {
    "field": _draw_fields,
    "water body": _draw_water,
    "road": _draw_roads,
    "airplane": _draw_airplanes,
    "storage tank": _draw_tanks,
    "building": _draw_buildings,
    "tree": _draw_trees,
    "vehicle": _draw_vehicles,
    "ship": _draw_ships,
}
# The classes this generator can draw (tests check they match the vocabulary of templates.py).
SYNTHETIC_CLASSES: tuple[str, ...] = _LAYER_ORDER
