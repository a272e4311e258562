"""Installing the engine's Python dependencies from QGIS: a background pip run into the plugin-private folder.

pip runs with the interpreter QGIS embeds; online it takes PyTorch's CPU build unless an NVIDIA GPU is found (the
CUDA build is ten times the download); its output drives a progress bar, and the result is checked in the engine's
own environment before success is reported.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtCore import QObject, pyqtSignal

from .dependencies import (
    ENGINE_DEPENDENCIES,
    OFFLINE,
    VERIFY_IMPORTS,
    VERIFY_TIMEOUT_S,
    EngineCheck,
    TorchBuild,
    activate_private_site,
    check_engine,
    choose_torch_build,
    engine_python,
    engine_requirements,
    forget_dependency_check,
    missing_dependencies,
    pip_command,
    pip_version,
    private_site_dir,
    run_pip,
)
from .i18n import tr
from .tasks import LOG_TAG, EngineTask

MB = 1e6
OTHER_PACKAGES_BYTES = 100 * MB  # transformers, rasterio, pyogrio, pyproj, numpy... as wheels, about
TORCH_BYTES = {"cpu": 200 * MB, "cuda": 2800 * MB, "default": 100 * MB, "offline": 0.0}  # PyTorch's wheels, about
RAW_PROGRESS_PIP = (24, 1)  # the first pip with --progress-bar raw


class PipFailed(RuntimeError):
    """pip exited with an error; the message holds its error lines."""


class CheckFailed(RuntimeError):
    """The engine's interpreter could not be run to check the installed packages."""


def _needs_torch(requirements: Sequence[str]) -> bool:
    return any(re.match(r"torch(?![\w-])", r.strip(), re.IGNORECASE) for r in requirements)


def expected_download_bytes(build: TorchBuild, with_torch: bool = True) -> float:  # noqa: FBT001, FBT002
    """About how many bytes an install downloads (0 offline)."""
    if build.kind == "offline":
        return 0.0
    return OTHER_PACKAGES_BYTES + (TORCH_BYTES.get(build.kind, TORCH_BYTES["cpu"]) if with_torch else 0.0)


def _about(size: float) -> str:
    return f"{size / 1e9:.0f} GB" if size >= 1e9 else f"{size / MB:.0f} MB"


def install_summary(build: TorchBuild, with_torch: bool = True) -> str:  # noqa: FBT001, FBT002
    """Which PyTorch build an install takes and about how much it downloads, said before it starts."""
    if build.kind == "offline":
        return tr("Nothing is downloaded: pip takes the packages from the chosen folder only.")
    if build.kind == "cuda" and build.cuda:
        which = tr("NVIDIA GPU found: PyTorch's build for CUDA {}.{} is installed.").format(*build.cuda)
        torch_part = tr("PyTorch with its CUDA libraries about 2.5–3 GB")
    elif build.kind == "default":
        which = tr("PyTorch's standard macOS build (CPU and Apple GPU) is installed.")
        torch_part = tr("PyTorch about {}").format(_about(TORCH_BYTES["default"]))
    else:
        which = tr("No NVIDIA GPU found: PyTorch's CPU build is installed.")
        torch_part = tr("PyTorch about {}").format(_about(TORCH_BYTES["cpu"]))
    total = _about(expected_download_bytes(build, with_torch))
    if not with_torch:
        return tr("Download: about {}.").format(total)
    other = tr("the other packages about {}").format(_about(OTHER_PACKAGES_BYTES))
    return which + " " + tr("Download: about {} ({}, {}).").format(total, torch_part, other)


_SIZE = re.compile(r"\((\d+(?:\.\d+)?)\s*(kB|KB|MB|GB|KiB|MiB|GiB|bytes|B)\)")
_UNITS = {"B": 1, "bytes": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


class PipProgress:
    """Turns pip's output lines into a percent that only goes up, and a phase to show.

    pip announces neither how many packages nor how many bytes are coming, so the download part (up to
    ``DOWNLOAD_END``) mixes two estimates: packages seen out of about three per requirement, and bytes received out
    of the expected download (online). ``Progress X of Y`` lines (``--progress-bar raw``) move it within a file.
    """

    DOWNLOAD_END = 85.0
    INSTALLING = 88.0
    INSTALLED = 95.0

    def __init__(self, requirements: int, expected_bytes: float = 0.0) -> None:
        self.expected_packages = max(1, 3 * requirements)
        self.expected_bytes = float(expected_bytes)
        self.packages = 0
        self.bytes_done = 0.0
        self.current_size = 0.0
        self.current_done = 0.0
        self.installing = False
        self.percent = 0.0
        self.phase = ""

    def feed(self, line: str) -> bool:
        """Take one line of pip's output; True when it is a raw progress line (nothing worth logging)."""
        text = line.strip()
        raw = re.fullmatch(r"Progress (\d+) of (\d+)", text)
        if raw:
            self.current_done, total = float(raw.group(1)), float(raw.group(2))
            self.current_size = total or self.current_size
            self._update()
            return True
        if text.startswith("Collecting "):
            self._file_done()
            self.packages += 1
            self.phase = tr("Looking up {}").format(text.split()[1])
        elif text.startswith("Processing "):  # a local wheel (offline install)
            self._file_done()
            self.packages += 1
            self.phase = tr("Reading {}").format(Path(text.split(maxsplit=1)[1]).name)
        elif text.startswith(("Downloading ", "Using cached ")):
            self._file_done()
            size = _SIZE.search(text)
            self.current_size = float(size.group(1)) * _UNITS[size.group(2)] if size else 0.0
            self.current_done = 0.0
            name = text.split()[2 if text.startswith("Using") else 1].split("/")[-1]
            if text.startswith("Using"):
                self.current_done = self.current_size
            self.phase = tr("Downloading {}").format(name + (f" ({size.group(1)} {size.group(2)})" if size else ""))
        elif text.startswith("Installing collected packages"):
            self._file_done()
            self.installing = True
            count = len(text.split(":", 1)[1].split(",")) if ":" in text else 0
            self.phase = tr("Installing {} packages").format(count) if count != 1 else tr("Installing 1 package")
            self.percent = max(self.percent, self.INSTALLING)
        elif text.startswith("Successfully installed"):
            self.installing = True
            self.phase = tr("Installed")
            self.percent = max(self.percent, self.INSTALLED)
        self._update()
        return False

    def _file_done(self) -> None:
        self.bytes_done += max(self.current_size, self.current_done)
        self.current_size = self.current_done = 0.0

    def _update(self) -> None:
        if self.installing:
            return
        by_count = self.packages / max(self.expected_packages, self.packages + 1)
        if self.expected_bytes:  # downloads take most of the time: bytes weigh more than packages seen
            by_bytes = min(1.0, (self.bytes_done + self.current_done) / self.expected_bytes)
            by_count = 0.3 * by_count + 0.7 * by_bytes
        self.percent = max(self.percent, self.DOWNLOAD_END * min(0.99, by_count))


def _pip_error(code: int, lines: list[str]) -> str:
    errors = [line.strip() for line in lines if line.lstrip().startswith("ERROR")]
    shown = errors[-3:] or [line.strip() for line in lines[-3:]]
    return tr("pip failed (exit code {}): {}").format(code, " | ".join(shown))


def install_job(
    requirements: Sequence[str],
    target: Path,
    wheel_dir: Path | None = None,
    build: TorchBuild | None = None,
) -> Callable[[EngineTask], EngineCheck | None]:
    """An EngineTask job: pip into ``target`` (each output line to the task's text stream, its phase and percent
    to the task), then one check in the engine's environment that the engine's packages import."""
    requirements = list(requirements)

    def job(task: EngineTask) -> EngineCheck | None:
        python = engine_python()
        if requirements:
            task.status(tr("Starting pip"))
            version = pip_version(python)
            if version is None:
                raise PipFailed(
                    tr(
                        "The Python QGIS runs on ({}) has no pip: install pip for it (Debian, Ubuntu: python3-pip)."
                    ).format(python)
                )
            chosen = OFFLINE if wheel_dir is not None else (build or choose_torch_build())
            command = pip_command(
                requirements,
                target,
                wheel_dir=wheel_dir,
                build=chosen,
                progress_raw=version >= RAW_PROGRESS_PIP,
                python=python,
            )
            task.stream(" ".join(command))
            progress = PipProgress(len(requirements), expected_download_bytes(chosen, _needs_torch(requirements)))
            lines: list[str] = []
            shown = {"percent": -1.0, "phase": ""}

            def on_line(line: str) -> None:
                if not progress.feed(line):
                    lines.append(line)
                    task.stream(line)
                if progress.percent != shown["percent"]:
                    shown["percent"] = progress.percent
                    task.report(progress.percent)
                if progress.phase != shown["phase"]:
                    shown["phase"] = progress.phase
                    task.status(progress.phase)

            code = run_pip(command, on_line, task.isCanceled)
            if task.isCanceled():
                return None
            if code != 0:
                raise PipFailed(_pip_error(code, lines))
        task.status(tr("Checking that the engine can load its packages"))
        task.report(97.0)
        try:
            check = check_engine(imports=VERIFY_IMPORTS, site=target, timeout=VERIFY_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            raise CheckFailed(
                tr("The packages were installed, but the engine's Python failed to load them: {}").format(exc)
            ) from exc
        task.report(100.0)
        return check

    return job


def check_message(check: EngineCheck) -> str:
    """Why the engine cannot run after an install, for the user."""
    parts = []
    if check.missing:
        names = [ENGINE_DEPENDENCIES.get(module, module) for module in check.missing]
        parts.append(tr("still missing: {}").format(", ".join(names)))
    parts += [f"{module}: {error}" for module, error in check.errors.items() if module not in check.missing]
    return tr("Installed, but the engine cannot load its packages ({}).").format("; ".join(parts))


class InstallEvents(QObject):
    """App-wide news about the engine's packages, whoever installed them (the menu, a script)."""

    installed = pyqtSignal()


EVENTS = InstallEvents()


def start_install(
    on_done: Callable[[bool, str], None],
    requirements: list[str] | None = None,
    wheel_dir: Path | None = None,
    target: Path | None = None,
    *,
    build: TorchBuild | None = None,
) -> EngineTask:
    """Install ``requirements`` (default: requirements/engine.txt's lines for what is missing) in the background;
    ``on_done(ok, message)`` on the main thread. ``build``: the PyTorch build to take online (default: detected)."""
    if requirements is None:
        forget_dependency_check()  # what is missing now, not when QGIS started
        missing = missing_dependencies()
        requirements = engine_requirements(missing) if missing else []
    target = Path(target) if target is not None else private_site_dir()

    def finished(result: EngineCheck | None, error: str | None) -> None:
        forget_dependency_check()
        activate_private_site(target)
        if error is not None:
            on_done(False, error)
        elif result is None or not result.ok:
            on_done(False, check_message(result) if result is not None else tr("Stopped."))
        else:
            on_done(True, tr("Engine dependencies installed in {}.").format(target))
            EVENTS.installed.emit()

    description = tr("Installing GeoGround dependencies")
    task = EngineTask(description, install_job(requirements, target, wheel_dir, build), finished)
    task.text_streamed.connect(lambda line: QgsMessageLog.logMessage(line, LOG_TAG, Qgis.Info))
    if hasattr(task, "setDescription"):  # the task manager then shows pip's phase
        task.status_changed.connect(lambda phase: task.setDescription(f"{description}: {phase}"))
    QgsApplication.taskManager().addTask(task)
    return task
