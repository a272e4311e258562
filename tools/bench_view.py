"""Time one answer on a 1024 x 1024 view with the model already loaded, as the plugin's chat asks it.

    OMP_NUM_THREADS=2 python tools/bench_view.py --model demo --repeats 3

The view is the centre of the demo's synthetic tank scene (0.5 m, UTM), read into memory and answered through
``segment_view`` (tiling into the model's input size, decoding, polygons, areas); the median of ``--repeats`` runs
after one warm-up is printed with the machine's CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--instruction", default="Segment all storage tanks.")
    args = parser.parse_args()

    import rasterio
    import torch

    from engine.api import Engine
    from engine.bench import _cpu_name
    from engine.cli.demo import write_synthetic_scene
    from engine.geo.pipeline import segment_view

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scene.tif"
        write_synthetic_scene(path, size=max(args.size, 1024))
        with rasterio.open(path) as src:
            top = (src.height - args.size) // 2
            window = ((top, top + args.size), (top, top + args.size))
            pixels, transform, crs = src.read(window=window), src.window_transform(window), src.crs.to_wkt()
    engine = Engine.load(args.model, device="cpu")

    def answer():
        return segment_view(pixels, transform, crs, args.instruction, engine)

    answer()
    times, result = [], None
    for _ in range(args.repeats):
        started = time.perf_counter()
        result = answer()
        times.append(time.perf_counter() - started)
    print(f"{args.model}: {args.size} x {args.size} view, {result.tiles} tiles, {len(result.features)} polygons, "
          f"median {statistics.median(times):.2f} s of {[round(t, 2) for t in times]} "
          f"({_cpu_name()}, {torch.get_num_threads()} threads); answer: {result.reply_text}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
