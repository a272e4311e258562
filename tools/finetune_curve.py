"""Fine-tune on SpaceNet Atlanta's left 60 % and score buildings on the right 40 %: recall against minutes of CPU
and against the number of training polygons. One JSON report.

    OMP_NUM_THREADS=2 python tools/finetune_curve.py --data ../shared/data --report build/finetune_curve.json \
        --minutes 2.5 5 10 --polygons 10 20 --work /tmp/finetune_curve

Each point: ``python -m engine dataset`` on the left 60 % (all its footprints, or a seeded subset of N of them),
``python -m engine finetune`` from the base model for the given minutes, then the base model's scorer for the held-out
columns (``engine.eval.real_imagery.spacenet_buildings``, whole-raster segmentation). The base model is scored too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import rasterio
from shapely.geometry import box, shape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.api import Engine  # noqa: E402
from engine.data.layer_dataset import build_dataset  # noqa: E402
from engine.eval.real_imagery import HELD_OUT_FROM, spacenet_buildings  # noqa: E402
from engine.geo.pipeline import segment_raster  # noqa: E402
from engine.train.finetune import finetune  # noqa: E402


def score(model: str, root: Path) -> dict:
    engine = Engine.load(model, device="cpu")

    def segment(path, instruction, window):
        return segment_raster(path, instruction, engine, whole=True, window=window)

    result = spacenet_buildings(segment, root)
    return {k: v for k, v in result.items() if k != "reply"} | {"reply": result["reply"]}


def training_side(root: Path) -> tuple[Path, tuple[float, float, float, float], list[dict], dict | None]:
    image = root / "spacenet/atlanta_pan_0p5m.tif"
    with rasterio.open(image) as src:
        cut_x, _ = src.transform * (round(src.width * HELD_OUT_FROM), 0)
        area = (src.bounds.left, src.bounds.bottom, cut_x, src.bounds.top)
    collection = json.loads((root / "spacenet/atlanta_buildings.geojson").read_text(encoding="utf-8"))
    left = box(*area)
    inside = [f for f in collection["features"] if shape(f["geometry"]).centroid.within(left)]
    return image, area, inside, collection.get("crs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--base", default="demo")
    parser.add_argument("--report", required=True)
    parser.add_argument("--work", default="build/finetune_curve")
    parser.add_argument("--minutes", type=float, nargs="+", default=[2.5, 5.0, 10.0])
    parser.add_argument("--polygons", type=int, nargs="*", default=[10, 20], help="subset sizes, at the middle budget")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    root, work = Path(args.data), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    image, area, footprints, crs = training_side(root)
    rng = np.random.default_rng(args.seed)
    report: dict = {"base": args.base, "training_polygons": len(footprints), "base_score": score(args.base, root)}
    runs = [(m, len(footprints)) for m in args.minutes]
    middle = sorted(args.minutes)[len(args.minutes) // 2]
    runs += [(middle, n) for n in args.polygons if n < len(footprints)]
    report["runs"] = []
    for minutes, count in runs:
        chosen = [footprints[i] for i in sorted(rng.choice(len(footprints), size=count, replace=False))]
        vector = work / f"buildings_{count}.geojson"
        collection = {"type": "FeatureCollection", "crs": crs, "features": chosen}  # the raster's CRS, as the source
        vector.write_text(json.dumps(collection), encoding="utf-8")
        dataset = work / f"set_{count}"
        if not dataset.exists():
            build_dataset(image, vector, dataset, class_name="building", chip=256, overlap=64, area=area)
        folder = work / f"model_{count}_{minutes:g}min"
        started = time.perf_counter()
        trained = finetune([dataset], args.base, folder, minutes=minutes)
        entry = {"minutes": minutes, "training_polygons": count, "steps": trained.steps,
                 "seconds": round(time.perf_counter() - started, 1),
                 "loss_first": round(trained.first_loss, 4), "loss_last": round(trained.last_loss, 4),
                 **score(str(folder), root)}  # fmt: skip
        report["runs"].append(entry)
        print(json.dumps(entry), flush=True)
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
