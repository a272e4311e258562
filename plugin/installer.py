"""Installing the engine's Python dependencies from QGIS: a background pip run into the plugin-private folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsMessageLog

from .dependencies import activate_private_site, missing_dependencies, pip_command, private_site_dir, run_pip
from .i18n import tr
from .tasks import LOG_TAG, EngineTask


class PipFailed(RuntimeError):
    """pip exited with an error; the message holds its last lines."""


def install_job(requirements: list[str], target: Path, wheel_dir: Path | None = None):
    """An EngineTask job running pip; each output line goes to the task's text stream (and so to the log)."""
    command = pip_command(requirements, target, wheel_dir=wheel_dir)

    def job(task: EngineTask) -> Path:
        lines: list[str] = []
        done = 0

        def on_line(line: str) -> None:
            nonlocal done
            lines.append(line)
            task.stream(line)
            if line.startswith(("Collecting", "Processing", "Installing", "Successfully")):
                done += 1
                task.report(min(95.0, 100.0 * done / (2 * len(requirements) + 2)))

        code = run_pip(command, on_line, task.isCanceled)
        if code != 0 and not task.isCanceled():
            raise PipFailed(tr("pip failed (exit code {}): {}").format(code, " | ".join(lines[-3:])))
        return target

    return job


def start_install(
    on_done: Callable[[bool, str], None],
    requirements: list[str] | None = None,
    wheel_dir: Path | None = None,
    target: Path | None = None,
) -> EngineTask:
    """Install ``requirements`` (default: what is missing) in the background; ``on_done(ok, message)``."""
    requirements = requirements if requirements is not None else missing_dependencies()
    target = target or private_site_dir()

    def finished(result, error: str | None) -> None:
        if error is not None:
            on_done(False, error)
            return
        activate_private_site(target)
        still_missing = missing_dependencies()
        if still_missing:
            on_done(False, tr("Installed, but still missing: {}.").format(", ".join(still_missing)))
        else:
            on_done(True, tr("Engine dependencies installed in {}.").format(target))

    task = EngineTask(tr("Installing GeoGround dependencies"), install_job(requirements, target, wheel_dir), finished)
    task.text_streamed.connect(lambda line: QgsMessageLog.logMessage(line, LOG_TAG, Qgis.Info))
    QgsApplication.taskManager().addTask(task)
    return task
