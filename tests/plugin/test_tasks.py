"""Background tasks report progress, return results on the main thread, stop on cancel and never raise."""

from __future__ import annotations

import time

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QCoreApplication


def run_to_end(task, timeout=20.0):
    QgsApplication.taskManager().addTask(task)
    deadline = time.monotonic() + timeout
    while QgsApplication.taskManager().count() and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.01)
    QCoreApplication.processEvents()


def test_result_and_progress_reach_the_main_thread(qgis_app):
    from geoground.plugin.tasks import EngineTask

    done, progress = [], []

    streamed = []

    def job(task):
        for step in range(5):
            task.report(step * 25)
            task.stream(f"word{step} ")
        return {"answer": 42}

    task = EngineTask("job", job, lambda result, error: done.append((result, error)))
    task.progressChanged.connect(progress.append)
    task.text_streamed.connect(streamed.append)
    run_to_end(task)
    assert done == [({"answer": 42}, None)]
    assert max(progress) >= 75
    assert "".join(streamed) == "word0 word1 word2 word3 word4 "


def test_job_errors_become_messages(qgis_app):
    from geoground.plugin.tasks import EngineTask

    done = []

    def job(task):
        raise ValueError("The prompt is empty.")

    run_to_end(EngineTask("job", job, lambda result, error: done.append((result, error))))
    assert done == [(None, "The prompt is empty.")]

    def oom(task):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    done.clear()
    run_to_end(EngineTask("job", oom, lambda result, error: done.append((result, error))))
    assert done[0][0] is None and "Not enough memory" in done[0][1]


def test_cancel_stops_the_job(qgis_app):
    from geoground.plugin.tasks import Cancelled, EngineTask

    done, steps = [], []

    def job(task):
        for step in range(2000):
            if task.isCanceled():
                raise Cancelled
            steps.append(step)
            time.sleep(0.005)
        return "finished"

    task = EngineTask("job", job, lambda result, error: done.append((result, error)))
    QgsApplication.taskManager().addTask(task)
    deadline = time.monotonic() + 10
    while not steps and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.01)
    task.cancel()
    run_to_end(task)
    assert done == [(None, "Stopped.")]
    assert len(steps) < 2000
