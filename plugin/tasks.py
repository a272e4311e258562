"""A GUI-free QgsTask that runs one engine job in the background with progress and cancel.

The job runs in a worker thread and must not touch widgets or the project; its result is handed to ``on_done`` on the
main thread (QgsTask.finished runs there), which is where layers are added. Every exception becomes a message: QGIS
never sees an unhandled exception from a task.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from qgis.core import Qgis, QgsMessageLog, QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from ..engine.types import Cancelled  # raised by jobs and by the engine's should_stop checks alike
from .i18n import tr

LOG_TAG = "GeoGround"

Job = Callable[["EngineTask"], Any]


_ALIVE: set[EngineTask] = set()  # Python keeps running tasks alive until finished(); callers need not hold them


class EngineTask(QgsTask):
    """Runs ``job(task)``; calls ``on_done(result, error_message)`` on the main thread.

    The job reports through ``task.report(percent)``, ``task.stream(text)`` (delivered to ``text_streamed``
    receivers on the main thread) and polls ``task.isCanceled()``.
    """

    text_streamed = pyqtSignal(str)

    def __init__(self, description: str, job: Job, on_done: Callable[[Any, str | None], None]) -> None:
        super().__init__(description, QgsTask.CanCancel)
        self._job = job
        self._on_done = on_done
        self.result: Any = None
        self.error: str | None = None
        _ALIVE.add(self)

    def run(self) -> bool:
        try:
            self.result = self._job(self)
        except Cancelled:
            self.error = tr("Stopped.")
            return False
        except Exception as exc:  # noqa: BLE001 - the task boundary turns every failure into a message
            self.error = user_message(exc)
            QgsMessageLog.logMessage(traceback.format_exc(), LOG_TAG, Qgis.Critical)
            return False
        if self.isCanceled():
            self.error = tr("Stopped.")
            return False
        return True

    def report(self, percent: float) -> None:
        self.setProgress(max(0.0, min(100.0, float(percent))))

    def stream(self, text: str) -> None:
        self.text_streamed.emit(text)

    def finished(self, ok: bool) -> None:  # noqa: FBT001 - QGIS API
        _ALIVE.discard(self)
        if not ok and self.error is None:
            self.error = tr("Stopped.") if self.isCanceled() else tr("The task failed.")
        try:
            self._on_done(self.result if ok else None, None if ok else self.error)
        except Exception:  # noqa: BLE001 - never let a callback error reach QGIS
            QgsMessageLog.logMessage(traceback.format_exc(), LOG_TAG, Qgis.Critical)


def user_message(exc: BaseException) -> str:
    """One line for the user: our own errors carry their message; memory and unknown errors get a hint."""
    text = str(exc).strip() or type(exc).__name__
    if "out of memory" in text.lower():
        return tr("Not enough memory for this view: zoom in, lower the tile size, or use the CPU. ({})").format(text)
    if isinstance(exc, (ValueError, FileNotFoundError, PermissionError)):
        return text
    return tr("Unexpected error: {} (details in the GeoGround log panel)").format(text)
