"""Write the raster the desktop test tier opens in QGIS: the demo's synthetic tank-farm scene, georeferenced in UTM.

Usage (from the repository root, with the .venv Python):
    .venv/bin/python tools/desktop_raster.py OUT.tif
It writes OUT.tif with ``engine.cli.demo.write_synthetic_scene`` (the scene ``python -m engine demo --synthetic`` uses,
the same on every run) and prints one JSON line: path, CRS, extent in that CRS, pixel size, seed and the number of
storage tanks the generator drew, so the test can compare what QGIS gets with what is in the picture.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from engine.cli import demo

    path = Path(argv[0]).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    seed, tanks = demo.write_synthetic_scene(path)
    size, gsd = demo.SYNTHETIC_SIZE, demo.SYNTHETIC_GSD
    x0, y1 = demo.SYNTHETIC_ORIGIN
    info = {
        "path": str(path),
        "crs": demo.SYNTHETIC_CRS,
        "extent": [x0, y1 - size * gsd, x0 + size * gsd, y1],  # xmin, ymin, xmax, ymax
        "size": size,
        "gsd": gsd,
        "seed": seed,
        "storage_tanks": tanks,
    }
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
