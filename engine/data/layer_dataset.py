"""A training set from a user's own layers: a raster and a polygon file become chips, masks and grounded samples.

The folder it writes (``build_dataset``) reads back as :class:`Scene` chips (``read_dataset``), so the training data
mix can draw them like the real scenes, and holds everything a person needs to check the labels before training:
``report.json`` / ``report.txt`` (what was kept, dropped and why) and ``contact_sheet.png``.

Layout of a dataset folder::

    dataset.json        format tag, classes, chip ids, source raster, CRS
    chips/<id>.png      8-bit RGB as the model sees it
    chips/<id>.json     {"classes", "instances": [{"class", "geometry", "pixels"}], "gsd", "source", "window"}
    samples.jsonl       grounded instructions and answers; "masks" lists the instance indices behind each [SEG]
    report.json, report.txt, contact_sheet.png

Instance geometries are GeoJSON (Multi)Polygons in chip pixel coordinates (x right, y down, the chip's top-left
corner at 0, 0); a mask is the pixels whose centres the geometry covers, as ``rasterio.features.rasterize`` draws it,
so the builder and the reader get the same masks.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import uuid
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import shapely
from affine import Affine
from PIL import Image, ImageDraw
from rasterio.features import rasterize
from rasterio.windows import Window, from_bounds
from shapely.geometry import box, mapping, shape
from shapely.strtree import STRtree

from ..geo.errors import NoCRSWarning
from ..geo.raster import global_limits, open_raster, plan_bands, read_rgb
from ..geo.tiles import spans
from .real_scenes import pixel_size_m
from .sample import DataFormatError, GroundedSample, Instance, Scene
from .scene_text import scene_samples

FORMAT = "geoground-layer-dataset"
FORMAT_VERSION = 1
# A polygon cut by a chip edge stays in that chip when at least this share of its area lies inside.
MIN_INSIDE_FRACTION = 0.5
CONTACT_CHIPS = 16
_THUMB = 256
_PALETTE = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180))


@dataclass
class BuildReport:
    """What a build kept and dropped, so a user can trust (or fix) their labels before training on them."""

    out_dir: str
    chips: int = 0
    instances: dict[str, int] = field(default_factory=dict)
    polygons: dict[str, int] = field(default_factory=dict)
    rejected_chips: dict[str, int] = field(default_factory=lambda: {"no instance": 0, "all nodata": 0})
    polygons_outside: int = 0
    overlapping_pairs: int = 0
    dropped_at_edges: int = 0
    too_small: int = 0
    reprojected: bool = False
    pixel_coordinates: bool = False
    raster_crs: str | None = None
    vector_crs: str | None = None
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        """A human-readable summary (what ``report.txt`` holds and the CLI prints)."""
        lines = [f"{self.chips} chips in {self.out_dir}"]
        lines += [
            f"  {name}: {n} instances from {self.polygons.get(name, 0)} polygons" for name, n in self.instances.items()
        ]
        lines.append(
            "chips rejected: " + ", ".join(f"{n} {why}" for why, n in self.rejected_chips.items())
            if any(self.rejected_chips.values())
            else "chips rejected: none"
        )
        lines.append(f"polygons outside the raster: {self.polygons_outside}")
        lines.append(f"overlapping polygon pairs: {self.overlapping_pairs}")
        lines.append(f"polygons dropped at chip edges (under half inside): {self.dropped_at_edges}")
        lines.append(f"polygon parts under the minimum size in a chip: {self.too_small}")
        if self.pixel_coordinates:
            lines.append("the raster has no CRS: polygons were read as pixel coordinates (x right, y down)")
        elif self.reprojected:
            lines.append(f"polygons reprojected from {self.vector_crs} to {self.raster_crs}")
        else:
            lines.append(f"polygons already in the raster's CRS ({self.raster_crs})")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def build_dataset(
    raster: str | Path,
    vector: str | Path,
    out_dir: str | Path,
    *,
    class_field: str | None = None,
    class_name: str | None = None,
    chip: int = 512,
    overlap: int = 64,
    area: tuple[float, float, float, float] | None = None,
    min_pixels: int = 16,
    seed: int = 0,
) -> BuildReport:
    """Cut ``raster`` into chips with one mask per polygon of ``vector`` and write a dataset folder to ``out_dir``.

    Classes come from the text field ``class_field`` or are all ``class_name``. The folder is built under a hidden
    sibling and renamed at the end, so a failure leaves nothing half-written.
    """
    if (class_field is None) == (class_name is None):
        raise DataFormatError("give exactly one of a class field or a class name")
    if class_name is not None and not class_name.strip():
        raise DataFormatError("the class name is empty")
    if chip < 16 or not 0 <= overlap < chip or min_pixels < 1:
        raise DataFormatError(
            f"need chip >= 16, 0 <= overlap < chip and min_pixels >= 1 (chip {chip}, overlap {overlap})"
        )
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise DataFormatError(f"{out_dir} already exists and is not an empty folder")
    geoms, labels, vector_crs = read_polygons(vector, class_field, class_name)
    report = BuildReport(out_dir=str(out_dir), vector_crs=vector_crs)
    report.polygons = dict(sorted(Counter(labels).items()))
    report.warnings += [
        f"class {name!r} has a single polygon: the model will see very few examples of it"
        for name, n in report.polygons.items()
        if n == 1
    ]
    temp = out_dir.parent / f".{out_dir.name}.building-{uuid.uuid4().hex[:8]}"
    try:
        (temp / "chips").mkdir(parents=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoCRSWarning)  # said in the report instead
            with open_raster(raster) as dataset:
                chips = _write_chips(dataset, geoms, labels, temp, report, chip, overlap, area, min_pixels)
        _finish(temp, chips, report, Path(raster).name, seed)
        if out_dir.exists():
            out_dir.rmdir()
        temp.rename(out_dir)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return report


def read_polygons(
    vector: str | Path, class_field: str | None, class_name: str | None
) -> tuple[list[shapely.Geometry], list[str], str | None]:
    """Valid polygon geometries, their class labels and the layer's CRS, with a clear error for each bad input."""
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        meta, _, wkb, values = pyogrio.raw.read(vector)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise DataFormatError(f"cannot read {vector} as a vector layer: {exc}") from exc
    fields = [str(f) for f in meta["fields"]]
    if class_field is not None and class_field not in fields:
        raise DataFormatError(f"the layer has no field {class_field!r}; its fields: {', '.join(fields) or 'none'}")
    try:
        geoms = [None if g is None else shapely.from_wkb(g) for g in wkb]
    except shapely.errors.GEOSException as exc:  # e.g. a ring that does not close
        raise DataFormatError(f"{Path(vector).name} holds an unreadable geometry: {exc}") from exc
    kept = [k for k, g in enumerate(geoms) if g is not None and not g.is_empty]
    if not kept:
        raise DataFormatError(f"{Path(vector).name} has no features with a geometry")
    kinds = sorted({geoms[k].geom_type for k in kept} - {"Polygon", "MultiPolygon"})
    if kinds:
        raise DataFormatError(f"{Path(vector).name} must hold polygons, it holds {', '.join(kinds)}")
    if class_field is None:
        labels = [str(class_name).strip()] * len(kept)
    else:
        column = values[fields.index(class_field)]
        if column.dtype != object or not all(isinstance(column[k], str) for k in kept if column[k] is not None):
            raise DataFormatError(f"field {class_field!r} must hold text (class names), it is {column.dtype}")
        labels = [str(column[k] or "").strip() for k in kept]
        if not all(labels):
            raise DataFormatError(f"field {class_field!r} is empty for {labels.count('')} polygon(s)")
    polygons = [_polygonal(shapely.make_valid(geoms[k])) for k in kept]
    crs = meta.get("crs")
    return polygons, labels, str(crs) if crs else None


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygon parts of a repaired geometry (make_valid may add stray lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _to_pixels(dataset, geoms: list, vector_crs: str | None, report: BuildReport) -> list:
    """Geometries in the raster's pixel coordinates, reprojected first when the layer's CRS differs."""
    if dataset.crs is None:
        report.pixel_coordinates = True
        return geoms
    from pyproj import CRS, Transformer

    report.raster_crs = dataset.crs.to_string()
    if vector_crs is None:
        report.warnings.append("the layer has no CRS: taken to be the raster's")
    elif CRS.from_user_input(vector_crs) != CRS.from_user_input(dataset.crs.to_wkt()):
        transformer = Transformer.from_crs(vector_crs, dataset.crs.to_wkt(), always_xy=True)
        geoms = [
            shapely.transform(g, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))) for g in geoms
        ]
        if not all(np.isfinite(shapely.get_coordinates(g)).all() for g in geoms):
            raise DataFormatError(
                f"the polygons do not reproject from the layer's CRS ({CRS.from_user_input(vector_crs).name}) to the "
                "raster's: check the layer's CRS (a GeoJSON without a crs member is read as WGS 84 longitudes and "
                "latitudes)"
            )
        report.reprojected = True
    inverse = ~dataset.transform
    params = [inverse.a, inverse.b, inverse.d, inverse.e, inverse.xoff, inverse.yoff]
    return [shapely.affinity.affine_transform(g, params) for g in geoms]


def _region(dataset, area: tuple[float, float, float, float] | None) -> Window:
    """The pixel window to cut chips from: the whole raster or ``area`` (raster CRS, pixels without one)."""
    full = Window(0, 0, dataset.width, dataset.height)
    if area is None:
        return full
    minx, miny, maxx, maxy = area
    if not (maxx > minx and maxy > miny):
        raise DataFormatError(f"the area must be minx miny maxx maxy with max > min, got {area}")
    if dataset.crs is None:
        window = Window(minx, miny, maxx - minx, maxy - miny)
    else:
        window = from_bounds(minx, miny, maxx, maxy, dataset.transform)
    window = window.round_offsets().round_lengths()
    try:
        return window.intersection(full)
    except Exception as exc:  # rasterio raises WindowError for disjoint windows
        raise DataFormatError(f"the area {area} lies outside the raster") from exc


def _write_chips(dataset, geoms, labels, folder, report, chip, overlap, area, min_pixels) -> list[dict]:
    region = _region(dataset, area)
    pixel = _to_pixels(dataset, geoms, report.vector_crs, report)
    bounds = box(region.col_off, region.row_off, region.col_off + region.width, region.row_off + region.height)
    inside = [k for k, g in enumerate(pixel) if not g.is_empty and g.intersects(bounds)]
    report.polygons_outside = len(pixel) - len(inside)
    if not inside:
        raise DataFormatError("no polygon lies inside the raster (or the area): check the layer's CRS and extent")
    tree = STRtree([pixel[k] for k in inside])
    left, right = tree.query([pixel[k] for k in inside], predicate="intersects")
    report.overlapping_pairs = sum(
        1 for a, b in zip(left, right) if a < b and pixel[inside[a]].intersection(pixel[inside[b]]).area > 0
    )
    plan = plan_bands(dataset)
    limits = global_limits(dataset, region, plan)
    gsd = pixel_size_m(dataset) if dataset.crs is not None else None
    classes = list(report.polygons)
    stem = Path(dataset.name).stem
    chips, counts = [], Counter()
    for row, height in ((int(region.row_off) + s, n) for s, n in spans(int(region.height), chip, overlap)):
        for col, width in ((int(region.col_off) + s, n) for s, n in spans(int(region.width), chip, overlap)):
            cell = box(col, row, col + width, row + height)
            instances = []
            for j in sorted(tree.query(cell, predicate="intersects")):
                geom = pixel[inside[j]]
                part = geom.intersection(cell)
                if part.area <= 0:  # touches the chip only along its edge
                    continue
                if part.area < MIN_INSIDE_FRACTION * geom.area:
                    report.dropped_at_edges += 1
                    continue
                local = shapely.affinity.translate(_polygonal(part), -col, -row)
                pixels = int(polygon_mask(local, (height, width)).sum())
                if pixels < min_pixels:
                    report.too_small += 1
                    continue
                instances.append({"class": labels[inside[j]], "geometry": mapping(local), "pixels": pixels})
            if not instances:
                report.rejected_chips["no instance"] += 1
                continue
            read = read_rgb(dataset, Window(col, row, width, height), (height, width), plan, limits=limits)
            if read is None:
                report.rejected_chips["all nodata"] += 1
                continue
            chip_id = f"{stem}_r{row}_c{col}"
            Image.fromarray(read[0]).save(folder / "chips" / f"{chip_id}.png")
            record = {
                "classes": classes,
                "instances": instances,
                "gsd": gsd,
                "source": Path(dataset.name).name,
                "window": [col, row, width, height],
            }
            (folder / "chips" / f"{chip_id}.json").write_text(json.dumps(record), encoding="utf-8")
            counts.update(inst["class"] for inst in instances)
            chips.append({"id": chip_id, **record})
    if not chips:
        raise DataFormatError(f"no chip holds an instance of at least {min_pixels} pixels")
    report.chips = len(chips)
    report.instances = {name: counts[name] for name in classes}
    return chips


def polygon_mask(geometry, shape_hw: tuple[int, int]) -> np.ndarray:
    """Pixels whose centres a chip-pixel-coordinate geometry covers (bool (H, W))."""
    geom = geometry if isinstance(geometry, shapely.Geometry) else shape(geometry)
    if geom.is_empty:
        return np.zeros(shape_hw, dtype=bool)
    return rasterize([(geom, 1)], out_shape=shape_hw, transform=Affine.identity(), fill=0, dtype="uint8") > 0


def _chip_scene(chip_id: str, record: dict, image: np.ndarray) -> Scene:
    height, width = image.shape[:2]
    instances = [
        Instance(inst["class"], polygon_mask(inst["geometry"], (height, width)), k)
        for k, inst in enumerate(record["instances"], start=1)
    ]
    present = {inst.class_name for inst in instances}
    absent = tuple(c for c in record["classes"] if c not in present)  # only classes this dataset labels
    gsd = float("nan") if record.get("gsd") is None else float(record["gsd"])
    return Scene(image, instances, gsd, chip_id, absent)


def _finish(folder: Path, chips: list[dict], report: BuildReport, source: str, seed: int) -> None:
    """Samples, manifest, reports and contact sheet of a built folder."""
    rng = np.random.default_rng(seed)
    with (folder / "samples.jsonl").open("w", encoding="utf-8") as out:
        for chip in chips:
            image = np.asarray(Image.open(folder / "chips" / f"{chip['id']}.png").convert("RGB"))
            scene = _chip_scene(chip["id"], chip, image)
            for sample in scene_samples(scene, rng):
                line = {
                    "id": sample.sample_id,
                    "chip": chip["id"],
                    "task": sample.task,
                    "instruction": sample.instruction,
                    "answer": sample.answer,
                    "classes": sample.classes,
                    "masks": [
                        _instance_indices(scene, m, c, sample.task) for m, c in zip(sample.masks, sample.classes)
                    ],
                }
                out.write(json.dumps(line) + "\n")
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "classes": list(report.polygons),
        "chips": [c["id"] for c in chips],
        "source": source,
        "crs": report.raster_crs,
    }
    (folder / "dataset.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    (folder / "report.json").write_text(json.dumps(asdict(report), indent=1), encoding="utf-8")
    (folder / "report.txt").write_text(report.text() + "\n", encoding="utf-8")
    contact_sheet(folder, chips[:CONTACT_CHIPS], list(report.polygons)).save(folder / "contact_sheet.png")


def _instance_indices(scene: Scene, mask: np.ndarray, class_name: str | None, task: str) -> list[int]:
    """0-based indices of the chip's instances whose union is one [SEG]'s mask (one for a referring answer)."""
    members = [k for k, inst in enumerate(scene.instances) if inst.class_name == class_name]
    if task == "referring":
        return [next(k for k in members if np.array_equal(scene.instances[k].mask, mask))]
    return members


def contact_sheet(folder: Path, chips: list[dict], classes: list[str]) -> Image.Image:
    """A grid of chips with their instance outlines, one colour per class, and the class names on each."""
    colours = {name: _PALETTE[k % len(_PALETTE)] for k, name in enumerate(classes)}
    columns = min(4, len(chips))
    sheet = Image.new("RGB", (columns * _THUMB, math.ceil(len(chips) / columns) * _THUMB), "black")
    for n, chip in enumerate(chips):
        image = Image.open(folder / "chips" / f"{chip['id']}.png").convert("RGB")
        scale = _THUMB / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
        draw = ImageDraw.Draw(image)
        for inst in chip["instances"]:
            geom = shape(inst["geometry"])
            for poly in getattr(geom, "geoms", [geom]):
                ring = [(x * scale, y * scale) for x, y in poly.exterior.coords]
                draw.line(ring, fill=colours[inst["class"]], width=2)
        for k, name in enumerate(dict.fromkeys(inst["class"] for inst in chip["instances"])):
            draw.text((4, 4 + 12 * k), name, fill=colours[name])
        sheet.paste(image, ((n % columns) * _THUMB, (n // columns) * _THUMB))
    return sheet


def _manifest(folder: str | Path) -> dict:
    path = Path(folder) / "dataset.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataFormatError(f"{folder} is not a layer dataset folder (no readable dataset.json): {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise DataFormatError(f"{path} is not a {FORMAT} manifest")
    return manifest


def dataset_classes(folder: str | Path) -> list[str]:
    """The classes a dataset folder labels (from its manifest, without reading the chips)."""
    return list(_manifest(folder)["classes"])


def read_dataset(folder: str | Path) -> list[Scene]:
    """Every chip of a dataset folder as a :class:`Scene` (absent classes: the dataset's classes it lacks)."""
    folder = Path(folder)
    scenes = []
    for chip_id in _manifest(folder)["chips"]:
        try:
            record = json.loads((folder / "chips" / f"{chip_id}.json").read_text(encoding="utf-8"))
            image = np.asarray(Image.open(folder / "chips" / f"{chip_id}.png").convert("RGB"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataFormatError(f"{folder}: chip {chip_id} is unreadable: {exc}") from exc
        scenes.append(_chip_scene(chip_id, record, image))
    return scenes


def read_samples(folder: str | Path) -> list[GroundedSample]:
    """The grounded samples of ``samples.jsonl``, masks rebuilt from the chips' instances."""
    folder = Path(folder)
    scenes = {scene.name: scene for scene in read_dataset(folder)}
    samples = []
    for line in (folder / "samples.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        scene = scenes[item["chip"]]
        empty = np.zeros(scene.image.shape[:2], dtype=bool)
        masks = [np.logical_or.reduce([empty, *(scene.instances[k].mask for k in ids)]) for ids in item["masks"]]
        samples.append(
            GroundedSample(
                scene.image, item["instruction"], item["answer"], masks, item["classes"], item["id"], item["task"]
            )
        )
    return samples


def build_training_set(params: dict) -> dict:
    """:func:`build_dataset` from plain data (``raster``, ``vector``, ``out_dir`` and its keywords), for callers in
    another process (the plugin's engine process): the report as plain data and as text."""
    params = dict(params)
    raster, vector, out_dir = params.pop("raster"), params.pop("vector"), params.pop("out_dir")
    if params.get("area") is not None:
        params["area"] = tuple(params["area"])
    report = build_dataset(raster, vector, out_dir, **params)
    return {"report": dataclasses.asdict(report), "text": report.text()}
