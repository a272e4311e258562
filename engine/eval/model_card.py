"""Evaluate a trained model the way the demo model card reports it, and draw the card's figures.

    python -m engine.eval.model_card --model demo --report runs/demo/eval.json --figures docs/images

- held-out synthetic scenes (seeds no training run draws from): "segment all X" for storage tanks, buildings, ships
  and airplanes. ``miou`` is the mean over scenes of the IoU between the union of predicted masks and the union of
  ground-truth masks of the class (the semantic IoU of the answer). The model grounds all instances of a class with
  one [SEG], so predicted instances are the regions of the predicted masks (:mod:`..geo.regions`: 4-connected, of
  at least ``MIN_COMPONENT_PX`` pixels), as the geo pipeline makes one polygon per region: ``instance_recall@0.5`` and
  ``instance_precision@0.5`` count regions matched one-to-one to ground-truth instances with IoU >= 0.5,
  ``count_exact`` compares the number of regions with the number of instances. ``recall_ceiling@0.5`` is the
  recall a perfect union mask would get (touching instances merge into one region and cannot all be matched).
- the held-out (right) column bands of SpaceNet Atlanta (buildings) and NAIP (water) in 256 px tiles that contain
  the class, same metrics.
- the tank-farm scene (an evaluation image: never trained on): polygons from ``segment_raster`` drawn to PNG.
- the class-wise memory ablation: teacher-forced mask IoU by object size for two models (memory on/off).
- ``--tune N``: before all that, choose the model's inference settings on N validation scenes per class, seeds
  apart from the held-out ones: ``max_gsd`` (coarser imagery is upsampled to it) and ``min_region_score`` (regions
  whose mean probability is below it are dropped); ``--max-gsd`` / ``--min-region-score`` evaluate with given ones.

Every answer goes through the geo pipeline (``segment_view``) as a georeferenced view at the scene's ground
resolution, and its polygons are rasterized back for scoring: the figures are those of the tool, not of the bare
model.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.real_scenes import tile_scene
from ..data.sample import Scene
from ..data.scene_text import segment_all_sample
from ..data.synthetic import generate_scene
from ..data.templates import CLASS_BY_NAME
from ..geo.regions import connected_regions
from ..train.data import collate, load_real_scene, split_columns
from .metrics import iou_matrix, mask_iou, matched_pairs, paired_ious

TARGET_CLASSES = ("storage tank", "building", "ship", "airplane")
# ``--classes all`` also asks about the other scene classes; each class keeps its own block of held-out seeds.
ALL_CLASSES = TARGET_CLASSES + tuple(name for name in CLASS_BY_NAME if name not in TARGET_CLASSES)
# Scenes are also summarised on either side of this ground sample distance (metres per pixel): below it objects
# span many mask cells, above it small ones span only a few.
GSD_SPLIT = 2.0
# Held-out synthetic scenes use seeds from here up; training draws scene seeds below 2**31 from a seeded generator,
# so a clash is possible in principle but vanishingly rare (and it would only repeat one scene).
HELD_OUT_SEED = 3_000_000_000
# Validation scenes (for choosing inference settings such as ``min_region_score``) come from seeds above those of
# training and below the held-out ones, so a setting is never chosen on the scenes it is reported on.
VALIDATION_SEED = 2_500_000_000
REGION_SCORES = (0.0, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
MAX_GSDS = (None, 2.0, 1.5, 1.0, 0.75)  # metres per pixel; None: every scene at its own resolution
TUNING_TOLERANCE = 0.005  # mean validation mIoU a cheaper max_gsd may give up (20 scenes per class: about noise)
SIZE_BINS = ((0, 64), (64, 256), (256, 1024), (1024, 10**9))  # object area in pixels
# Regions smaller than this are dropped, as segment_view / segment_raster drop them (their min_area_px default).
MIN_COMPONENT_PX = 4


def score_answer(pred: Sequence[np.ndarray], truth: Sequence[np.ndarray], shape: tuple[int, int]) -> dict[str, float]:
    """Union IoU, regions matched to instances at IoU >= 0.5, and whether the region count is right, for one answer."""
    empty = np.zeros(shape, dtype=bool)
    union_pred = np.logical_or.reduce(list(pred)) if len(pred) else empty
    union_truth = np.logical_or.reduce(list(truth)) if len(truth) else empty
    regions = connected_regions(union_pred, MIN_COMPONENT_PX)
    matched = len(matched_pairs(iou_matrix(regions, list(truth))))
    reachable = len(matched_pairs(iou_matrix(connected_regions(union_truth, MIN_COMPONENT_PX), list(truth))))
    return {
        "iou": mask_iou(union_pred, union_truth),
        "matched": float(matched),
        "reachable": float(reachable),
        "instances": float(len(truth)),
        "predicted": float(len(regions)),
        "segs": float(len(pred)),
        "count_exact": float(len(regions) == len(truth)),
    }


def _summarise(rows: list[dict[str, float]]) -> dict[str, Any]:
    if not rows:
        return {"scenes": 0}
    instances = sum(r["instances"] for r in rows)
    predicted = sum(r["predicted"] for r in rows)
    matched = sum(r["matched"] for r in rows)
    return {
        "scenes": len(rows),
        "miou": float(np.mean([r["iou"] for r in rows])),
        "instance_recall@0.5": matched / instances if instances else float("nan"),
        "instance_precision@0.5": matched / predicted if predicted else float("nan"),
        "recall_ceiling@0.5": sum(r["reachable"] for r in rows) / instances if instances else float("nan"),
        "instances": int(instances),
        "predicted": int(predicted),
        "segs": int(sum(r["segs"] for r in rows)),
        "count_exact": float(np.mean([r["count_exact"] for r in rows])),
        "answered_none": float(np.mean([r["segs"] == 0 for r in rows])),
    }


def _by_gsd(rows: list[dict[str, float]], gsds: list[float]) -> dict[str, dict[str, float]]:
    """Scene count and mIoU of the scenes finer and coarser than :data:`GSD_SPLIT`."""
    sides = {f"gsd < {GSD_SPLIT:g} m": [r for r, g in zip(rows, gsds) if g < GSD_SPLIT]}
    sides[f"gsd >= {GSD_SPLIT:g} m"] = [r for r, g in zip(rows, gsds) if g >= GSD_SPLIT]
    return {
        side: {"scenes": len(part), "miou": float(np.mean([r["iou"] for r in part])) if part else float("nan")}
        for side, part in sides.items()
    }


def _regions(engine, image: np.ndarray, gsd: float, instruction: str) -> list[tuple[np.ndarray, float]]:
    """The answer's polygons rasterized back to ``image``'s grid, with their scores. The image goes through the geo
    pipeline as a view of ``gsd`` metres per pixel, so what is scored is what a user gets from a raster of that
    resolution: the model's ``max_gsd`` upsampling and tiling, its region filter, polygons."""
    from affine import Affine
    from rasterio.features import rasterize

    from ..geo.pipeline import segment_view

    transform = Affine(gsd, 0.0, 0.0, 0.0, -gsd, 0.0)
    result = segment_view(
        image, transform, None, instruction, engine, measure=False, ground_gsd=gsd, max_new_tokens=400
    )
    shape = image.shape[:2]
    return [
        (rasterize([f.geometry], out_shape=shape, transform=transform).astype(bool), f.score) for f in result.features
    ]


def _answer(engine, image: np.ndarray, gsd: float, instruction: str) -> list[np.ndarray]:
    return [mask for mask, _ in _regions(engine, image, gsd, instruction)]


def evaluate_synthetic(
    engine, scenes: int = 30, size: int = 256, classes: Sequence[str] = TARGET_CLASSES
) -> dict[str, Any]:
    """Per class, ``scenes`` held-out scenes that contain it, each asked "Segment all <plural>."."""
    results = {}
    for class_name in classes:
        rows, gsds = [], []
        instruction = f"Segment all {CLASS_BY_NAME[class_name].plural}."
        for scene in held_out_scenes(class_name, scenes, size):
            truth = [inst.mask for inst in scene.of_class(class_name)]
            answer = _answer(engine, scene.image, scene.gsd, instruction)
            rows.append(score_answer(answer, truth, scene.image.shape[:2]))
            gsds.append(scene.gsd)
        results[class_name] = {**_summarise(rows), "by_gsd": _by_gsd(rows, gsds)}
    return results


def held_out_scenes(class_name: str, count: int, size: int = 256):
    """The first ``count`` held-out scenes holding ``class_name``, from that class's own block of seeds."""
    return _class_scenes(class_name, HELD_OUT_SEED + 100_000 * ALL_CLASSES.index(class_name), count, size)


def _class_scenes(class_name: str, first_seed: int, count: int, size: int = 256):
    """The first ``count`` scenes from ``first_seed`` on that contain ``class_name``."""
    found, seed = 0, first_seed
    while found < count:
        scene = generate_scene(seed, size)
        seed += 1
        if scene.of_class(class_name):
            found += 1
            yield scene


def tune_inference(
    engine, scenes: int = 20, region_scores: Sequence[float] = REGION_SCORES, max_gsds: Sequence = MAX_GSDS
) -> dict[str, Any]:
    """Mean union IoU of "Segment all X" on validation scenes for each ``max_gsd`` candidate (imagery coarser than it
    is upsampled to it) and each ``min_region_score`` candidate (polygons whose score, the mean probability of their
    region, is below it are dropped); ``best`` is the pair with the best mean over the target classes, but the
    coarsest ``max_gsd`` within ``TUNING_TOLERANCE`` of it."""
    table: dict[str, dict[str, Any]] = {}
    for max_gsd in max_gsds:
        tuned = engine.with_settings(min_region_score=0.0, max_gsd=max_gsd)  # raw masks, filtered below
        per_class: dict[str, list[float]] = {}
        for k, class_name in enumerate(TARGET_CLASSES):
            instruction = f"Segment all {CLASS_BY_NAME[class_name].plural}."
            rows = []
            for scene in _class_scenes(class_name, VALIDATION_SEED + 100_000 * k, scenes):
                regions = _regions(tuned, scene.image, scene.gsd, instruction)
                truth = np.logical_or.reduce([inst.mask for inst in scene.of_class(class_name)])
                row = []
                for score in region_scores:
                    kept = [mask for mask, region_score in regions if region_score >= score]
                    row.append(mask_iou(np.logical_or.reduce(kept) if kept else np.zeros_like(truth), truth))
                rows.append(row)
            per_class[class_name] = [round(float(v), 4) for v in np.mean(rows, axis=0)]
        mean = [round(float(v), 4) for v in np.mean(list(per_class.values()), axis=0)]
        table[str(max_gsd)] = {"miou": per_class, "mean": mean}
        print(f"max_gsd {max_gsd}: mean {mean}", flush=True)
    # The best mean wins, except that a max_gsd within TUNING_TOLERANCE of it and coarser (fewer tiles: the cost grows
    # with the square of the upsampling) is preferred; within a max_gsd, the best region score.
    best_of = {g: max(table[str(g)]["mean"]) for g in max_gsds}
    top = max(best_of.values())
    best_gsd = max((g for g in max_gsds if best_of[g] >= top - TUNING_TOLERANCE), key=lambda g: g or float("inf"))
    row = table[str(best_gsd)]["mean"]
    best_score = region_scores[row.index(max(row))]
    return {
        "scenes": scenes,
        "region_scores": list(region_scores),
        "max_gsds": list(max_gsds),
        "table": table,
        "best": {"max_gsd": best_gsd, "min_region_score": float(best_score)},
    }


def evaluate_real(engine, root: str | Path, tile: int = 256) -> dict[str, Any]:
    """The held-out column bands of the real scenes (the training recipe never reads them)."""
    results = {}
    for kind, class_name in (("spacenet_atlanta", "building"), ("naip_water", "water body")):
        try:
            scene = split_columns(load_real_scene(kind, root), 0.6, "eval")
        except (OSError, ValueError) as exc:
            results[kind] = {"skipped": str(exc)}
            continue
        size = min(tile, *scene.image.shape[:2])
        rows = []
        for part in tile_scene(scene, size, stride=size):
            truth = [inst.mask for inst in part.of_class(class_name)]
            if not truth:  # mIoU is over scenes that contain the class, as for the synthetic scenes
                continue
            instruction = f"Segment all {CLASS_BY_NAME[class_name].plural}."
            answer = _answer(engine, part.image, part.gsd, instruction)
            rows.append(score_answer(answer, truth, part.image.shape[:2]))
        results[kind] = _summarise(rows)
    return results


def tank_farm_picture(engine, raster: str | Path, png: str | Path, tile: int = 256) -> dict[str, Any]:
    """ "Segment all storage tanks" over the whole scene in training-size tiles; the polygons drawn to ``png``."""
    from ..geo.pipeline import segment_raster
    from ..geo.preview import write_preview

    result = segment_raster(raster, "Segment all storage tanks.", engine, whole=True, tile_size=tile, overlap=32)
    write_preview(result, png)
    areas = sorted(round(f.area_m2) for f in result.features)
    return {"polygons": len(result.features), "areas_m2": areas, "reply": result.reply_text, "png": str(png)}


# --- the class-wise memory ablation -------------------------------------------------------------------------------
@torch.inference_mode()
def teacher_forced_ious(model, tokenizer, scenes: list[Scene]) -> list[tuple[int, float]]:
    """(object area, mask IoU) per instance, the model fed the ground-truth "segment all" answer.

    Feeding the reference answer takes text generation out of the comparison: both models get the same [SEG]
    positions, so the numbers isolate the mask side, where the memory acts. The answer's one mask covers all
    instances, so its regions are paired one-to-one with the instances (an unpaired instance scores 0).
    """
    rng = np.random.default_rng(0)
    out = []
    for scene in scenes:
        for class_name in scene.classes:
            if class_name not in TARGET_CLASSES:
                continue
            sample = segment_all_sample(scene, class_name, rng)
            batch = collate([sample], tokenizer, model.config.class_names)
            result = model(images=batch["images"], input_ids=batch["input_ids"])
            if result.masks is None:
                continue
            truth = [inst.mask for inst in scene.of_class(class_name)]
            pred = (result.masks.logits_at(0, truth[0].shape) > 0).numpy()
            ious = paired_ious(iou_matrix(connected_regions(pred, MIN_COMPONENT_PX), truth))
            out.extend((int(mask.sum()), iou) for mask, iou in zip(truth, ious, strict=True))
    return out


def multiscale_scenes(count: int, size: int = 256) -> list[Scene]:
    """Held-out scenes spread over the whole GSD range, so each class shows up at many pixel sizes."""
    gsds = np.exp(np.linspace(np.log(0.3), np.log(5.0), count))
    return [generate_scene(HELD_OUT_SEED + 900_000 + i, size, gsd=float(g)) for i, g in enumerate(gsds)]


def size_binned(pairs: list[tuple[int, float]]) -> dict[str, Any]:
    bins = {}
    for low, high in SIZE_BINS:
        values = [iou for area, iou in pairs if low <= area < high]
        label = f"{low}-{high if high < 10**9 else 'inf'} px"
        bins[label] = {"instances": len(values), "miou": float(np.mean(values)) if values else None}
    bins["all"] = {"instances": len(pairs), "miou": float(np.mean([iou for _, iou in pairs])) if pairs else None}
    return bins


def memory_ablation(folders: dict[str, str | Path], scenes: int = 40) -> dict[str, Any]:
    from ..hub.registry import load_model

    test_scenes = multiscale_scenes(scenes)
    report = {}
    for label, folder in folders.items():
        model, tokenizer, _ = load_model(str(folder))
        report[label] = size_binned(teacher_forced_ious(model, tokenizer, test_scenes))
    return report


# --- figures ------------------------------------------------------------------------------------------------------
def plot_curves(log_path: str | Path, png: str | Path, window: int = 20) -> str:
    """Training losses against steps (moving average), one panel for text, one for masks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in Path(log_path).read_text(encoding="utf-8").splitlines() if line.strip()]
    steps = np.array([r["step"] for r in rows])

    def smooth(key: str, keep: np.ndarray) -> np.ndarray:
        values = np.array([r[key] for r in rows], dtype=float)[keep]
        size = max(1, min(window, len(values)))
        return np.convolve(np.pad(values, (size - 1, 0), mode="edge"), np.ones(size) / size, mode="valid")

    figure, (text_ax, mask_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    everything = np.ones(len(rows), dtype=bool)
    text_ax.plot(steps, smooth("ce_loss", everything), label="text CE")
    # every step where the stage changes; masks are trained from the first stage after the text-only one
    boundaries = [r["step"] for prev, r in zip(rows, rows[1:]) if r["stage"] != prev["stage"]]
    joint = steps >= (boundaries[0] if boundaries else 0)
    for key, label in (("bce_loss", "mask BCE"), ("dice_loss", "mask Dice"), ("class_loss", "class CE")):
        mask_ax.plot(steps[joint], smooth(key, joint), label=label)
    stages = " | ".join(dict.fromkeys(r["stage"] for r in rows))
    figure.suptitle(f"stages: {stages}")
    for axis, title in ((text_ax, "text loss"), (mask_ax, "mask losses (stages with masks)")):
        for boundary in boundaries:
            axis.axvline(boundary, color="grey", linestyle=":", linewidth=1)
        axis.set_xlabel("optimizer step")
        axis.set_title(title)
        axis.legend()
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(png, dpi=110)
    plt.close(figure)
    return str(png)


def _timed(name: str, job: Callable[[], Any], report: dict[str, Any]) -> None:
    started = time.perf_counter()
    report[name] = job()
    report[name + "_seconds"] = round(time.perf_counter() - started, 1)
    print(f"{name}: {json.dumps(report[name])[:400]}", flush=True)


def _optional_gsd(text: str) -> float:
    """``--max-gsd``: metres per pixel, or 'none' (0.0 here: no upsampling)."""
    return 0.0 if text.lower() == "none" else float(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate the demo model and draw the model card's figures.")
    parser.add_argument("--model", default="demo", help="model name or folder (default: demo)")
    parser.add_argument("--report", type=Path, required=True, help="JSON report to write")
    parser.add_argument("--figures", type=Path, help="folder for the PNG figures")
    parser.add_argument("--log", type=Path, help="training log.jsonl for the curves")
    parser.add_argument("--data-root", default="../shared/data", help="shared data folder")
    parser.add_argument("--scenes", type=int, default=30, help="held-out synthetic scenes per class")
    parser.add_argument(
        "--classes", choices=("target", "all"), default="target", help="synthetic classes: the four targets or all"
    )
    parser.add_argument("--ablation", nargs=2, metavar=("MEMORY_ON", "MEMORY_OFF"), help="two model folders")
    parser.add_argument("--skip", nargs="*", default=[], choices=("synthetic", "real", "tank_farm"))
    parser.add_argument(
        "--tune",
        type=int,
        metavar="SCENES",
        help="first choose max_gsd and min_region_score on SCENES validation scenes per class and evaluate with them",
    )
    parser.add_argument(
        "--min-region-score", type=float, help="evaluate with this min_region_score instead of the model's own"
    )
    parser.add_argument(
        "--max-gsd", type=_optional_gsd, help="evaluate with this max_gsd (metres per pixel, or 'none') instead"
    )
    args = parser.parse_args(argv)

    from ..api import Engine

    report: dict[str, Any] = {"model": args.model}
    if args.figures:
        args.figures.mkdir(parents=True, exist_ok=True)
    if args.log and args.figures:
        report["curves"] = plot_curves(args.log, args.figures / "demo_training_curves.png")
    engine = Engine.load(args.model, device="cpu")
    if args.tune and (args.min_region_score is not None or args.max_gsd is not None):
        parser.error("--tune excludes --min-region-score and --max-gsd")
    settings: dict[str, Any] = {}
    if args.tune:
        _timed("tuning", lambda: tune_inference(engine, args.tune), report)
        settings = dict(report["tuning"]["best"])
    if args.min_region_score is not None:
        settings["min_region_score"] = args.min_region_score
    if args.max_gsd is not None:
        settings["max_gsd"] = args.max_gsd or None
    engine = engine.with_settings(**settings)
    report["min_region_score"] = engine.settings.min_region_score
    report["max_gsd"] = engine.settings.max_gsd
    if "synthetic" not in args.skip:
        classes = TARGET_CLASSES if args.classes == "target" else ALL_CLASSES
        _timed("synthetic", lambda: evaluate_synthetic(engine, args.scenes, classes=classes), report)
    if "real" not in args.skip:
        _timed("real", lambda: evaluate_real(engine, args.data_root), report)
    tank_farm = Path(args.data_root) / "demo" / "tank_farm_2m_3857.tif"
    if "tank_farm" not in args.skip and tank_farm.is_file() and args.figures:
        png = args.figures / "demo_tank_farm.png"
        _timed("tank_farm", lambda: tank_farm_picture(engine, tank_farm, png), report)
    if args.ablation:
        on, off = args.ablation
        _timed("memory_ablation", lambda: memory_ablation({"memory_on": on, "memory_off": off}), report)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
