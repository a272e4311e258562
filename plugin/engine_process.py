"""The QGIS side of the engine worker process (see ``engine/worker.py`` for why the engine runs apart from QGIS).

One worker is started on first use with the interpreter QGIS embeds and the engine's private packages first on its
path; it keeps the model loaded between instructions. Jobs from the dock and from Processing go through one lock, so
two of them never share the model at once; a job waiting for the lock can be stopped. Stop asks the worker to cancel
and, when it does not within a grace period (a long model load), ends the process: the next job starts a fresh one.
Nothing here imports QGIS, torch or any geometry library.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..engine import Cancelled, SegmentAnswer

Event = dict
CANCEL_GRACE_S = 10.0  # how long a cancelled job may take to stop before the worker is ended
START_TIMEOUT_S = 120.0  # the worker imports only numpy before it says it is ready


class EngineProcessError(RuntimeError):
    """The engine process could not start or ended during a job; ``details`` holds its last stderr lines."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


class EngineInputError(ValueError):
    """The engine refused the request (bad model name, unusable pixels...): the message is for the user."""


class EngineMemoryError(MemoryError):
    """The engine ran out of memory; the message says where."""


class EngineFailure(RuntimeError):
    """The model failed; details are in the engine's log."""


def worker_module() -> str:
    """``<plugin package>.engine.worker``: the plugin folder is imported under whatever name it was installed as."""
    package = __package__.rsplit(".", 1)[0] if __package__ and "." in __package__ else ""
    return f"{package}.engine.worker" if package else "engine.worker"


def worker_command() -> tuple[list[str], dict[str, str]]:
    """The command line and environment of the worker process."""
    from .dependencies import engine_environment, engine_python

    return [engine_python(), "-m", worker_module()], engine_environment()


class EngineProcess:
    """Runs segmentation jobs in the worker process; one job at a time, from any thread."""

    def __init__(self, command: Callable[[], tuple[list[str], dict[str, str]]] = worker_command) -> None:
        self._command = command
        self._job_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._lines: queue.Queue | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=200)
        self._ids = itertools.count(1)
        self.seconds_per_tile: dict[str, float] = {}  # measured per model in this session, for time estimates

    # -- jobs -------------------------------------------------------------------------------------------------------

    def segment(
        self,
        request: dict,
        image: np.ndarray,
        on_event: Callable[[Event], None] = lambda e: None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> SegmentAnswer:
        """Ask the engine about ``image``; ``request`` holds the fields of ``engine.service.SegmentRequest``."""
        fd, path = tempfile.mkstemp(prefix="geoground-view-", suffix=".npy")
        try:
            with os.fdopen(fd, "wb") as file:
                np.save(file, np.ascontiguousarray(image), allow_pickle=False)
            started = [time.monotonic()]

            def timed(event: Event) -> None:
                if event.get("stage") == "loaded":  # the time per tile leaves the model's loading out
                    started[0] = time.monotonic()
                on_event(event)

            reply = self._call({"op": "segment", "request": request, "image": path}, timed, should_stop)
        finally:
            Path(path).unlink(missing_ok=True)
        answer = SegmentAnswer.from_dict(reply["answer"])
        self.seconds_per_tile[str(request.get("model"))] = (time.monotonic() - started[0]) / max(answer.tiles, 1)
        return answer

    def build_dataset(self, params: dict, on_event=lambda e: None, should_stop=lambda: False) -> dict:
        """A training-set folder (``engine.data.layer_dataset.build_dataset`` keywords plus ``raster``, ``vector``,
        ``out_dir``); returns ``{"report": ..., "text": ...}``."""
        return self._call({"op": "dataset", "params": params}, on_event, should_stop)

    def finetune(self, params: dict, on_event=lambda e: None, should_stop=lambda: False) -> dict:
        """A fine-tuned model folder (``engine.train.finetune.finetune_request`` keys: ``datasets``, ``base``,
        ``output``, ``minutes``, ``steps``...); ``on_event`` hears ``{"event": "progress", "done", "total", "loss"}``
        after each step. Returns the outcome (``model``, ``steps``, ``losses``, ``first_loss``, ``last_loss``...);
        a stop between steps raises ``Cancelled`` with nothing written."""
        return self._call({"op": "finetune", "params": params}, on_event, should_stop)

    def plan(
        self,
        request: dict,
        height: int,
        width: int,
        on_event: Callable[[Event], None] = lambda e: None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> dict:
        """``{"tiles": n, "zoom": z}`` for a ``height`` x ``width`` view (loads the model when needed)."""
        message = {"op": "plan", "request": request, "height": int(height), "width": int(width)}
        return self._call(message, on_event, should_stop)["plan"]

    def _call(self, message: dict, on_event, should_stop) -> dict:
        self._acquire(on_event, should_stop)
        try:
            job_id = next(self._ids)
            lines = self._ensure_started()
            self._send(dict(message, id=job_id))
            return self._wait(job_id, lines, on_event, should_stop)
        finally:
            self._job_lock.release()

    def _acquire(self, on_event, should_stop) -> None:
        if self._job_lock.acquire(blocking=False):
            return
        on_event({"event": "status", "stage": "waiting"})
        while not self._job_lock.acquire(timeout=0.1):
            if should_stop():
                raise Cancelled("stopped while waiting for the previous job")

    def _wait(self, job_id: int, lines: queue.Queue, on_event, should_stop) -> dict:
        cancelled_at: float | None = None
        while True:
            if cancelled_at is None and should_stop():
                cancelled_at = time.monotonic()
                self._send({"op": "cancel", "id": job_id})
            if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_GRACE_S:
                self.stop(wait=0.0)  # stuck (e.g. loading a large model): the next job starts a fresh worker
                raise Cancelled("stopped (the engine process was ended)")
            try:
                message = lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if message is None:
                raise self._died()
            if message.get("id") != job_id:
                continue
            event = message.get("event")
            if event == "done":
                return message
            if event == "error":
                raise _job_error(message.get("kind", "engine"), message.get("message", ""))
            on_event(message)

    # -- the process ------------------------------------------------------------------------------------------------

    def _ensure_started(self) -> queue.Queue:
        with self._state_lock:
            if self._process is not None and self._process.poll() is None and self._lines is not None:
                return self._lines
            command, env = self._command()
            self._stderr.clear()
            flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if sys.platform == "win32" else 0
            try:
                process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
                    command,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=env,
                    text=True,
                    encoding="utf-8",
                    errors="replace",
                    bufsize=1,
                    creationflags=flags,
                )
            except OSError as exc:
                raise EngineProcessError(f"cannot start the engine process ({command[0]}): {exc}") from exc
            lines: queue.Queue = queue.Queue()
            threading.Thread(target=_read_stdout, args=(process, lines), daemon=True).start()
            threading.Thread(target=_read_stderr, args=(process, self._stderr), daemon=True).start()
            self._process, self._lines = process, lines
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                message = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if message is None:
                raise self._died()
            if message.get("event") == "ready":
                return lines
        self.stop(wait=0.0)
        raise EngineProcessError("the engine process did not start in time", self.stderr_tail())

    def _send(self, message: dict) -> None:
        process = self._process
        if process is None or process.stdin is None:
            raise EngineProcessError("the engine process is not running")
        try:
            process.stdin.write(json.dumps(message) + "\n")
            process.stdin.flush()
        except (OSError, ValueError) as exc:
            raise self._died() from exc

    def _died(self) -> EngineProcessError:
        process = self._process
        code = process.wait(timeout=5) if process is not None else None
        with self._state_lock:
            self._process, self._lines = None, None
        tail = self.stderr_tail()
        last = next((line for line in reversed(tail.splitlines()) if line.strip()), "")
        reason = f"exit code {code}"
        if code is not None and code < 0:
            reason = f"killed by signal {-code}" + (" — out of memory?" if -code == 9 else "")
        message = f"the engine process ended unexpectedly ({reason})" + (f": {last}" if last else "")
        return EngineProcessError(message, tail)

    def stderr_tail(self, lines: int = 40) -> str:
        return "\n".join(list(self._stderr)[-lines:])

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, wait: float = 5.0) -> None:
        """End the worker (the model is freed); a later job starts a new one."""
        with self._state_lock:
            process, self._process, self._lines = self._process, None, None
        if process is None:
            return
        try:
            if process.stdin is not None and wait > 0:
                process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                process.stdin.flush()
        except (OSError, ValueError):
            pass
        try:
            process.wait(timeout=wait) if wait > 0 else None
        except subprocess.TimeoutExpired:
            pass
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
        for stream in (process.stdin, process.stdout, process.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


def _read_stdout(process: subprocess.Popen, lines: queue.Queue) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        try:
            lines.put(json.loads(line))
        except json.JSONDecodeError:
            continue
    lines.put(None)


def _read_stderr(process: subprocess.Popen, tail: collections.deque) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        tail.append(line.rstrip())


def _job_error(kind: str, message: str) -> Exception:
    if kind == "cancelled":
        return Cancelled(message)
    if kind == "input":
        return EngineInputError(message)
    if kind == "memory":
        return EngineMemoryError(message)
    return EngineFailure(message)
