"""``python -m engine demo``: one instruction on one raster, end to end, as ``./build.sh demo`` runs it.

The raster is the sample tank farm of the development data folder (``../shared/data/demo`` next to the repository)
when it is there, otherwise a synthetic scene with storage tanks written as a georeferenced GeoTIFF in UTM, so the demo
runs anywhere. The model is the shipped ``demo`` model when its weights are installed, otherwise the ``tiny`` preset
with random weights: that still exercises every stage (reading, model, polygons, areas, GeoPackage, preview) but its
polygons mean nothing, and the command says so.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .common import (
    EXIT_OK,
    EngineFactory,
    ProgressBar,
    UserError,
    add_model_arguments,
    add_token_argument,
    load_checked,
    print_warnings,
)

INSTRUCTION = "Segment all storage tanks"
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
DEMO_RASTER = REPOSITORY_ROOT.parent / "shared" / "data" / "demo" / "tank_farm_2m_3857.tif"
SYNTHETIC_NAME = "synthetic_tank_farm_utm.tif"
SYNTHETIC_CRS = "EPSG:32615"  # UTM zone 15N (Gulf coast refineries); any projected metric CRS would do
SYNTHETIC_ORIGIN = (720_000.0, 3_300_000.0)
SYNTHETIC_SIZE = 512
SYNTHETIC_GSD = 0.6  # metres per pixel: tanks of 10-80 m are 17-130 px wide
RANDOM_WEIGHTS_NOTICE = (
    "notice: the demo model weights are not installed (expected in {folder}); using 'tiny', which has random "
    "weights: every stage runs, but its polygons are meaningless"
)


@dataclass
class DemoRaster:
    path: Path
    description: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out-dir", default="build/demo", help="where demo.gpkg and demo.png go (default build/demo)")
    add_model_arguments(parser, default=None)
    parser.add_argument("--synthetic", action="store_true", help="use a generated scene even if the sample is there")
    add_token_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
    from ..geo import write_result
    from ..geo.pipeline import segment_raster
    from ..geo.preview import write_preview

    out_dir = Path(args.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the output folder {out_dir}: {exc.strerror or exc}") from exc
    stages: dict[str, float] = {}

    start = time.perf_counter()
    raster = find_or_make_raster(out_dir, synthetic=args.synthetic)
    stages["raster"] = time.perf_counter() - start
    print(f"raster: {raster.path} ({raster.description})")

    model, notice = choose_model(args.model)
    if notice:
        print(notice)
    start = time.perf_counter()
    engine = load_checked(engine_factory, model, args.device)
    stages["model load"] = time.perf_counter() - start
    print(f"model: {getattr(engine, 'name', model)}")

    start = time.perf_counter()
    progress = None if args.quiet else ProgressBar()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = segment_raster(
                raster.path,
                INSTRUCTION,
                engine,
                whole=True,  # tiles of the model's own input size: small objects keep their pixels
                chat_options={"max_new_tokens": args.max_new_tokens},
                model_name=model,
                on_progress=progress,
            )
    finally:
        if progress is not None:
            progress.close()
    print_warnings(caught)
    stages["segmentation"] = time.perf_counter() - start

    gpkg, png = out_dir / "demo.gpkg", out_dir / "demo.png"
    start = time.perf_counter()
    layer = write_result(result, gpkg, overwrite=True)
    stages["GeoPackage"] = time.perf_counter() - start
    start = time.perf_counter()
    write_preview(result, png)
    stages["preview"] = time.perf_counter() - start

    print(f'instruction: "{INSTRUCTION}"')
    print(f"answer: {_printable(result.reply_text) or '(no text)'}")
    print(f"{len(result.features)} object(s), total area {result.total_area_m2():.1f} m2 -> {gpkg} (layer {layer})")
    print(f"preview: {png}")
    print("time: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in stages.items()))
    return EXIT_OK


def choose_model(requested: str | None) -> tuple[str, str | None]:
    """The model to run and a notice for the user: the one asked for, else the shipped default if installed, else
    ``tiny``."""
    if requested:
        return requested, None
    from ..hub.registry import DEFAULT_MODEL, PRETRAINED_DIR, ModelNotFoundError, resolve

    try:
        resolve(DEFAULT_MODEL)
    except ModelNotFoundError:
        return "tiny", RANDOM_WEIGHTS_NOTICE.format(folder=PRETRAINED_DIR / DEFAULT_MODEL)
    return DEFAULT_MODEL, None


def find_or_make_raster(out_dir: Path, *, synthetic: bool = False) -> DemoRaster:
    """The sample tank farm when present (and not ``synthetic``), else a generated scene written into ``out_dir``."""
    if not synthetic and DEMO_RASTER.is_file():
        return DemoRaster(DEMO_RASTER, "sample tank farm from the shared data folder, 2 m, EPSG:3857")
    path = out_dir / SYNTHETIC_NAME
    seed, tanks = write_synthetic_scene(path)
    reason = "requested" if synthetic else f"{DEMO_RASTER} not found"
    return DemoRaster(path, f"synthetic scene, seed {seed}, {tanks} storage tank(s), {SYNTHETIC_GSD} m, "
                            f"{SYNTHETIC_CRS}; {reason}")  # fmt: skip


def write_synthetic_scene(path: Path, size: int = SYNTHETIC_SIZE, gsd: float = SYNTHETIC_GSD) -> tuple[int, int]:
    """Write the first seed's scene that holds storage tanks as an RGB GeoTIFF in UTM; returns (seed, tank count).

    The scene is the same on every run, so the demo output is reproducible.
    """
    import rasterio
    from affine import Affine

    from ..data import generate_scene

    classes = ["storage tank", "road", "building", "tree", "vehicle"]
    for seed in range(100):
        scene = generate_scene(seed, size=size, gsd=gsd, classes=classes)
        tanks = len(scene.of_class("storage tank"))
        if tanks:
            break
    else:  # pragma: no cover - the generator draws tanks for most seeds
        raise RuntimeError("the scene generator drew no storage tanks")
    transform = Affine(gsd, 0.0, SYNTHETIC_ORIGIN[0], 0.0, -gsd, SYNTHETIC_ORIGIN[1])
    profile = dict(driver="GTiff", width=size, height=size, count=3, dtype="uint8", crs=SYNTHETIC_CRS)
    try:
        with rasterio.open(os.fspath(path), "w", transform=transform, compress="deflate", **profile) as dst:
            dst.write(np.moveaxis(scene.image, 2, 0))
    except (rasterio.errors.RasterioError, OSError) as exc:
        raise UserError(f"cannot write the synthetic scene {path}: {exc}") from exc
    return seed, tanks


def _printable(text: str, limit: int = 300) -> str:
    """The answer on one line, shortened; control characters (random weights produce them) shown as '?'."""
    text = " ".join("".join(c if c.isprintable() else "?" for c in text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
