"""Show one, find all, on evaluation-only scenes: examples from each scene's own labels, scored on the rest.

    python -m engine.eval.examples --model demo --data ../shared/data --report build/examples_demo.json

Each scene goes through ``segment_raster(..., whole=True, examples=...)``, as ``python -m engine segment RASTER
"Find all like these" --examples FILE --whole`` does. The examples are drawn with a fixed seed from the scene's
labelled objects of one class whose area is at least the class's median (a user points at clear examples, not at
the smallest specks). The examples themselves are left out of the score: recall counts the other objects, and a
polygon over an example is neither a hit nor a false find.

- DOTA P0706, ships, 3 examples; iSAID P0004, vehicles, 3 examples: recall@0.5 and precision@0.5 (mask IoU).
- The tank farm, 1 example: each fully visible floating roof must be one polygon with IoU >= 0.6; polygons off
  every tank are counted.
- NEON (eval_only), trees, 5 examples (the crown ellipse inside each box): recall@0.5 and precision@0.5 with the
  IoU of polygon bounds and boxes.
- Speed: a 1024 x 1024 view of the tank farm answered with ``segment_view`` (model loaded, prompt made).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from PIL import Image
from shapely.geometry import Polygon, box

from ..geo.vectorize import mask_to_polygons
from .metrics import matched_pairs, paired_ious
from .real_imagery import (
    LABELS,
    ROOF_IOU,
    box_ious,
    dota_truth,
    isaid_truth,
    label_image,
    label_ious,
    recall_precision,
    report_parser,
    write_report,
)

# (scene, class, number of examples) as the issue names them
SCENES = {
    "dota_P0706_ships": ("eval_only/dota/P0706.png", "ship", 3),
    "isaid_P0004_vehicles": ("eval_only/isaid/P0004.png", "vehicle", 3),
    "tank_farm_1": ("demo/tank_farm_2m_3857.tif", "storage tank", 1),
    "neon_eval_5": ("eval_only/neon/2019_YELL_2_528000_4978000_image_crop2.png", "tree", 5),
}


def pick_examples(areas: Sequence[float], count: int, seed: int = 0) -> list[int]:
    """``count`` indices, drawn with ``seed`` among the objects of at least the median area."""
    areas = np.asarray(areas, dtype=float)
    eligible = np.nonzero(areas >= np.median(areas))[0]
    rng = np.random.default_rng(seed)
    return sorted(int(k) for k in rng.choice(eligible, size=min(count, len(eligible)), replace=False))


def instances_of(labels: np.ndarray) -> list[np.ndarray]:
    return [labels == k for k in range(1, int(labels.max()) + 1) if (labels == k).any()]


def _outline(mask: np.ndarray):
    from shapely.ops import unary_union

    return unary_union(mask_to_polygons(mask, None))


def score_without_examples(scores: np.ndarray, examples: Sequence[int], threshold: float = 0.5) -> dict[str, Any]:
    """Recall and precision on the objects that were not examples; polygons that overlap an example most are set
    aside (finding the example again is neither a hit nor a false find)."""
    examples = set(examples)
    keep_truth = [j for j in range(scores.shape[1]) if j not in examples]
    keep_pred = [i for i in range(scores.shape[0])
                 if not (scores.shape[1] and scores[i].max() > 0 and int(scores[i].argmax()) in examples)]  # fmt: skip
    report = recall_precision(scores[np.ix_(keep_pred, keep_truth)], threshold)
    report["examples"] = len(examples)
    report["polygons_on_examples"] = scores.shape[0] - len(keep_pred)
    return report


def mask_scene(segment, root: Path, image: str, class_name: str, count: int) -> dict[str, Any]:
    path = root / image
    with rasterio.open(path) as src:
        size = (src.height, src.width)
    truth = dota_truth(path.with_suffix(".txt"), size) if "dota" in image else isaid_truth(path)
    members = instances_of(truth[class_name])
    chosen = pick_examples([m.sum() for m in members], count)
    result = segment(path, [_outline(members[k]) for k in chosen])
    labels = np.zeros(size, dtype=np.int32)
    for k, m in enumerate(members, start=1):
        labels[m] = k
    pred = label_image([f.geometry for f in result.features], size)
    return {"class": class_name, "reply": result.reply_text, **score_without_examples(label_ious(pred, labels), chosen)}


def tank_farm(segment, root: Path, count: int = 1) -> dict[str, Any]:
    path = root / "demo/tank_farm_2m_3857.tif"
    roofs = json.loads((LABELS / "tank_farm_roofs.json").read_text(encoding="utf-8"))["roofs"]
    circles = [Polygon([(r["col"] + r["radius_px"] * math.cos(a), r["row"] + r["radius_px"] * math.sin(a))
                        for a in np.linspace(0, 2 * math.pi, 64, endpoint=False)]) for r in roofs]  # fmt: skip
    chosen = pick_examples([c.area for c in circles], count)
    with rasterio.open(path) as src:
        size, transform = (src.height, src.width), src.transform
        examples = [_to_crs(circles[k], transform) for k in chosen]
    result = segment(path, examples)
    truth = label_image(circles, size)
    pred = label_image([f.geometry for f in result.features], size, transform)
    scores = label_ious(pred, truth)
    pairs = matched_pairs(scores, ROOF_IOU)
    return {
        "class": "storage tank",
        "roofs": len(roofs),
        "examples": chosen,
        f"roofs_matched@{ROOF_IOU:g}": len(pairs),
        "roof_ious": [round(iou, 3) for iou in paired_ious(scores)],
        "polygons": int(scores.shape[0]),
        "polygons_off_tank": int(sum(1 for k in range(scores.shape[0]) if not (scores[k] > 0).any())),
        "reply": result.reply_text,
    }


def _to_crs(geometry, transform):
    from shapely import affinity

    return affinity.affine_transform(geometry, [transform.a, transform.b, transform.d, transform.e,
                                                transform.xoff, transform.yoff])  # fmt: skip


def neon(segment, root: Path, image: str, count: int) -> dict[str, Any]:
    from ..data.real_scenes import read_voc_boxes

    path = root / image
    boxes = read_voc_boxes(path.with_suffix(".xml"))
    chosen = pick_examples([(b[2] - b[0]) * (b[3] - b[1]) for b in boxes], count)
    ellipses = [box(*boxes[k]).centroid.buffer(1.0) for k in chosen]
    ellipses = [_scale_to_box(e, boxes[k]) for e, k in zip(ellipses, chosen, strict=True)]
    result = segment(path, ellipses)
    pred = [f.geometry.bounds for f in result.features]
    return {"class": "tree", "reply": result.reply_text, **score_without_examples(box_ious(pred, boxes), chosen)}


def _scale_to_box(circle, bounds):
    from shapely import affinity

    xmin, ymin, xmax, ymax = bounds
    return affinity.scale(circle, (xmax - xmin) / 2, (ymax - ymin) / 2)


def view_seconds(engine, root: Path, repeats: int = 3) -> dict[str, Any]:
    """Seconds to answer a 1024 x 1024 view of the tank farm from one example (model loaded, prompt made)."""
    from ..geo.pipeline import segment_view

    with rasterio.open(root / "demo/tank_farm_2m_3857.tif") as src:
        window = rasterio.windows.Window(0, 0, min(1024, src.width), min(1024, src.height))
        pixels, transform, crs = src.read(window=window), src.window_transform(window), src.crs.to_wkt()
    image = np.asarray(Image.fromarray(np.moveaxis(pixels[:3], 0, -1)).resize((1024, 1024)))
    mask = np.zeros((1024, 1024), dtype=bool)
    mask[480:544, 480:544] = True
    finder = engine.finder(engine.example_prompt(image, mask))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        segment_view(image, transform, crs, "Find all like these", finder, measure=False)
        times.append(time.perf_counter() - started)
    median = round(float(np.median(times)), 2)
    return {"view": [1024, 1024], "seconds": [round(t, 2) for t in times], "median_s": median}


def evaluate(engine, root: str | Path, scenes: Sequence[str] = tuple(SCENES)) -> dict[str, Any]:
    from ..geo.pipeline import segment_raster

    root = Path(root)

    def segment(path: Path, examples):
        return segment_raster(path, "Find all like these", engine, whole=True, examples=examples)

    report: dict[str, Any] = {}
    for name in scenes:
        image, class_name, count = SCENES[name]
        started = time.perf_counter()
        if name.startswith("tank_farm"):
            report[name] = tank_farm(segment, root, count)
        elif name.startswith("neon"):
            report[name] = neon(segment, root, image, count)
        else:
            report[name] = mask_scene(segment, root, image, class_name, count)
        report[name]["seconds"] = round(time.perf_counter() - started, 1)
    report["speed_1024_view"] = view_seconds(engine, root)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = report_parser("engine.eval.examples", __doc__, SCENES).parse_args(argv)
    from ..api import Engine

    engine = Engine.load(args.model)
    write_report({"model": args.model, "data": str(args.data), **evaluate(engine, args.data, args.scenes)}, args.report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
