"""Which of the engine's native libraries work inside the real QGIS desktop binary (the table of docs/INSIDE_QGIS.md).

For each library, QGIS is started under Xvfb with a fresh profile and a startup script that imports the library from
SITE_PACKAGES (a folder where the engine's packages are installed, e.g. .venv/lib/python3.11/site-packages), uses it
once, records the outcome and quits; QGIS's exit code is recorded too.

    python tools/qgis_library_probe.py .venv/lib/python3.11/site-packages
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

USES = {
    "none": "pass",
    "shapely": "import shapely; shapely.box(0, 0, 1, 1).wkb",
    "rasterio": "import numpy, rasterio.features; list(rasterio.features.shapes(numpy.ones((4, 4), numpy.uint8)))",
    "pyproj": "import pyproj; pyproj.CRS.from_epsg(32633).to_wkt()",
    "pyogrio": "import pyogrio; pyogrio.list_drivers()",
    "torch": "import torch; torch.ones(3).sum()",
}

SCRIPT = """
import sys, traceback
sys.path.insert(0, {site!r})
try:
    exec({use!r})
    outcome = "ok"
except Exception as exc:
    outcome = f"{{type(exc).__name__}}: {{exc}}"
open({out!r}, "w").write(outcome)
from qgis.utils import iface
from qgis.PyQt.QtCore import QTimer
QTimer.singleShot(300, iface.actionExit().trigger)
"""


def probe(site: str, name: str, use: str, folder: Path) -> dict:
    out = folder / f"{name}.txt"
    script = folder / f"{name}.py"
    script.write_text(SCRIPT.format(site=site, use=use, out=str(out)))
    run = subprocess.run(  # noqa: S603 - fixed command line
        ["xvfb-run", "-a", "qgis", "--profiles-path", str(folder / f"profile-{name}"), "--nologo",
         "--noversioncheck", "--code", str(script)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    return {"library": name, "use": out.read_text() if out.exists() else "no outcome", "qgis_exit": run.returncode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("site_packages")
    args = parser.parse_args()
    if shutil.which("qgis") is None or shutil.which("xvfb-run") is None:
        raise SystemExit("needs the qgis binary and xvfb-run")
    with tempfile.TemporaryDirectory() as tmp:
        for name, use in USES.items():
            print(json.dumps(probe(str(Path(args.site_packages).resolve()), name, use, Path(tmp))))


if __name__ == "__main__":
    main()
