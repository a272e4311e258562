"""A GUI-free QgsTask that runs one engine job in the background with progress and cancel.

The job runs in a worker thread and must not touch widgets or the project; its result is handed to ``on_done`` on the
main thread (QgsTask.finished runs there), which is where layers are added. Every exception becomes a message: QGIS
never sees an unhandled exception from a task.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from qgis.core import Qgis, QgsMessageLog, QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from ..engine import Cancelled  # raised by jobs and by the engine's should_stop checks alike
from .i18n import tr

LOG_TAG = "GeoGround"

Job = Callable[["EngineTask"], Any]


_ALIVE: set[EngineTask] = set()  # Python keeps running tasks alive until finished(); callers need not hold them


class EngineTask(QgsTask):
    """Runs ``job(task)``; calls ``on_done(result, error_message)`` on the main thread.

    The job reports through ``task.report(percent)``, ``task.stream(text)`` (delivered to ``text_streamed``
    receivers on the main thread), ``task.status(text)`` (``status_changed``: what the job is doing, e.g. loading
    the model), asks ``task.ask(question)`` (``confirm_requested`` on the main thread, answered with
    :meth:`answer`) and polls ``task.isCanceled()``.
    """

    text_streamed = pyqtSignal(str)
    status_changed = pyqtSignal(str)
    confirm_requested = pyqtSignal(str)

    def __init__(self, description: str, job: Job, on_done: Callable[[Any, str | None], None]) -> None:
        super().__init__(description, QgsTask.CanCancel)
        self._job = job
        self._on_done = on_done
        self.result: Any = None
        self.error: str | None = None
        self._answered = threading.Event()
        self._answer = False
        _ALIVE.add(self)

    def run(self) -> bool:
        try:
            self.result = self._job(self)
        except Cancelled:
            self.error = tr("Stopped.")
            return False
        except Exception as exc:  # noqa: BLE001 - the task boundary turns every failure into a message
            self.error = user_message(exc)
            if not isinstance(exc, ValueError):  # a user's input error is said in the dock; no traceback needed
                details = getattr(exc, "details", "")
                log = traceback.format_exc() + (f"\nEngine process output:\n{details}" if details else "")
                QgsMessageLog.logMessage(log, LOG_TAG, Qgis.Critical)
            return False
        if self.isCanceled():
            self.error = tr("Stopped.")
            return False
        return True

    def report(self, percent: float) -> None:
        self.setProgress(max(0.0, min(100.0, float(percent))))

    def stream(self, text: str) -> None:
        self.text_streamed.emit(text)

    def status(self, text: str) -> None:
        self.status_changed.emit(text)

    def ask(self, question: str) -> bool:
        """Ask the user on the main thread and wait for :meth:`answer` (False when the task is cancelled)."""
        self._answered.clear()
        self.confirm_requested.emit(question)
        while not self._answered.wait(0.1):
            if self.isCanceled():
                return False
        return self._answer

    def answer(self, yes: bool) -> None:  # noqa: FBT001 - the user's yes or no
        self._answer = bool(yes)
        self._answered.set()

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
    if isinstance(exc, MemoryError) or "out of memory" in text.lower():
        return tr("Not enough memory for this view: zoom in, lower the tile size, or use the CPU. ({})").format(text)
    from .engine_process import EngineFailure, EngineInputError, EngineProcessError

    if isinstance(exc, EngineInputError):
        return tr("The engine cannot answer this: {}").format(text)
    if isinstance(exc, EngineFailure):
        return tr("The model failed: {} (details in the GeoGround log panel)").format(text)
    if isinstance(exc, EngineProcessError):
        return tr("The engine process stopped: {} (details in the GeoGround log panel)").format(text)
    if isinstance(exc, (ValueError, FileNotFoundError, PermissionError)):
        return text
    return tr("Unexpected error: {} (details in the GeoGround log panel)").format(text)
