"""The Processing algorithms run from the command line through qgis_process, with the plugin installed in a profile."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

ROOT = Path(__file__).resolve().parents[2]
# Debian's qgis_process wrapper adds an option the 3.22 binary rejects; the binary itself works.
QGIS_PROCESS = shutil.which("qgis_process.bin") or shutil.which("qgis_process")
pytestmark = pytest.mark.skipif(QGIS_PROCESS is None, reason="qgis_process is not installed (Debian package qgis)")


@pytest.fixture(scope="module")
def profile(tmp_path_factory, plugin_package):
    """A QGIS settings folder with the plugin installed and enabled, as a user's profile would have it."""
    config = tmp_path_factory.mktemp("qgis-config")
    plugins = config / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / plugin_package).symlink_to(ROOT, target_is_directory=True)
    (config / "profiles" / "default" / "QGIS").mkdir(parents=True)
    (config / "profiles" / "default" / "QGIS" / "QGIS3.ini").write_text(f"[PythonPlugins]\n{plugin_package}=true\n")
    return config


def qgis_process(profile: Path, *args: str) -> dict:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        QGIS_CUSTOM_CONFIG_PATH=str(profile),
        PYTHONPATH=os.pathsep.join(site.getsitepackages()),  # the engine's packages for QGIS's Python
    )
    result = subprocess.run(
        [QGIS_PROCESS, "--json", *args], capture_output=True, text=True, env=env, timeout=300, cwd=profile
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def raster(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("raster") / "scene.tif"
    data = np.full((3, 128, 160), 40, np.uint8)
    data[:, 30:60, 40:80] = 220
    profile = dict(driver="GTiff", width=160, height=128, count=3, dtype="uint8", crs="EPSG:32633")
    with rasterio.open(path, "w", transform=from_origin(500000, 4100000, 0.5, 0.5), **profile) as dst:
        dst.write(data)
    return path


def test_algorithms_are_listed(profile):
    listing = qgis_process(profile, "list")
    algorithms = listing["providers"]["geoground"]["algorithms"]
    assert {"geoground:segmentbyinstruction", "geoground:describewithgroundedmasks"} <= set(algorithms)


def test_segment_by_instruction_writes_a_layer_in_the_raster_crs(profile, raster, tmp_path):
    import pyogrio

    out = tmp_path / "objects.gpkg"
    report = qgis_process(
        profile,
        "run",
        "geoground:segmentbyinstruction",
        "--",
        f"INPUT={raster}",
        "INSTRUCTION=Segment all storage tanks",
        "MODEL=tiny",
        "MAX_TOKENS=8",
        f"OUTPUT={out}",
    )
    assert report["results"]["OUTPUT"] == str(out)
    info = pyogrio.read_info(out)
    assert "32633" in info["crs"]
    assert {"phrase", "score", "area_m2", "instruction"} <= set(info["fields"])


def test_describe_returns_an_answer(profile, raster, tmp_path):
    report = qgis_process(
        profile,
        "run",
        "geoground:describewithgroundedmasks",
        "--",
        f"INPUT={raster}",
        "MODEL=tiny",
        "MAX_TOKENS=8",
        f"OUTPUT={tmp_path / 'described.gpkg'}",
    )
    assert isinstance(report["results"]["ANSWER"], str) and report["results"]["ANSWER"]
