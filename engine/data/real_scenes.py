"""Real labelled imagery whose licences allow training, turned into the same scenes and samples as synthetic data.

- SpaceNet Atlanta (CC BY-SA 4.0): panchromatic uint16 at 0.5 m, building footprints (GeoJSON in the raster CRS).
- SpaceNet Las Vegas roads (CC BY-SA 4.0): image plus a 0/255 road mask; each connected road network is an instance.
- NAIP (public domain): RGB+NIR; water is where NDWI = (G - NIR) / (G + NIR) exceeds a threshold, one instance per
  connected water body. The default threshold 0.3 sits in the gap between the land and water modes of NDWI.

Scenes are cut into tiles with :func:`tile_scene`; :func:`scene_samples` of ``scene_text`` turns tiles into samples.
Files under folders named ``demo`` or ``eval_only`` are refused: those scenes are for evaluation only.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import rasterio
from pyproj import Geod
from rasterio.features import rasterize
from shapely.geometry import shape

from ..geo.regions import connected_regions
from ..imagery import to_rgb8
from .sample import DataFormatError, Instance, Scene

RESTRICTED_FOLDERS = ("demo", "eval_only")
NEON_GSD = 0.1  # NEON's airborne RGB mosaics are 10 cm; the PNG scenes carry no georeference
# Classes each real scene is known to lack (it labels one class only): safe "none here" questions.
ATLANTA_ABSENT = ("storage tank", "ship", "airplane", "water body")
NEON_ABSENT = ("storage tank", "ship", "airplane", "building", "water body", "vehicle")


class RestrictedDataError(DataFormatError):
    """The file is reserved for evaluation and must not feed training."""


def _check_allowed(path: Path) -> Path:
    path = Path(path)
    if any(part in RESTRICTED_FOLDERS for part in path.parts):
        raise RestrictedDataError(f"{path} is an evaluation-only file and cannot be used for training data")
    if not path.is_file():
        raise DataFormatError(f"file not found: {path}")
    return path


def pixel_size_m(src: rasterio.DatasetReader) -> float:
    """Ground sample distance in metres, also for rasters in geographic (degree) coordinates."""
    if src.crs is not None and src.crs.is_geographic:
        geod = Geod(ellps="WGS84")
        lon, lat = src.xy(src.height // 2, src.width // 2)
        _, _, dx = geod.inv(lon, lat, lon + src.res[0], lat)
        _, _, dy = geod.inv(lon, lat, lon, lat + src.res[1])
        return float(math.sqrt(dx * dy))
    return float(math.sqrt(src.res[0] * src.res[1]))


def connected_instances(mask: np.ndarray, class_name: str, min_pixels: int = 1) -> list[Instance]:
    """One instance per 8-connected region of a bool mask, regions under ``min_pixels`` left out.

    8-connected, unlike the pipeline's 4-connected objects (:mod:`..geo.regions`), on purpose: a water body or road
    network whose pixels touch at a corner stays one instance, as in the labels trained on so far. 4-connected
    regions would reshape 33 of the NAIP scene's 57 water bodies and drop 568 of its 163,161 water pixels
    (corner-attached bits fall under the minimum area).
    """
    return [
        Instance(class_name, region, k)
        for k, region in enumerate(connected_regions(mask, min_pixels, connectivity=8), start=1)
    ]


def atlanta_buildings(image_path: str | Path, footprints_path: str | Path) -> Scene:
    """SpaceNet Atlanta tile with one building instance per footprint polygon (GeoJSON in the raster's CRS)."""
    image_path, footprints_path = _check_allowed(image_path), _check_allowed(footprints_path)
    with rasterio.open(image_path) as src:
        pixels = src.read()
        transform, nodata, gsd = src.transform, src.nodata, pixel_size_m(src)
        raster_epsg = src.crs.to_epsg() if src.crs else None
    collection = json.loads(footprints_path.read_text(encoding="utf-8"))
    crs_name = str(collection.get("crs", {}).get("properties", {}).get("name", ""))
    if raster_epsg and crs_name and not crs_name.endswith(f":{raster_epsg}"):
        raise DataFormatError(f"{footprints_path.name} is in {crs_name}, the raster in EPSG:{raster_epsg}")
    rgb, _ = to_rgb8(pixels, nodata=nodata)
    instances = []
    for feature in collection.get("features", []):
        geom = shape(feature["geometry"])
        if geom.is_empty:
            continue
        mask = rasterize([(geom, 1)], out_shape=rgb.shape[:2], transform=transform, fill=0, dtype="uint8") > 0
        if mask.any():
            instances.append(Instance("building", mask, len(instances) + 1))
    return Scene(rgb, instances, gsd, image_path.stem, ATLANTA_ABSENT)


def vegas_roads(image_path: str | Path, mask_path: str | Path, min_pixels: int = 50) -> Scene:
    """SpaceNet Las Vegas roads: the road mask split into connected road networks."""
    image_path, mask_path = _check_allowed(image_path), _check_allowed(mask_path)
    with rasterio.open(image_path) as src:
        rgb, _ = to_rgb8(src.read(), nodata=src.nodata)
        gsd = pixel_size_m(src)
    with rasterio.open(mask_path) as src:
        roads = src.read(1) > 0
    if roads.shape != rgb.shape[:2]:
        raise DataFormatError(f"road mask {roads.shape} and image {rgb.shape[:2]} differ in size")
    roads = connected_instances(roads, "road", min_pixels)
    return Scene(rgb, roads, gsd, image_path.stem, ("storage tank", "ship", "airplane", "water body"))


def naip_water(
    path: str | Path, ndwi_threshold: float = 0.3, min_area_m2: float = 2000.0, bands: tuple[int, int] = (2, 4)
) -> Scene:
    """NAIP water bodies from NDWI on (green, NIR) band numbers; small wet patches are dropped."""
    path = _check_allowed(path)
    with rasterio.open(path) as src:
        if src.count < max(bands):
            raise DataFormatError(f"{path.name} has {src.count} bands; NDWI needs bands {bands} (green, NIR)")
        pixels = src.read()
        gsd, nodata = pixel_size_m(src), src.nodata
    rgb, valid = to_rgb8(pixels[:3], nodata=nodata)
    green, nir = (pixels[b - 1].astype(float) for b in bands)
    with np.errstate(divide="ignore", invalid="ignore"):
        ndwi = np.where(green + nir > 0, (green - nir) / (green + nir), -1.0)
    water = (ndwi > ndwi_threshold) & valid
    min_pixels = max(1, int(math.ceil(min_area_m2 / (gsd * gsd))))
    water = connected_instances(water, "water body", min_pixels)
    return Scene(rgb, water, gsd, path.stem, ("storage tank", "ship", "airplane", "vehicle"))


def neon_trees(image_path: str | Path, boxes_path: str | Path, gsd: float = NEON_GSD) -> Scene:
    """A NEON airborne scene with one tree instance per hand-drawn crown box (Pascal VOC XML, pixel coordinates).

    A crown is drawn as the ellipse inscribed in its box: crowns are roughly round, and the boxes are all the
    labels say. Overlapping crowns keep the pixels of the one drawn first (so instances stay disjoint).
    """
    image_path, boxes_path = _check_allowed(image_path), _check_allowed(boxes_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)  # the PNG scenes: pixels only
        src = rasterio.open(image_path)
    with src:
        rgb, _ = to_rgb8(src.read()[:3], nodata=src.nodata)
        if src.crs is not None:
            gsd = pixel_size_m(src)
    taken = np.zeros(rgb.shape[:2], dtype=bool)
    instances = []
    for xmin, ymin, xmax, ymax in read_voc_boxes(boxes_path):
        top, left = max(int(ymin), 0), max(int(xmin), 0)
        rows, cols = np.mgrid[
            top : min(int(math.ceil(ymax)) + 1, rgb.shape[0]), left : min(int(math.ceil(xmax)) + 1, rgb.shape[1])
        ]
        cy, cx, ry, rx = (ymin + ymax) / 2, (xmin + xmax) / 2, max((ymax - ymin) / 2, 1), max((xmax - xmin) / 2, 1)
        inside = ((rows - cy) / ry) ** 2 + ((cols - cx) / rx) ** 2 <= 1.0
        mask = np.zeros_like(taken)
        mask[rows[inside], cols[inside]] = True
        mask &= ~taken
        if mask.sum() >= 16:
            taken |= mask
            instances.append(Instance("tree", mask, len(instances) + 1))
    return Scene(rgb, instances, gsd, image_path.stem, NEON_ABSENT)


def read_voc_boxes(path: str | Path) -> list[tuple[float, float, float, float]]:
    """``(xmin, ymin, xmax, ymax)`` of every object in a Pascal VOC annotation file."""
    import xml.etree.ElementTree as ElementTree  # noqa: S405  # nosec B405 - the data folder's own label files

    try:
        root = ElementTree.parse(path).getroot()  # noqa: S314  # nosec B314 - the data folder's own label files
    except ElementTree.ParseError as exc:
        raise DataFormatError(f"{Path(path).name} is not a readable Pascal VOC file: {exc}") from exc
    boxes = []
    for box in root.iter("bndbox"):
        values = [float(box.findtext(k, "nan")) for k in ("xmin", "ymin", "xmax", "ymax")]
        if all(math.isfinite(v) for v in values) and values[2] > values[0] and values[3] > values[1]:
            boxes.append(tuple(values))
    return boxes


def tile_scene(scene: Scene, size: int, stride: int | None = None, min_pixels: int = 16) -> Iterator[Scene]:
    """Square tiles (the last row and column are shifted inwards so every tile is full size)."""
    height, width = scene.image.shape[:2]
    if size > min(height, width):
        raise ValueError(f"tile size {size} exceeds the scene size {height}x{width}")
    stride = stride or size
    rows = sorted({*range(0, height - size + 1, stride), height - size})
    cols = sorted({*range(0, width - size + 1, stride), width - size})
    for r in rows:
        for c in cols:
            yield crop_scene(scene, r, c, size, min_pixels)


def crop_scene(scene: Scene, row: int, col: int, size: int, min_pixels: int = 16) -> Scene:
    """The ``size`` x ``size`` window at (row, col); instances with fewer than ``min_pixels`` in it are left out."""
    instances = []
    for inst in scene.instances:
        crop = inst.mask[row : row + size, col : col + size]
        if crop.sum() >= min_pixels:
            instances.append(Instance(inst.class_name, crop.copy(), len(instances) + 1))
    image = scene.image[row : row + size, col : col + size].copy()
    return Scene(image, instances, scene.gsd, f"{scene.name}:{row}:{col}", scene.absent_classes)
