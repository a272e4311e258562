"""Geo pipeline benchmarks: ``python -m engine.geo.bench [--size 8192] [--objects 3000]``.

1. mask -> polygons: a 1024 x 1024 mask holding N disc instances, traced and simplified.
2. whole-raster mode: a synthetic GeoTIFF of size x size with discs, read tile by tile, "segmented" by thresholding
   (a stand-in for the model so that only the geo pipeline is timed), merged and measured. Peak memory is the
   process's maximum resident set size (``resource.getrusage``), so run each benchmark in a fresh process.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

from ..types import Reply, Segment
from .pipeline import segment_raster
from .vectorize import mask_to_polygons


class _ThresholdModel:
    """Benchmark stand-in for the model: bright pixels are the objects. Costs almost nothing, so the timings are
    those of reading, tiling, tracing, merging and measuring."""

    name = "threshold"

    def chat(self, image: np.ndarray, conversation: str) -> Reply:
        mask = image[..., 0] > 128
        return Reply("", [Segment("object", mask)] if mask.any() else [])


def _discs(height: int, width: int, count: int, rng: np.random.Generator, radius=(5, 30)) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    for _ in range(count):
        r = int(rng.integers(*radius))
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        y0, y1, x0, x1 = max(0, cy - r), min(height, cy + r + 1), max(0, cx - r), min(width, cx + r + 1)
        rows, cols = np.ogrid[y0:y1, x0:x1]
        mask[y0:y1, x0:x1] |= (cols - cx) ** 2 + (rows - cy) ** 2 <= r * r
    return mask


def bench_vectorize(instances: int = 200, size: int = 1024, repeats: int = 20) -> dict:
    mask = _discs(size, size, instances, np.random.default_rng(0))
    transform = Affine(0.5, 0, 500_000, 0, -0.5, 3_700_000)
    polygons = mask_to_polygons(mask, transform, simplify_px=1.0)
    start = time.perf_counter()
    for _ in range(repeats):
        mask_to_polygons(mask, transform, simplify_px=1.0)
    seconds = (time.perf_counter() - start) / repeats
    return {
        "mask": f"{size}x{size}",
        "instances": instances,
        "polygons": len(polygons),
        "masks_per_s": 1 / seconds,
        "megapixels_per_s": size * size / 1e6 / seconds,
    }


def bench_whole(size: int = 8192, objects: int = 3000, tile_size: int = 1024, overlap: int = 128) -> dict:
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "scene.tif")
        profile = dict(driver="GTiff", width=size, height=size, count=3, dtype="uint8", crs="EPSG:32616")
        profile.update(transform=Affine(0.5, 0, 500_000, 0, -0.5, 3_700_000), tiled=True, compress="deflate")
        block = 2048
        with rasterio.open(path, "w", **profile) as dst:  # written in blocks: the scene is never whole in memory
            for row in range(0, size, block):
                for col in range(0, size, block):
                    h, w = min(block, size - row), min(block, size - col)
                    count = max(1, round(objects * h * w / size / size))
                    band = np.where(_discs(h, w, count, rng), 220, 40).astype(np.uint8)
                    noise = rng.integers(0, 20, size=(h, w), dtype=np.uint8)
                    dst.write(np.stack([band + noise] * 3), window=Window(col, row, w, h))
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        result = segment_raster(path, "objects", _ThresholdModel(), whole=True, tile_size=tile_size, overlap=overlap)
        seconds = time.perf_counter() - start
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "raster": f"{size}x{size}x3 uint8",
        "tiles": result.tiles,
        "features": len(result.features),
        "seconds": seconds,
        "megapixels_per_min": size * size / 1e6 / seconds * 60,
        "peak_rss_mib_before": rss_before / 1024,
        "peak_rss_mib": rss_after / 1024,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m engine.geo.bench", description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="?", choices=["vectorize", "whole", "all"], default="all")
    parser.add_argument("--size", type=int, default=8192, help="side of the whole-mode raster")
    parser.add_argument("--objects", type=int, default=3000, help="discs in the whole-mode raster")
    parser.add_argument("--instances", type=int, default=200, help="discs in the vectorize mask")
    args = parser.parse_args(argv)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU, {platform.platform()}")
    if args.which in ("vectorize", "all"):
        print("vectorize:", _fmt(bench_vectorize(args.instances)))
    if args.which in ("whole", "all"):
        print("whole:", _fmt(bench_whole(args.size, args.objects)))


def _fmt(values: dict) -> str:
    return ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())


if __name__ == "__main__":
    main()
