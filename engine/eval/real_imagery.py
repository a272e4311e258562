"""How a model does on real imagery, through the geo pipeline as a user gets it: one command, one JSON report.

    python -m engine.eval.real_imagery --model demo --data ../shared/data --report build/real_imagery_demo.json

Every scene is segmented with ``segment_raster(..., whole=True)`` (the tiling, upsampling, region filter and
polygons of the CLI and the plugin), and the polygons are scored against the scene's labels:

- SpaceNet Atlanta, the right 40 % of the columns (no recipe trains on it): buildings, each footprint matched
  one-to-one to a polygon at mask IoU >= 0.5 (recall, precision).
- NAIP, the right 40 %: IoU of the water polygons with the NDWI water mask.
- NEON, the scene in ``eval_only/neon``: "Segment all trees", IoU of each polygon's bounds with the crown boxes.
- The tank farm: each fully visible floating roof (circles in ``labels/tank_farm_roofs.json``) must be one polygon
  with IoU >= 0.6, and no polygon may lie off a tank.
- DOTA and iSAID scenes in ``eval_only`` (never trained or tuned on): ship, vehicle and storage-tank recall and
  precision, and per scene the share of the image covered by polygons of a class that is not there.

Instances are matched by one pass over two label images (all intersections at once), so scenes with hundreds of
objects score in a second.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from PIL import Image
from rasterio.features import rasterize
from shapely.geometry import Polygon, shape

from ..data.real_scenes import naip_water, read_voc_boxes
from .metrics import matched_pairs, paired_ious

LABELS = Path(__file__).parent / "labels"
MATCH_IOU = 0.5
ROOF_IOU = 0.6
HELD_OUT_FROM = 0.6  # the right 40 % of the columns of SpaceNet and NAIP
# DOTA class names -> the model's phrases; iSAID instance colours (its palette) -> the same.
DOTA_CLASSES = {"ship": "ship", "small-vehicle": "vehicle", "large-vehicle": "vehicle", "storage-tank": "storage tank",
                "plane": "airplane"}  # fmt: skip
ISAID_COLOURS = {(0, 0, 63): "ship", (0, 63, 63): "storage tank", (0, 127, 127): "vehicle", (0, 0, 127): "vehicle",
                 (0, 127, 255): "airplane"}  # fmt: skip
PLURALS = {"ship": "ships", "vehicle": "vehicles", "storage tank": "storage tanks", "airplane": "airplanes"}
ASKED = tuple(PLURALS)

Segmenter = Callable[[Path, str, "tuple[int, int, int, int] | None"], Any]


# --- matching ----------------------------------------------------------------------------------------------------
def label_image(shapes_: Sequence[Any], shape_hw: tuple[int, int], transform=None) -> np.ndarray:
    """Instances burnt as 1..n into an int32 image (later ones win where they overlap)."""
    if not shapes_:
        return np.zeros(shape_hw, dtype=np.int32)
    kwargs = {"transform": transform} if transform is not None else {}
    pairs = [(geom, k + 1) for k, geom in enumerate(shapes_)]
    return rasterize(pairs, out_shape=shape_hw, fill=0, dtype="int32", **kwargs)


def label_ious(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``(n_pred, n_truth)`` IoUs of the instances of two label images, from one count of pixel pairs."""
    n_pred, n_truth = int(pred.max()), int(truth.max())
    scores = np.zeros((n_pred, n_truth))
    if not n_pred or not n_truth:
        return scores
    area_p = np.bincount(pred.ravel(), minlength=n_pred + 1)[1:]
    area_t = np.bincount(truth.ravel(), minlength=n_truth + 1)[1:]
    both = (pred > 0) & (truth > 0)
    pairs, counts = np.unique(pred[both].astype(np.int64) * (n_truth + 1) + truth[both], return_counts=True)
    rows, cols = pairs // (n_truth + 1) - 1, pairs % (n_truth + 1) - 1
    scores[rows, cols] = counts / (area_p[rows] + area_t[cols] - counts)
    return scores


def box_ious(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``(n_pred, n_truth)`` IoUs of axis-aligned boxes ``(xmin, ymin, xmax, ymax)``."""
    if not len(pred) or not len(truth):
        return np.zeros((len(pred), len(truth)))
    p, t = np.asarray(pred, float)[:, None], np.asarray(truth, float)[None]
    w = np.clip(np.minimum(p[..., 2], t[..., 2]) - np.maximum(p[..., 0], t[..., 0]), 0, None)
    h = np.clip(np.minimum(p[..., 3], t[..., 3]) - np.maximum(p[..., 1], t[..., 1]), 0, None)
    inter = w * h
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / (area(p) + area(t) - inter)


def recall_precision(scores: np.ndarray, threshold: float = MATCH_IOU) -> dict[str, Any]:
    n_pred, n_truth = scores.shape
    hits = len(matched_pairs(scores, threshold))
    return {
        "instances": n_truth,
        "polygons": n_pred,
        "matched": hits,
        f"recall@{threshold:g}": hits / n_truth if n_truth else float("nan"),
        f"precision@{threshold:g}": hits / n_pred if n_pred else float("nan"),
    }


# --- scenes --------------------------------------------------------------------------------------------------------
def _window_transform(path: Path, window: tuple[int, int, int, int] | None):
    with rasterio.open(path) as src:
        col, row, width, height = window or (0, 0, src.width, src.height)
        return src.window_transform(((row, row + height), (col, col + width))), (height, width)


def _held_out_window(path: Path, part: str = "eval") -> tuple[int, int, int, int]:
    """The right 40 % of the columns (``part="eval"``), or the left 60 % that training reads (``"train"``)."""
    with rasterio.open(path) as src:
        cut = int(round(src.width * HELD_OUT_FROM))
        return (cut, 0, src.width - cut, src.height) if part == "eval" else (0, 0, cut, src.height)


def spacenet_buildings(segment: Segmenter, root: Path, part: str = "eval") -> dict[str, Any]:
    image, labels = root / "spacenet/atlanta_pan_0p5m.tif", root / "spacenet/atlanta_buildings.geojson"
    window = _held_out_window(image, part)
    transform, size = _window_transform(image, window)
    result = segment(image, "Segment all buildings.", window)
    footprints = [shape(f["geometry"]) for f in json.loads(labels.read_text(encoding="utf-8"))["features"]]
    footprints = [f for f in footprints if not f.is_empty]
    truth = label_image(footprints, size, transform)
    # footprints cut by the window's left edge count only if most of them lies inside
    keep = [
        k for k in range(1, int(truth.max()) + 1) if (truth == k).sum() >= 0.5 * _area_px(footprints[k - 1], transform)
    ]
    truth = np.where(np.isin(truth, keep), np.searchsorted(keep, truth) + 1, 0).astype(np.int32)
    pred = label_image([f.geometry for f in result.features], size, transform)
    return {"class": "building", "reply": result.reply_text, **recall_precision(label_ious(pred, truth))}


def _area_px(geom, transform) -> float:
    return geom.area / abs(transform.a * transform.e)


def naip_water_iou(segment: Segmenter, root: Path, part: str = "eval") -> dict[str, Any]:
    path = root / "naip/naip_5m_lakes_2020.tif"
    window = _held_out_window(path, part)
    transform, size = _window_transform(path, window)
    scene = naip_water(path)
    water = np.logical_or.reduce([i.mask for i in scene.instances])[:, window[0] : window[0] + window[2]]
    result = segment(path, "Segment all water bodies.", window)
    pred = label_image([f.geometry for f in result.features], size, transform) > 0
    union = np.logical_or(pred, water).sum()
    return {"class": "water body", "iou": float(np.logical_and(pred, water).sum() / union) if union else 1.0,
            "polygons": len(result.features), "reply": result.reply_text}  # fmt: skip


def neon_crowns(
    segment: Segmenter, root: Path, image: str = "eval_only/neon/2019_YELL_2_528000_4978000_image_crop2.png"
):
    image = root / image
    truth = read_voc_boxes(image.with_suffix(".xml"))
    result = segment(image, "Segment all trees.", None)
    pred = [f.geometry.bounds for f in result.features]
    return {"class": "tree", "reply": result.reply_text, **recall_precision(box_ious(pred, truth))}


def tank_farm(segment: Segmenter, root: Path) -> dict[str, Any]:
    path = root / "demo/tank_farm_2m_3857.tif"
    roofs = json.loads((LABELS / "tank_farm_roofs.json").read_text(encoding="utf-8"))["roofs"]
    transform, size = _window_transform(path, None)
    result = segment(path, "Segment all storage tanks.", None)
    circles = [Polygon([(r["col"] + r["radius_px"] * math.cos(a), r["row"] + r["radius_px"] * math.sin(a))
                        for a in np.linspace(0, 2 * math.pi, 64, endpoint=False)]) for r in roofs]  # fmt: skip
    truth = label_image(circles, size)
    pred = label_image([f.geometry for f in result.features], size, transform)
    scores = label_ious(pred, truth)
    pairs = matched_pairs(scores, ROOF_IOU)
    per_roof = [round(iou, 3) for iou in paired_ious(scores)]
    off_tank = [k for k in range(scores.shape[0]) if not (scores[k] > 0).any()]
    pieces = [int((scores[:, j] > 0).sum()) for j in range(len(roofs))]
    return {
        "class": "storage tank",
        "roofs": len(roofs),
        f"roofs_matched@{ROOF_IOU:g}": len(pairs),
        "roof_ious": per_roof,
        "polygons_per_roof": pieces,
        "polygons": int(scores.shape[0]),
        "polygons_off_tank": len(off_tank),
        "areas_m2": sorted(round(f.area_m2) for f in result.features),
        "reply": result.reply_text,
    }


def dota_truth(path: Path, shape_hw: tuple[int, int]) -> dict[str, np.ndarray]:
    """Label images per model class from a DOTA labelTxt file (oriented quads, difficult ones included)."""
    quads: dict[str, list[Polygon]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) < 9 or parts[8] not in DOTA_CLASSES:
            continue
        xy = [float(v) for v in parts[:8]]
        quads.setdefault(DOTA_CLASSES[parts[8]], []).append(Polygon(list(zip(xy[0::2], xy[1::2]))).buffer(0))
    return {name: label_image(polys, shape_hw) for name, polys in quads.items()}


def isaid_truth(image: Path) -> dict[str, np.ndarray]:
    """Label images per model class from iSAID's instance-id and class-colour PNGs."""
    ids = np.asarray(Image.open(image.with_name(image.stem + "_instance_id_RGB.png")).convert("RGB"), dtype=np.int64)
    colours = np.asarray(Image.open(image.with_name(image.stem + "_instance_color_RGB.png")).convert("RGB"))
    code = ids[..., 0] + 256 * ids[..., 1] + 65536 * ids[..., 2]
    out: dict[str, np.ndarray] = {}
    for colour, name in ISAID_COLOURS.items():
        where = np.all(colours == colour, axis=-1) & (code > 0)
        if where.any():  # two colours can share a class (small and large vehicles): number on from the first
            labels = out.setdefault(name, np.zeros(code.shape, dtype=np.int32))
            _, index = np.unique(code[where], return_inverse=True)
            labels[where] = labels.max() + 1 + index
    return out


def academic_scene(segment: Segmenter, image: Path, truth: dict[str, np.ndarray]) -> dict[str, Any]:
    """Every class of :data:`ASKED`: recall/precision where the scene has it, covered share where it has not."""
    with rasterio.open(image) as src:
        size = (src.height, src.width)
    report: dict[str, Any] = {}
    for name in ASKED:
        result = segment(image, f"Segment all {PLURALS[name]}.", None)
        pred = label_image([f.geometry for f in result.features], size)
        if name in truth and truth[name].max() > 0:
            report[name] = recall_precision(label_ious(pred, truth[name]))
        else:
            report[name] = {"absent": True, "covered_share": float((pred > 0).mean()), "polygons": int(pred.max())}
    return report


def academic_scenes(segment: Segmenter, root: Path) -> dict[str, Any]:
    out = {}
    for name in ("P0706", "P1888"):
        image = root / f"eval_only/dota/{name}.png"
        with rasterio.open(image) as src:
            size = (src.height, src.width)
        out[f"dota/{name}"] = academic_scene(segment, image, dota_truth(image.with_suffix(".txt"), size))
    for name in ("P0003", "P0004", "P0005"):
        image = root / f"eval_only/isaid/{name}.png"
        out[f"isaid/{name}"] = academic_scene(segment, image, isaid_truth(image))
    return out


SCENES: dict[str, Callable[[Segmenter, Path], dict[str, Any]]] = {
    "spacenet_atlanta_right40": spacenet_buildings,
    "naip_right40": naip_water_iou,
    "neon_eval": neon_crowns,
    "tank_farm": tank_farm,
    "dota_isaid": academic_scenes,
}


# Training-side scenes for choosing inference settings (never the evaluation scenes above).
VALIDATION: dict[str, Callable[[Segmenter, Path], dict[str, Any]]] = {
    "spacenet_atlanta_left60": lambda segment, root: spacenet_buildings(segment, root, "train"),
    "naip_left60": lambda segment, root: naip_water_iou(segment, root, "train"),
    "neon_yell_train": lambda segment, root: neon_crowns(
        segment, root, "neon/2019_YELL_2_541000_4977000_image_crop.png"
    ),
}


def tune_region_score(engine, root: str | Path, scores: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9)) -> dict:
    """The validation scenes' figures for each ``min_region_score`` (regions of lower mean probability dropped):
    one model pass with the filter off, then the polygons filtered by their score."""
    from ..geo.pipeline import segment_raster

    raw = engine.with_settings(min_region_score=0.0)
    cache: dict = {}

    def segment_at(score: float) -> Segmenter:
        def segment(path: Path, instruction: str, window):
            key = (str(path), instruction, tuple(window) if window else None)
            if key not in cache:
                cache[key] = segment_raster(path, instruction, raw, whole=True, window=window)
            result = cache[key]
            return dataclasses.replace(result, features=[f for f in result.features if f.score >= score])

        return segment

    return {str(s): {name: run(segment_at(s), Path(root)) for name, run in VALIDATION.items()} for s in scores}


def evaluate(engine, root: str | Path, scenes: Sequence[str] = tuple(SCENES)) -> dict[str, Any]:
    """Score ``engine`` on each named scene of :data:`SCENES` whose files exist under ``root``."""
    from ..geo.pipeline import segment_raster

    def segment(path: Path, instruction: str, window):
        return segment_raster(path, instruction, engine, whole=True, window=window)

    root = Path(root)
    report: dict[str, Any] = {}
    for name in scenes:
        started = time.perf_counter()
        try:
            report[name] = SCENES[name](segment, root)
        except (OSError, rasterio.errors.RasterioIOError) as exc:
            report[name] = {"skipped": f"{type(exc).__name__}: {exc}"}
        report[name]["seconds"] = round(time.perf_counter() - started, 1)
    return report


def report_parser(prog: str, doc: str, scenes: Sequence[str]) -> argparse.ArgumentParser:
    """The arguments every report command takes: model, data folder, report file, scenes."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    parser.add_argument("--model", default="demo", help="model name or folder (default: demo)")
    parser.add_argument("--data", default="../shared/data", help="folder with spacenet/, naip/, demo/, eval_only/...")
    parser.add_argument("--report", required=True, help="JSON file to write")
    parser.add_argument("--scenes", nargs="+", choices=sorted(scenes), default=list(scenes))
    return parser


def write_report(report: dict[str, Any], path: str | Path) -> None:
    """The report as JSON at ``path`` (folders made), and on standard output."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=1, default=float) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1, default=float))


def main(argv: Sequence[str] | None = None) -> int:
    parser = report_parser("engine.eval.real_imagery", __doc__, SCENES)
    parser.add_argument("--tune", action="store_true", help="report min_region_score candidates on training scenes")
    args = parser.parse_args(argv)
    from ..api import Engine

    engine = Engine.load(args.model)
    if args.tune:
        report = {"model": args.model, "tuning": tune_region_score(engine, args.data)}
    else:
        report = {"model": args.model, "data": str(args.data), **evaluate(engine, args.data, args.scenes)}
    write_report(report, args.report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
