"""The dependency installer: pip into a private folder only, numpy held at QGIS's version, offline from wheels."""

from __future__ import annotations

import base64
import hashlib
import sys
import time
import zipfile
from pathlib import Path

import numpy
from qgis.PyQt.QtCore import QCoreApplication


def build_wheel(folder: Path, name: str, version: str = "1.0") -> Path:
    """A minimal pure-Python wheel (a zip with METADATA, WHEEL and RECORD), made without network or build tools."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VALUE = {version!r}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


def test_pip_command_targets_the_private_folder_with_numpy_pinned(tmp_path, qgis_app):
    from geoground.plugin.dependencies import pip_command

    target = tmp_path / "packages"
    command = pip_command(["torch", "transformers"], target, wheel_dir=tmp_path / "wheels")
    assert command[command.index("--target") + 1] == str(target)
    constraints = Path(command[command.index("-c") + 1])
    assert constraints.read_text().strip() == f"numpy=={numpy.__version__}"
    assert "--no-index" in command and command[-2:] == ["torch", "transformers"]


def test_offline_install_from_a_folder_of_wheels(tmp_path, qgis_app):
    from geoground.plugin.installer import start_install

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(wheels, "geoground_fake_dependency", "2.5")
    target = tmp_path / "profile" / "packages"
    outcome = []
    task = start_install(
        lambda ok, message: outcome.append((ok, message)), ["geoground_fake_dependency"], wheels, target
    )
    deadline = time.monotonic() + 120
    while not outcome and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.05)
    assert outcome, "the install task did not finish"
    assert (target / "geoground_fake_dependency" / "__init__.py").is_file()
    assert str(target) in sys.path  # activated after the install
    import geoground_fake_dependency

    assert geoground_fake_dependency.VALUE == "2.5"
    assert task is not None


def test_a_failing_install_reports_pip_s_message(tmp_path, qgis_app):
    from geoground.plugin.installer import start_install

    outcome = []
    start_install(
        lambda ok, message: outcome.append((ok, message)), ["no-such-package-anywhere"], tmp_path, tmp_path / "packages"
    )
    deadline = time.monotonic() + 120
    while not outcome and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.05)
    ok, message = outcome[0]
    assert not ok and "pip failed" in message and "no-such-package-anywhere" in message.lower()


def test_checked_packages_match_the_engine_requirements():
    """The plugin's missing-package check and requirements/engine.txt name the same packages."""
    import re

    from geoground.plugin.dependencies import ENGINE_DEPENDENCIES

    lines = (Path(__file__).resolve().parents[2] / "requirements" / "engine.txt").read_text().splitlines()
    required = {re.split(r"[<>=!\s]", line.strip(), maxsplit=1)[0].lower() for line in lines}
    required.discard("")
    required = {name for name in required if not name.startswith("#")}
    assert set(ENGINE_DEPENDENCIES.values()) <= required
    # packages only the engine's own dependencies pull in, and the two that only converting GeoPixel's tokenizer
    # needs (engine.published checks them before a download): installed, not checked at plugin load
    assert required - set(ENGINE_DEPENDENCIES.values()) <= {"attrs", "jinja2", "tqdm", "sentencepiece", "protobuf"}
