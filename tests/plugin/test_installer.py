"""The dependency installer: pip with QGIS's interpreter into a private folder only, numpy held at QGIS's version,
offline from wheels, progress while it runs, and the result checked in the engine's own environment."""

from __future__ import annotations

import base64
import gc
import hashlib
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy
import pytest
from qgis.PyQt.QtCore import QCoreApplication


@pytest.fixture(autouse=True)
def fresh_dependency_check():
    """Each test asks the engine's environment afresh, and leaves no answer made under its patches behind."""
    from geoground.plugin.dependencies import forget_dependency_check

    forget_dependency_check()
    yield
    forget_dependency_check()


def build_wheel(folder: Path, name: str, version: str = "1.0", body: str | None = None) -> Path:
    """A minimal pure-Python wheel (a zip with METADATA, WHEEL and RECORD), made without network or build tools."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": body if body is not None else f"VALUE = {version!r}\n",
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
    from geoground.plugin.dependencies import engine_python, pip_command

    target = tmp_path / "packages"
    command = pip_command(["torch", "transformers"], target, wheel_dir=tmp_path / "wheels")
    assert command[:3] == [engine_python(), "-m", "pip"]  # QGIS's interpreter, not the first python3 on PATH
    assert command[command.index("--target") + 1] == str(target)
    constraints = Path(command[command.index("-c") + 1])
    assert constraints.read_text().strip() == f"numpy=={numpy.__version__}"
    assert "--no-index" in command and command[-2:] == ["torch", "transformers"]


def wait_for(outcome: list, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not outcome and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.05)
    assert outcome, "the install task did not finish"


def test_offline_install_from_a_folder_of_wheels(tmp_path, qgis_app):
    """The whole install: pip, then the engine's packages (torch, transformers...) imported in its environment."""
    from geoground.plugin.installer import start_install

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(wheels, "geoground_fake_dependency", "2.5")
    target = tmp_path / "profile" / "packages"
    outcome = []
    task = start_install(
        lambda ok, message: outcome.append((ok, message)), ["geoground_fake_dependency"], wheels, target
    )
    wait_for(outcome)
    assert outcome == [(True, f"Engine dependencies installed in {target}.")]
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
    wait_for(outcome)
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
    # needs (engine.hub.published checks them before a download): installed, not checked at plugin load
    assert required - set(ENGINE_DEPENDENCIES.values()) <= {"attrs", "jinja2", "tqdm", "sentencepiece", "protobuf"}


def test_the_plugin_s_requirement_list_is_requirements_engine_txt():
    """The plugin archive does not ship requirements/, so the plugin keeps a copy of its lines; they must agree."""
    from geoground.plugin.dependencies import ENGINE_REQUIREMENTS

    text = (Path(__file__).resolve().parents[2] / "requirements" / "engine.txt").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert list(ENGINE_REQUIREMENTS) == lines


def pip_built_wheel(tmp_path: Path, name: str, version: str, body: str) -> Path:
    """A folder holding a wheel that pip itself built from a tiny source package."""
    source = tmp_path / f"{name}-src"
    (source / name).mkdir(parents=True)
    (source / name / "__init__.py").write_text(body, encoding="utf-8")
    (source / "setup.py").write_text(
        f"from setuptools import setup\nsetup(name={name!r}, version={version!r}, packages=[{name!r}])\n",
        encoding="utf-8",
    )
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(wheels),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert len(list(wheels.glob(f"{name}-{version}-*.whl"))) == 1
    return wheels


def test_a_pip_built_wheel_installs_and_the_engine_environment_sees_it(tmp_path, qgis_app, monkeypatch):
    """pip (of QGIS's interpreter) installs into the target; the child check finds and imports the package there,
    while QGIS's own process does not import from the private folder first."""
    from geoground.plugin import dependencies, installer

    wheels = pip_built_wheel(tmp_path, "geoground_probe", "0.3", "VALUE = 'from the private folder'\n")
    target = tmp_path / "profile" / "packages"
    assert dependencies.check_engine(["geoground_probe"], site=target).missing == ["geoground_probe"]
    monkeypatch.setattr(installer, "VERIFY_IMPORTS", ("geoground_probe",))

    outcome, percents, phases = [], [], []
    task = installer.start_install(
        lambda ok, message: outcome.append((ok, message)), ["geoground_probe"], wheels, target
    )
    task.progressChanged.connect(percents.append)
    task.status_changed.connect(phases.append)
    wait_for(outcome)
    assert outcome[0][0], outcome
    assert (target / "geoground_probe" / "__init__.py").is_file()
    check = dependencies.check_engine(["geoground_probe"], imports=["geoground_probe"], site=target)
    assert check.ok, check
    shown = subprocess.run(
        [dependencies.engine_python(), "-c", "import geoground_probe; print(geoground_probe.__file__)"],
        env=dependencies.engine_environment(target),
        capture_output=True,
        text=True,
    )
    assert shown.stdout.strip().startswith(str(target)), shown.stderr
    assert percents == sorted(percents) and percents[-1] == 100
    assert any(0 < p < 100 for p in percents), percents  # it moved during the install, not only at the end
    assert any(p.startswith("Reading geoground_probe-0.3") for p in phases), phases
    assert "Installing 1 package" in phases


def test_an_install_the_engine_cannot_import_is_reported_with_the_error(tmp_path, qgis_app, monkeypatch):
    """pip succeeds, but the engine's import fails (as with a shadowed sympy): the user is told, with the error."""
    from geoground.plugin import installer

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(wheels, "geoground_broken", "1.0", "raise ImportError('this build needs sympy>=1.13')\n")
    monkeypatch.setattr(installer, "VERIFY_IMPORTS", ("geoground_broken",))
    outcome = []
    installer.start_install(
        lambda ok, message: outcome.append((ok, message)), ["geoground_broken"], wheels, tmp_path / "packages"
    )
    wait_for(outcome)
    ok, message = outcome[0]
    assert not ok
    assert "cannot load" in message and "geoground_broken: ImportError: this build needs sympy>=1.13" in message


def test_stopping_pip_ends_it_and_leaves_no_open_pipe(tmp_path):
    from geoground.plugin.dependencies import run_pip

    chatty = [
        sys.executable,
        "-c",
        "import time\nfor i in range(600):\n    print('Collecting x', i, flush=True)\n    time.sleep(0.05)\n",
    ]
    lines = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.monotonic()
        code = run_pip(chatty, lines.append, lambda: len(lines) >= 3)
        elapsed = time.monotonic() - started
        assert run_pip([sys.executable, "-c", "print('done')"], lines.append) == 0
        gc.collect()
    assert code == -1 and elapsed < 15 and lines[-1] == "done"
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], [str(w.message) for w in caught]


def test_a_silent_pip_can_still_be_stopped(tmp_path):
    """A long download without progress lines prints nothing for minutes: a stop must not wait for a line."""
    from geoground.plugin.dependencies import run_pip

    silent = [sys.executable, "-c", "import time; time.sleep(120)"]
    asked = time.monotonic() + 0.5
    started = time.monotonic()
    assert run_pip(silent, lambda line: None, lambda: time.monotonic() > asked) == -1
    assert time.monotonic() - started < 15
