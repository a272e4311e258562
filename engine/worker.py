"""The engine in a process of its own, spoken to in JSON lines over stdin/stdout.

QGIS's desktop binary links GEOS, GDAL, PROJ and sqlite into its global symbol scope, and those copies win over the
ones the engine's wheels (shapely, rasterio, pyproj, pyogrio) bundle: in the QGIS process shapely's WKB writer fails
and loaded PROJ/GDAL copies abort QGIS at exit. So inside QGIS the engine runs here, in a plain Python process of the
same interpreter, where its libraries are the ones it was built with; pixels arrive as a ``.npy`` file and polygons
go back as WKB.

Requests, one JSON object per line on stdin:

* ``{"op": "segment", "id": N, "request": {...SegmentRequest...}, "image": "/path/view.npy"}``
* ``{"op": "plan", "id": N, "request": {...}, "height": H, "width": W}``: the tile count, before a long run
* ``{"op": "dataset", "id": N, "params": {...build_dataset keywords...}}``: a training set from a raster and polygons
  (``engine.data.layer_dataset``); ``done`` carries ``report`` (its counts) and ``text`` (its summary)
* ``{"op": "cancel", "id": N}``: stop job N at its next check (between tiles, between generated tokens)
* ``{"op": "unload"}`` frees the model; ``{"op": "quit"}`` (or the end of stdin) ends the process

Replies on stdout: ``{"event": "ready", ...}`` once, then per job any number of ``status`` / ``progress`` / ``text``
events and one ``done`` (with ``answer``) or ``error`` (with ``kind``: cancelled, input, memory, engine, and
``message``). Anything else a library prints goes to stderr.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import traceback

import numpy as np

from .service import EngineService, SegmentRequest
from .types import Cancelled


class _Output:
    """Serialised JSON lines on the real stdout (libraries' prints are sent to stderr instead)."""

    def __init__(self) -> None:
        self._stream = sys.stdout
        sys.stdout = sys.stderr
        self._lock = threading.Lock()

    def send(self, message: dict) -> None:
        line = json.dumps(message, ensure_ascii=True)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


class _Cancels:
    """Ids asked to stop; read by the running job's should_stop."""

    def __init__(self) -> None:
        self._ids: set = set()
        self._lock = threading.Lock()

    def add(self, job_id) -> None:
        with self._lock:
            self._ids.add(job_id)

    def __contains__(self, job_id) -> bool:
        with self._lock:
            return job_id in self._ids

    def discard(self, job_id) -> None:
        with self._lock:
            self._ids.discard(job_id)


def _read_requests(jobs: queue.Queue, cancels: _Cancels) -> None:
    """stdin -> the job queue; cancels take effect at once, even while a job runs."""
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            print(f"worker: ignored a line that is not JSON: {line[:80]!r}", file=sys.stderr)
            continue
        if message.get("op") == "cancel":
            cancels.add(message.get("id"))
        else:
            jobs.put(message)
    jobs.put({"op": "quit"})  # the parent closed our stdin (or died): nothing more will come


def error_kind(exc: BaseException) -> str:
    """What a failure means for the user: their input, the machine's memory, or the model."""
    if isinstance(exc, Cancelled):
        return "cancelled"
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return "memory"
    if isinstance(exc, (ValueError, FileNotFoundError, PermissionError)):
        return "input"
    return "engine"


def handle(service: EngineService, message: dict, send, cancels: _Cancels) -> None:
    """Run one request and send its events and outcome."""
    job_id = message.get("id")

    def on_event(event: dict) -> None:
        send(dict(event, id=job_id))

    try:
        if message["op"] == "dataset":
            from .data.layer_dataset import build_training_set

            send({"id": job_id, "event": "done", **build_training_set(message.get("params") or {})})
            return
        if message["op"] == "finetune":
            from .train.finetune import finetune_request

            service.clear()  # training needs the memory of the model kept for questions; the next one reloads it

            def on_step(step: int, total: int, loss: float) -> None:
                on_event({"event": "progress", "done": step, "total": total, "loss": loss})

            outcome = finetune_request(message.get("params") or {}, on_step, lambda: job_id in cancels)
            send({"id": job_id, "event": "done", **outcome})
            return
        request = SegmentRequest.from_dict(message.get("request") or {})
        if message["op"] == "plan":
            plan = service.plan(request, int(message["height"]), int(message["width"]), on_event)
            send({"id": job_id, "event": "done", "plan": plan})
            return
        image = np.load(message["image"], allow_pickle=False)
        answer = service.segment(request, image, on_event, lambda: job_id in cancels)
        send({"id": job_id, "event": "done", "answer": answer.to_dict()})
    except Exception as exc:  # noqa: BLE001 - every failure is an answer, the process stays up
        kind = error_kind(exc)
        if kind == "engine":
            traceback.print_exc(file=sys.stderr)
        message_text = str(exc).strip() or type(exc).__name__
        if kind == "engine":
            message_text = f"{type(exc).__name__}: {message_text}"
        send({"id": job_id, "event": "error", "kind": kind, "message": message_text})
    finally:
        cancels.discard(job_id)


def main() -> int:
    output = _Output()
    jobs: queue.Queue = queue.Queue()
    cancels = _Cancels()
    threading.Thread(target=_read_requests, args=(jobs, cancels), daemon=True).start()
    service = EngineService()
    output.send({"event": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
    while True:
        message = jobs.get()
        op = message.get("op")
        if op == "quit":
            return 0
        if op == "unload":
            service.clear()
        elif op in ("segment", "plan", "dataset", "finetune"):
            handle(service, message, output.send, cancels)
        else:
            output.send({"id": message.get("id"), "event": "error", "kind": "input", "message": f"unknown op {op!r}"})


if __name__ == "__main__":
    sys.exit(main())
