"""Engine dependencies: which are importable (checked without importing them, so QGIS starts fast) and installing
the missing ones into a plugin-private folder with pip.

The private folder lives in the QGIS profile and is appended to ``sys.path``; QGIS's own site-packages are never
written to, and numpy is pinned to the version QGIS already uses so its compiled modules keep working.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# import name -> pip requirement, in the order a user would install them
ENGINE_DEPENDENCIES: dict[str, str] = {
    "torch": "torch",
    "transformers": "transformers",
    "peft": "peft",
    "huggingface_hub": "huggingface-hub",
    "safetensors": "safetensors",
    "numpy": "numpy",
    "rasterio": "rasterio",
    "pyproj": "pyproj",
    "shapely": "shapely",
    "pyogrio": "pyogrio",
    "PIL": "pillow",
}


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module blocked as None in sys.modules
        return False


def missing_dependencies() -> list[str]:
    """pip requirement names of the engine dependencies that cannot be imported."""
    return [requirement for module, requirement in ENGINE_DEPENDENCIES.items() if not _importable(module)]


def private_site_dir() -> Path:
    """Where the plugin installs its Python dependencies: inside the QGIS profile, one folder per Python version."""
    from qgis.core import QgsApplication

    version = f"{sys.version_info.major}{sys.version_info.minor}"
    return Path(QgsApplication.qgisSettingsDirPath()) / "python" / f"geoground-packages-py{version}"


def activate_private_site(folder: Path | None = None) -> bool:
    """Append the private folder to ``sys.path`` (after QGIS's own packages, which keep priority)."""
    folder = Path(folder) if folder is not None else private_site_dir()
    if not folder.is_dir():
        return False
    if str(folder) not in sys.path:
        sys.path.append(str(folder))
    importlib.invalidate_caches()
    return True


def python_executable() -> str:
    """The Python interpreter running QGIS (sys.executable is the QGIS binary on Windows and macOS)."""
    candidates = [Path(sys.executable)]
    prefix = Path(sys.exec_prefix)
    candidates += [prefix / "python.exe", prefix / "python3.exe", prefix / "bin" / "python3", prefix / "bin" / "python"]
    for candidate in candidates:
        if candidate.name.lower().startswith("python") and candidate.is_file():
            return str(candidate)
    raise FileNotFoundError("cannot find the Python interpreter QGIS runs on")


def pip_command(requirements: list[str], target: Path, *, wheel_dir: Path | None = None) -> list[str]:
    """The pip call that installs ``requirements`` into ``target`` only, with numpy held at QGIS's version."""
    import numpy

    target = Path(target)
    constraints = target.parent / (target.name + "-constraints.txt")
    constraints.parent.mkdir(parents=True, exist_ok=True)
    constraints.write_text(f"numpy=={numpy.__version__}\n", encoding="utf-8")
    command = [python_executable(), "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    command += ["--target", str(target), "--upgrade", "-c", str(constraints)]
    if wheel_dir is not None:
        command += ["--no-index", "--find-links", str(wheel_dir)]
    return command + list(requirements)


def run_pip(command: list[str], on_line: Callable[[str], None], should_stop: Callable[[], bool] = lambda: False) -> int:
    """Run pip, passing each output line to ``on_line``; returns pip's exit code (-1 when stopped)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    process = subprocess.Popen(  # noqa: S603 - our own pip command line, no shell
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert process.stdout is not None
    for line in process.stdout:
        on_line(line.rstrip())
        if should_stop():
            process.terminate()
            process.wait()
            return -1
    return process.wait()
